"""The CRD is where bad input gets rejected: prove it does, naming the field, and that it ships sound.

Data-driven: every `tests/data/crd/valid/*.yaml` is accepted; every `tests/data/crd/invalid/*.yaml`
is rejected with exactly one error, at the path its `# expect:` header line names and with the
fragment its `# message:` line gives. A file with two YAML documents is an update: the stored
object, then the new one (that is how transition rules such as immutability are exercised).
Objects go through defaulting first, as on the API server.

The rest checks the CRD itself (structural, described, bounded for CEL cost, rules compile), the
agreement between the CRD and the pydantic spec model, and the generic behaviour of `CrdSchema`
on small inline CRDs.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel

from controller.kube.crdschema import CrdSchema, CrdSchemaError, ErrorType, FieldError
from controller.models.spec import CloudServiceDeploymentSpec
from controller.models.status import Status

ROOT = Path(__file__).resolve().parents[2]
CRD_PATH = ROOT / "crds" / "cloudservicedeployment.yaml"
DATA = ROOT / "tests" / "data" / "crd"
VALID = sorted((DATA / "valid").glob("*.yaml"))
INVALID = sorted((DATA / "invalid").glob("*.yaml"))
KIND = "CloudServiceDeployment"


@dataclass(frozen=True)
class Case:
    """One example resource; `old` is set for updates."""

    new: dict[str, Any]
    old: dict[str, Any] | None
    expect_path: str | None
    expect_message: str | None


def load_case(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    documents = [document for document in yaml.safe_load_all(text) if document]
    header = {
        key: value.strip() for key, value in re.findall(r"^# (expect|message): (.+)$", text, re.MULTILINE)
    }
    return Case(
        new=documents[-1],
        old=documents[0] if len(documents) == 2 else None,
        expect_path=header.get("expect"),
        expect_message=header.get("message"),
    )


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def openapi(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


@pytest.fixture(scope="module")
def schema(crd: dict[str, Any]) -> CrdSchema:
    return CrdSchema.from_dict(crd)


def admit(schema: CrdSchema, case: Case) -> list[FieldError]:
    """What the API server answers: default, then validate (against the stored object on updates)."""
    old = schema.apply_defaults(case.old) if case.old is not None else None
    return schema.validate(schema.apply_defaults(case.new), old)


# --- the examples -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.stem)
def test_valid_example_is_accepted(schema: CrdSchema, path: Path) -> None:
    case = load_case(path)
    assert [str(error) for error in admit(schema, case)] == []


@pytest.mark.parametrize("path", INVALID, ids=lambda path: path.stem)
def test_invalid_example_is_rejected_naming_the_field(schema: CrdSchema, path: Path) -> None:
    case = load_case(path)
    assert case.expect_path, f"{path.name}: the header needs an '# expect: <field path>' line"
    assert case.expect_message, f"{path.name}: the header needs a '# message: <fragment>' line"
    if case.old is not None:
        assert admit(schema, Case(case.old, None, None, None)) == [], "the stored object must be valid"

    errors = admit(schema, case)

    assert [error.path for error in errors] == [case.expect_path], [str(error) for error in errors]
    assert str(errors[0]).startswith(f"{case.expect_path}: ")
    assert case.expect_message in str(errors[0])


def test_there_are_enough_invalid_examples() -> None:
    assert len(INVALID) >= 30


def test_every_rule_is_broken_by_an_invalid_example(schema: CrdSchema, openapi: dict[str, Any]) -> None:
    produced = {error.detail for path in INVALID for error in admit(schema, load_case(path))}
    untested = [rule["message"] for rule in _rules(openapi) if rule["message"] not in produced]
    assert untested == []


def test_examples_shipped_in_deploy_are_valid(schema: CrdSchema) -> None:
    for path in sorted((ROOT / "deploy" / "examples").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document and document.get("kind") == KIND:
                errors = schema.validate(schema.apply_defaults(document))
                assert [str(error) for error in errors] == [], path.name


# --- the CRD itself -----------------------------------------------------------------------------


def test_names_and_version(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "cloudservicedeployments.classic.cloudservices.io"
    assert (spec["group"], spec["scope"]) == ("classic.cloudservices.io", "Namespaced")
    assert spec["names"]["kind"] == KIND
    assert spec["names"]["plural"] == "cloudservicedeployments"
    assert spec["names"]["shortNames"] == ["csd"]
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}


def test_crd_is_a_valid_kubernetes_object(crd: dict[str, Any]) -> None:
    """Kubernetes' own OpenAPI for CustomResourceDefinition: catches misspelt schema keywords."""
    kubernetes_validate.validate(crd, kubernetes_validate.latest_version(), strict=True)


def test_schema_is_structural(openapi: dict[str, Any]) -> None:
    problems = []
    for where, node in _nodes(openapi):
        untyped = "type" not in node and not _opts_out_of_type(node)
        if untyped:
            problems.append(f"{where}: no type")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{where}: both properties and additionalProperties")
        if node.get("x-kubernetes-list-type") == "map":
            item = node["items"]
            for key in node["x-kubernetes-list-map-keys"]:
                if key not in item.get("required", []) and "default" not in item["properties"][key]:
                    problems.append(f"{where}: list map key {key} is neither required nor defaulted")
    assert problems == []


def test_every_property_has_a_description(openapi: dict[str, Any]) -> None:
    undescribed = [where for where, node in _nodes(openapi) if not node.get("description", "").strip()]
    assert undescribed == []


def test_data_reachable_from_rules_is_bounded(openapi: dict[str, Any]) -> None:
    """The API server refuses rules whose estimated cost is unbounded: give it the bounds."""
    unbounded = []
    for where, node in _nodes(openapi):
        if "x-kubernetes-validations" not in node:
            continue
        for below, child in [(where, node), *_nodes(node, where)]:
            if child.get("type") == "string" and not {"maxLength", "enum"} & child.keys():
                unbounded.append(f"{below}: string without maxLength")
            if child.get("type") == "array" and "maxItems" not in child:
                unbounded.append(f"{below}: list without maxItems")
            if "additionalProperties" in child and "maxProperties" not in child:
                unbounded.append(f"{below}: map without maxProperties")
    assert unbounded == []


def test_every_rule_compiles_and_has_a_one_line_message(openapi: dict[str, Any]) -> None:
    environment = celpy.Environment()
    for rule in _rules(openapi):
        environment.compile(rule["rule"])
        assert rule.get("message"), rule
        assert "\n" not in rule["message"]
        assert rule.get("reason", "FieldValueInvalid") in {"FieldValueInvalid", "FieldValueForbidden"}


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ("self.a ==", "does not compile"),
        ("has(self.a) &&& true", "does not compile"),
        ("isURL(self.a)", "isURL, which cel-python does not implement"),
        ("self.a.lowerAscii() == 'x'", "lowerAscii, which cel-python does not implement"),
    ],
)
def test_a_broken_rule_is_refused_when_loading(rule: str, complaint: str) -> None:
    crd = _crd(
        {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "x-kubernetes-validations": [{"rule": rule}],
        }
    )
    with pytest.raises(CrdSchemaError, match=re.escape(complaint)):
        CrdSchema.from_dict(crd)


def test_printer_columns(crd: dict[str, Any], openapi: dict[str, Any]) -> None:
    columns = crd["spec"]["versions"][0]["additionalPrinterColumns"]
    default_columns = [column["name"].upper() for column in columns if not column.get("priority")]
    assert default_columns == ["READY", "PHASE", "LABEL", "DOMAIN", "OPERATION", "AGE"]
    for column in columns:
        assert _resolves(openapi, column["jsonPath"]), column


# --- defaults and the spec model ----------------------------------------------------------------


def test_defaults_are_applied(schema: CrdSchema) -> None:
    spec = schema.apply_defaults(load_case(DATA / "valid" / "minimal.yaml").new)["spec"]

    assert spec["endpoint"] == "https://management.core.windows.net"
    assert spec["upgrade"] == {"mode": "Auto", "force": False}
    assert spec["rollback"] == {"onFailure": True, "mode": "Auto", "force": False}
    assert (spec["reconcilePolicy"], spec["suspend"], spec["syncIntervalSeconds"]) == ("Manage", False, 300)
    assert "domainGate" not in spec["upgrade"]


def test_defaults_fill_present_objects_and_list_items(schema: CrdSchema) -> None:
    obj = _with_spec(
        upgrade={"mode": "Manual", "domainGate": {"pauseSeconds": 30}},
        extensionConfiguration={"namedRoles": [{"roleName": "WebRole1", "extensions": [{"id": "RDPExt"}]}]},
    )
    spec = schema.apply_defaults(obj)["spec"]

    assert spec["upgrade"]["domainGate"] == {
        "pauseSeconds": 30,
        "requireReadyInstances": True,
        "timeoutSeconds": 1800,
    }
    assert spec["extensionConfiguration"]["namedRoles"][0]["extensions"] == [
        {"id": "RDPExt", "state": "Enable"}
    ]


def test_defaulting_does_not_change_its_input(schema: CrdSchema) -> None:
    obj = _with_spec()
    schema.apply_defaults(obj)
    assert "endpoint" not in obj["spec"]


@pytest.mark.parametrize("path", VALID, ids=lambda path: path.stem)
def test_spec_model_parses_every_valid_example(schema: CrdSchema, path: Path) -> None:
    raw = load_case(path).new["spec"]
    defaulted = schema.apply_defaults(load_case(path).new)["spec"]

    assert CloudServiceDeploymentSpec.model_validate(raw) == CloudServiceDeploymentSpec.model_validate(
        defaulted
    )


def test_spec_model_and_crd_defaults_agree(schema: CrdSchema) -> None:
    # Every object that carries defaults is present, so every CRD default is applied.
    obj = _with_spec(
        upgrade={"mode": "Manual", "domainGate": {}},
        extensionConfiguration={
            "allRoles": [{"id": "RDPExt"}],
            "namedRoles": [{"roleName": "WebRole1", "extensions": [{"id": "DiagExt"}]}],
        },
    )
    crd_defaulted = schema.apply_defaults(obj)["spec"]
    model = CloudServiceDeploymentSpec.model_validate(obj["spec"])

    assert _leaves(model.model_dump(by_alias=True, mode="json", exclude_none=True)) == _leaves(crd_defaulted)


def test_spec_model_declares_exactly_the_crd_fields(openapi: dict[str, Any]) -> None:
    assert list(_field_mismatches(CloudServiceDeploymentSpec, openapi["properties"]["spec"])) == []


def test_status_model_declares_exactly_the_crd_fields(openapi: dict[str, Any]) -> None:
    status_schema = dict(openapi["properties"]["status"])
    # status.kopf is kopf's own bookkeeping, kept so kopf's patches are not pruned; not ours to model.
    status_schema["properties"] = {k: v for k, v in status_schema["properties"].items() if k != "kopf"}
    assert list(_field_mismatches(Status, status_schema)) == []


def test_status_written_by_the_model_is_accepted(schema: CrdSchema) -> None:
    obj = load_case(DATA / "valid" / "with-full-status.yaml").new
    obj["status"] = Status.from_object(obj["status"]).to_json()

    assert [str(error) for error in schema.validate(schema.apply_defaults(obj))] == []


def test_spec_model_helpers() -> None:
    spec = CloudServiceDeploymentSpec.model_validate(
        _with_spec(upgrade={"mode": "Manual"}, reimage={"WebRole1_IN_0": 3}, reconcilePolicy="Observe")[
            "spec"
        ]
    )

    assert tuple(spec.target) == ("contoso-web", "Production", None)
    assert str(spec.target) == "contoso-web/Production"
    assert spec.upgrade.gate.timeout_seconds == 1800
    assert (spec.reimage_generation("WebRole1_IN_0"), spec.reimage_generation("WebRole1_IN_1")) == (3, 0)
    assert spec.observe_only


def test_spec_model_refuses_what_its_accessors_cannot_represent() -> None:
    both_targets = _with_spec(deploymentName="7c4d")["spec"]
    with pytest.raises(ValueError, match="exactly one of slot or deploymentName"):
        CloudServiceDeploymentSpec.model_validate(both_targets)


# --- CrdSchema on small CRDs --------------------------------------------------------------------


def test_error_renders_like_the_api_server(schema: CrdSchema) -> None:
    errors = schema.validate(schema.apply_defaults(_with_spec(package={})))

    assert [str(error) for error in errors] == [
        'spec.package: Invalid value: "object": exactly one of url or urlSecretRef must be set'
    ]
    [error] = errors
    assert (error.path, error.reason) == ("spec.package", "FieldValueInvalid")
    assert error.message == 'Invalid value: "object": exactly one of url or urlSecretRef must be set'
    required = FieldError("spec.label", "", ErrorType.REQUIRED)
    assert (str(required), required.reason) == ("spec.label: Required value", "FieldValueRequired")


def test_nullable_fields_keep_null_and_others_drop_it() -> None:
    small = _small(
        {"kept": {"type": "string", "nullable": True}, "dropped": {"type": "string", "default": "d"}}
    )
    obj = small.apply_defaults(_obj(kept=None, dropped=None))

    assert obj["spec"] == {"kept": None, "dropped": "d"}
    assert small.validate(obj) == []
    assert [error.path for error in small.validate(_obj(dropped=None))] == ["spec.dropped"]


def test_int_or_string_accepts_both_and_nothing_else() -> None:
    small = _small({"port": {"x-kubernetes-int-or-string": True}})

    assert small.validate(_obj(port=80)) == small.validate(_obj(port="http")) == []
    assert "must be of type integer/string" in str(small.validate(_obj(port=True))[0])


def test_unknown_fields_are_reported_pruned_or_preserved() -> None:
    small = _small(
        {
            "known": {"type": "string"},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        }
    )
    obj = _obj(known="a", typo="b", free={"anything": {"goes": 1}})
    obj["metadata"]["labels"] = {"app": "web"}

    assert [(error.path, error.type) for error in small.validate(obj)] == [("spec.typo", ErrorType.UNKNOWN)]
    assert small.prune(obj) == {**obj, "spec": {"known": "a", "free": {"anything": {"goes": 1}}}}


def test_map_values_are_validated_at_their_key() -> None:
    small = _small({"counts": {"type": "object", "additionalProperties": {"type": "integer", "maximum": 3}}})

    errors = small.validate(_obj(counts={"a": 1, "b": 4, "c.d": 5}))

    assert [error.path for error in errors] == ["spec.counts.b", "spec.counts[c.d]"]


def test_transition_rules_run_only_on_updates_with_an_old_value() -> None:
    small = _small({"size": {"type": "integer", "x-kubernetes-validations": [{"rule": "self >= oldSelf"}]}})

    assert small.validate(_obj(size=1)) == []
    assert small.validate(_obj(size=1), old=_obj()) == []
    assert [str(error) for error in small.validate(_obj(size=1), old=_obj(size=2))] == [
        'spec.size: Invalid value: "integer": failed rule: self >= oldSelf'
    ]


def test_transition_rules_follow_list_map_items_by_key() -> None:
    item = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "size": {"type": "integer", "x-kubernetes-validations": [{"rule": "self >= oldSelf"}]},
        },
    }
    small = _small(
        {
            "keyed": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": item,
            },
            "atomic": {"type": "array", "items": item},
        }
    )
    old = _obj(keyed=[{"name": "a", "size": 2}, {"name": "b", "size": 2}], atomic=[{"name": "a", "size": 2}])
    new = _obj(keyed=[{"name": "b", "size": 1}, {"name": "a", "size": 2}], atomic=[{"name": "a", "size": 1}])

    assert [error.path for error in small.validate(new, old)] == ["spec.keyed[0].size"]


def test_rule_options_message_expression_field_path_and_reason() -> None:
    rules = [
        {"rule": "self.a < 3", "messageExpression": "'a is ' + string(self.a)", "fieldPath": ".a"},
        {"rule": "!has(self.b)", "message": "b is not allowed", "reason": "FieldValueForbidden"},
    ]
    small = _small({"a": {"type": "integer"}, "b": {"type": "string"}}, rules=rules)

    errors = small.validate(_obj(a=5, b="x"))

    assert [str(error) for error in errors] == [
        "spec: Forbidden: b is not allowed",
        'spec.a: Invalid value: "object": a is 5',
    ]


def test_null_fields_are_absent_in_cel() -> None:
    small = _small({"a": {"type": "string", "nullable": True}}, rules=[{"rule": "!has(self.a)"}])

    assert small.validate(_obj(a=None)) == []
    assert len(small.validate(_obj(a="x"))) == 1


def test_rules_of_absent_nodes_are_skipped_and_evaluation_errors_reported() -> None:
    nested = {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": "self.x > 0"}],
    }
    small = _small({"nested": nested})

    assert small.validate(_obj()) == []
    [error] = small.validate(_obj(nested={}))
    assert error.path == "spec.nested"
    assert "rule evaluation error" in error.message


def test_evaluation_errors_behind_schema_errors_are_not_repeated() -> None:
    nested = {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": "self.x > 0"}],
    }
    small = _small({"nested": nested})

    assert [error.path for error in small.validate(_obj(nested={"x": "one"}))] == ["spec.nested.x"]


def test_cel_sees_numbers_as_doubles_and_date_times_as_timestamps() -> None:
    properties = {
        "ratio": {"type": "number"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
    }
    small = _small(properties, rules=[{"rule": "self.ratio > 0.5 && self.start < self.end"}])

    assert small.validate(_obj(ratio=1, start="2024-05-01T10:00:00Z", end="2024-05-01T12:00:00+01:00")) == []
    assert (
        len(small.validate(_obj(ratio=1, start="2024-05-01T10:00:00Z", end="2024-05-01T10:30:00+01:00"))) == 1
    )


def test_loading_refuses_what_is_not_a_crd_version() -> None:
    with pytest.raises(CrdSchemaError, match="not a CustomResourceDefinition"):
        CrdSchema.from_dict({"kind": "ConfigMap"})
    with pytest.raises(CrdSchemaError, match="no version v9"):
        CrdSchema.from_dict(_crd({"type": "object"}), version="v9")


# --- helpers ------------------------------------------------------------------------------------


def _with_spec(**changes: Any) -> dict[str, Any]:
    obj = load_case(DATA / "valid" / "minimal.yaml").new
    obj["spec"].update(changes)
    return obj


def _crd(spec_schema: dict[str, Any]) -> dict[str, Any]:
    root = {"type": "object", "properties": {"metadata": {"type": "object"}, "spec": spec_schema}}
    version = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": root}}
    return {"kind": "CustomResourceDefinition", "spec": {"versions": [version]}}


def _small(properties: dict[str, Any], rules: list[dict[str, Any]] | None = None) -> CrdSchema:
    spec: dict[str, Any] = {"type": "object", "properties": properties}
    if rules:
        spec["x-kubernetes-validations"] = rules
    return CrdSchema.from_dict(_crd(spec))


def _obj(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.io/v1", "kind": "Small", "metadata": {"name": "x"}, "spec": spec}


def _opts_out_of_type(node: Mapping[str, Any]) -> bool:
    return bool(node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields"))


def _nodes(node: Mapping[str, Any], where: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every property, item and map value schema below `node`, with its path."""
    for name, child in node.get("properties", {}).items():
        yield f"{where}.{name}", child
        yield from _nodes(child, f"{where}.{name}")
    for key, suffix in (("items", "[*]"), ("additionalProperties", ".*")):
        if isinstance(node.get(key), Mapping):
            yield f"{where}{suffix}", node[key]
            yield from _nodes(node[key], f"{where}{suffix}")


def _rules(openapi: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for _, node in [("", openapi), *_nodes(openapi)]:
        yield from node.get("x-kubernetes-validations", [])


def _resolves(openapi: Mapping[str, Any], json_path: str) -> bool:
    node: Mapping[str, Any] = openapi
    for segment in re.sub(r"\[\?\(.*?\)\]", "", json_path).strip(".").split("."):
        if segment not in node.get("properties", {}):
            return False
        node = node["properties"][segment]
        if segment == "metadata":
            return True  # ObjectMeta is not in CRD schemas
        node = node.get("items", node)
    return True


def _leaves(value: Any, where: str = "") -> dict[str, Any]:
    """{"a.b": 1, ...} for every scalar in `value` (empty maps and lists carry nothing)."""
    if isinstance(value, Mapping):
        return {
            path: leaf
            for key, child in value.items()
            for path, leaf in _leaves(child, f"{where}.{key}").items()
        }
    if isinstance(value, list):
        return {
            path: leaf
            for index, child in enumerate(value)
            for path, leaf in _leaves(child, f"{where}[{index}]").items()
        }
    return {where: value}


def _field_mismatches(model: type[BaseModel], node: Mapping[str, Any]) -> Iterator[str]:
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    properties = node.get("properties", {})
    if fields.keys() != properties.keys():
        yield f"{model.__name__}: {sorted(fields.keys() ^ properties.keys())}"
    for alias, field in fields.items():
        submodel = _model_in(field.annotation)
        if submodel is not None and alias in properties:
            child = properties[alias]
            yield from _field_mismatches(submodel, child.get("items", child))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        return annotation if issubclass(annotation, BaseModel) else None
    return next((found for arg in typing.get_args(annotation) if (found := _model_in(arg))), None)
