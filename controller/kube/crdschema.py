"""Check and default custom resources against their CRD, as the Kubernetes API server does.

Why this exists: the sandbox's Kubernetes API (kmock) and the tests have no real API server, yet
the product promises that `kubectl apply` rejects bad input with a message naming the field. This
module gives them the API server's answer from the one canonical CRD file, so the schema that
ships is the schema that is tested.

The API server's order, and the method for each step:

    prune          drop fields the schema does not declare, as the server does for clients
                   that do not ask for strict field validation (kopf, controllers)
    apply_defaults drop nulls of non-nullable fields, then fill in `default`s, recursively,
                   wherever the parent object is present (defaulted parents included)
    validate       the OpenAPI v3 schema (types, enums, patterns, lengths, bounds, via jsonschema)
                   plus every `x-kubernetes-validations` CEL rule (via cel-python), plus unknown
                   fields, as `kubectl apply` (strict field validation by default) is told;
                   after `prune` there are none

Example::

    schema = CrdSchema.from_file("crds/cloudservicedeployment.yaml")
    obj = schema.apply_defaults(schema.prune(body))   # skip prune to reject unknown fields
    errors = schema.validate(obj, old=stored)         # old: the stored object, on updates
    for error in errors:   # error.path, error.message (the 422 cause), error.reason, error.detail
        print(error)       # spec.package: Invalid value: "object": exactly one of url or urlSecretRef ...

CEL follows the Kubernetes rules: `self` is the value where the rule sits, rules of absent nodes
are skipped, null fields are absent, and transition rules (those naming `oldSelf`) run only on
updates where the old value exists and can be correlated (object fields, map keys, items of
`x-kubernetes-list-type: map` lists). Not reproduced: CEL type-checking and cost estimation at
CRD creation, `optionalOldSelf`, and the Kubernetes CEL libraries (`url()`, `isURL`,
`lowerAscii`, ...), which cel-python lacks: a rule calling a function cel-python cannot run is
refused when the CRD is loaded (`CrdSchemaError`) rather than failing on every object.

Errors:

    CrdSchemaError   the CRD itself cannot be used (no such version, a rule does not compile)
    FieldError       a value, not an exception: one finding about an object
"""

from __future__ import annotations

import copy
import datetime
import enum
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias, cast

import celpy
import jsonschema  # type: ignore[import-untyped, unused-ignore]  # no stubs unless types-jsonschema is installed
import lark
import yaml
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, base_functions

JsonValue: TypeAlias = Any
FieldPath: TypeAlias = tuple[str | int, ...]

# Fields every object has at its root (and every x-kubernetes-embedded-resource): the API server
# validates ObjectMeta itself, so the schema neither lists nor restricts them.
_OBJECT_ROOT_FIELDS = frozenset({"apiVersion", "kind", "metadata"})

# OpenAPI keywords that carry over unchanged to JSON Schema draft 4, whose boolean
# exclusiveMinimum/exclusiveMaximum are OpenAPI v3.0's.
_VALUE_KEYWORDS = (
    "enum",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
)

# Functions and macros both cel-go (the API server) and cel-python evaluate. Anything else in a
# rule would pass the API server but fail here on every object, or the reverse.
_CEL_MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter", "dyn"})
_CEL_FUNCTIONS = frozenset(name for name in base_functions if not name.startswith(("_", "!", "-")))

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class CrdSchemaError(Exception):
    """The CRD cannot be used to check objects: wrong document, missing version, broken rule."""


class ErrorType(enum.StrEnum):
    """The API server's field error types (k8s.io/apimachinery/pkg/util/validation/field)."""

    INVALID = "Invalid value"
    REQUIRED = "Required value"
    UNSUPPORTED = "Unsupported value"
    FORBIDDEN = "Forbidden"
    DUPLICATE = "Duplicate value"
    TOO_LONG = "Too long"
    TOO_MANY = "Too many"
    UNKNOWN = "Unknown field"


_CEL_REASONS = {
    "FieldValueInvalid": ErrorType.INVALID,
    "FieldValueForbidden": ErrorType.FORBIDDEN,
    "FieldValueRequired": ErrorType.REQUIRED,
    "FieldValueDuplicate": ErrorType.DUPLICATE,
}
# The `reason` of each type in a 422's `details.causes` (metav1.CauseType).
_CAUSE_REASONS = {
    ErrorType.INVALID: "FieldValueInvalid",
    ErrorType.REQUIRED: "FieldValueRequired",
    ErrorType.UNSUPPORTED: "FieldValueNotSupported",
    ErrorType.FORBIDDEN: "FieldValueForbidden",
    ErrorType.DUPLICATE: "FieldValueDuplicate",
    ErrorType.TOO_LONG: "FieldValueTooLong",
    ErrorType.TOO_MANY: "FieldValueTooMany",
    ErrorType.UNKNOWN: "FieldValueInvalid",  # the server has no cause type for undeclared fields
}
# Error types the API server prints with the offending value.
_TYPES_WITH_VALUE = frozenset(
    {ErrorType.INVALID, ErrorType.UNSUPPORTED, ErrorType.DUPLICATE, ErrorType.TOO_MANY}
)


@dataclass(frozen=True)
class FieldError:
    """One reason an object is rejected, naming the field.

    `str(error)` is the API server's line, `path: message`:
    `spec.package: Invalid value: "object": exactly one of url or urlSecretRef must be set`.
    """

    path: str  # spec.package
    detail: str  # exactly one of url or urlSecretRef must be set (a rule's message)
    type: ErrorType = ErrorType.INVALID
    value: str | None = None  # already rendered: '"object"', '"Prod"', '5'

    @property
    def message(self) -> str:
        """What a 422 puts in `causes[].message`: `Invalid value: "object": <detail>`."""
        parts = [str(self.type)]
        if self.type in _TYPES_WITH_VALUE and self.value is not None:
            parts.append(self.value)
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)

    @property
    def reason(self) -> str:
        """What a 422 puts in `causes[].reason`, e.g. FieldValueRequired."""
        return _CAUSE_REASONS[self.type]

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class _Rule:
    """One compiled `x-kubernetes-validations` entry."""

    text: str
    program: celpy.Runner
    message: str
    message_program: celpy.Runner | None
    field_path: FieldPath
    error_type: ErrorType
    transition: bool


@dataclass(frozen=True)
class _Node:
    """A schema node with its children and compiled rules, built once per CRD."""

    schema: Mapping[str, Any]
    properties: Mapping[str, _Node]
    items: _Node | None
    additional: _Node | None
    rules: tuple[_Rule, ...]
    object_root: bool

    @property
    def type_name(self) -> str:
        return str(self.schema.get("type", "object"))

    @property
    def nullable(self) -> bool:
        return bool(self.schema.get("nullable", False))

    @property
    def keeps_unknown(self) -> bool:
        return bool(self.schema.get("x-kubernetes-preserve-unknown-fields", False))

    @property
    def list_map_keys(self) -> tuple[str, ...]:
        if self.schema.get("x-kubernetes-list-type") != "map":
            return ()
        return tuple(self.schema.get("x-kubernetes-list-map-keys", ()))


class CrdSchema:
    """The schema of one version of a CustomResourceDefinition, ready to check objects."""

    def __init__(self, openapi_schema: Mapping[str, Any]) -> None:
        self._env = celpy.Environment()
        self._root = _build_node(self._env, openapi_schema, object_root=True, where="")
        self._validator = jsonschema.Draft4Validator(
            _to_json_schema(openapi_schema), format_checker=_format_checker()
        )

    @classmethod
    def from_file(cls, path: str | Path, version: str | None = None) -> CrdSchema:
        """Load the CRD YAML at `path`; `version` defaults to the storage version."""
        return cls.from_dict(yaml.safe_load(Path(path).read_text(encoding="utf-8")), version)

    @classmethod
    def from_dict(cls, crd: Mapping[str, Any], version: str | None = None) -> CrdSchema:
        """Use an already parsed CRD; `version` defaults to the storage version."""
        if crd.get("kind") != "CustomResourceDefinition":
            raise CrdSchemaError(f"not a CustomResourceDefinition: kind {crd.get('kind')!r}")
        for candidate in crd.get("spec", {}).get("versions", []):
            wanted = candidate.get("name") == version or (version is None and candidate.get("storage"))
            openapi_schema = candidate.get("schema", {}).get("openAPIV3Schema")
            if wanted and openapi_schema is not None:
                return cls(openapi_schema)
        raise CrdSchemaError(f"the CRD has no version {version or '(storage)'} with a schema")

    def validate(self, obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[FieldError]:
        """Everything the API server would reject `obj` for; `old` enables transition rules."""
        structural = [*self.unknown_fields(obj), *self._schema_errors(obj)]
        broken = {error.path for error in structural}
        cel = list(_rule_errors(self._root, obj, old, (), broken))
        # Sorted by field so the answer does not depend on dict or set iteration order.
        return sorted(_unique([*structural, *cel]), key=lambda error: error.path)

    def unknown_fields(self, obj: Mapping[str, Any]) -> list[FieldError]:
        """Fields the schema does not declare (strict field validation reports them)."""
        return [
            FieldError(_render_path(path), "field not declared in the schema", ErrorType.UNKNOWN)
            for path in _unknown_paths(self._root, obj, ())
        ]

    def prune(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `obj` without undeclared fields, as the API server stores it."""
        return cast(dict[str, Any], _prune(self._root, obj))

    def apply_defaults(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `obj` with non-nullable nulls dropped and schema defaults applied."""
        return cast(dict[str, Any], _default(self._root, obj))

    def _schema_errors(self, obj: Mapping[str, Any]) -> Iterator[FieldError]:
        for error in self._validator.iter_errors(obj):
            yield from _from_jsonschema(error)
        yield from _list_map_duplicates(self._root, obj, ())


# --- building the node tree -------------------------------------------------------------------


def _build_node(env: celpy.Environment, schema: Mapping[str, Any], *, object_root: bool, where: str) -> _Node:
    def child(key: str, suffix: str) -> _Node | None:
        sub = schema.get(key)
        return (
            _build_node(env, sub, object_root=_embedded(sub), where=f"{where}{suffix}")
            if isinstance(sub, Mapping)
            else None
        )

    return _Node(
        schema=schema,
        properties={
            name: _build_node(env, sub, object_root=_embedded(sub), where=f"{where}.{name}")
            for name, sub in schema.get("properties", {}).items()
        },
        items=child("items", "[*]"),
        additional=child("additionalProperties", ".*"),
        rules=tuple(
            _compile_rule(env, entry, where or "<root>")
            for entry in schema.get("x-kubernetes-validations", ())
        ),
        object_root=object_root,
    )


def _embedded(schema: Mapping[str, Any]) -> bool:
    # An embedded resource has its own apiVersion, kind and metadata, like the root.
    return bool(schema.get("x-kubernetes-embedded-resource"))


def _compile_rule(env: celpy.Environment, entry: Mapping[str, Any], where: str) -> _Rule:
    text = str(entry["rule"])
    if entry.get("optionalOldSelf"):
        raise CrdSchemaError(f"rule at {where}: optionalOldSelf is not supported: {text}")
    ast = _parse(env, text, where)
    reason = entry.get("reason", "FieldValueInvalid")
    if reason not in _CEL_REASONS:
        raise CrdSchemaError(f"rule at {where}: unknown reason {reason!r}")
    message_expression = entry.get("messageExpression")
    return _Rule(
        text=text,
        program=env.program(ast),
        message=str(entry.get("message") or f"failed rule: {text}"),
        message_program=env.program(_parse(env, message_expression, where)) if message_expression else None,
        field_path=_parse_field_path(str(entry.get("fieldPath", ""))),
        error_type=_CEL_REASONS[reason],
        transition=_mentions(ast, "oldSelf"),
    )


def _parse(env: celpy.Environment, text: str, where: str) -> lark.Tree[lark.Token]:
    try:
        ast = env.compile(text)
    except CELParseError as error:
        raise CrdSchemaError(f"rule at {where} does not compile: {text}: {error}") from error
    unknown = sorted(set(_called_functions(ast)) - _CEL_MACROS - _CEL_FUNCTIONS)
    if unknown:
        raise CrdSchemaError(
            f"rule at {where} calls {', '.join(unknown)}, which cel-python does not implement: {text}"
        )
    return ast


def _called_functions(ast: lark.Tree[lark.Token]) -> Iterator[str]:
    # `f(x)` parses as ident_arg(f, ...) and `x.f(y)` as member_dot_arg(x, f, ...).
    for tree in ast.iter_subtrees():
        if tree.data == "ident_arg":
            yield str(tree.children[0])
        elif tree.data == "member_dot_arg":
            yield str(tree.children[1])


def _mentions(ast: lark.Tree[lark.Token], name: str) -> bool:
    return any(tree.data == "ident" and str(tree.children[0]) == name for tree in ast.iter_subtrees())


def _parse_field_path(text: str) -> FieldPath:
    """`.a.b['c.d']` -> ('a', 'b', 'c.d'): the relative path a rule's error points at."""
    return tuple(dotted or quoted for dotted, quoted in re.findall(r"\.([^.\[]+)|\['([^']*)'\]", text))


# --- OpenAPI v3 -> JSON Schema ----------------------------------------------------------------


def _to_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a structural schema node to JSON Schema draft 4 (value validation only).

    Unknown fields are not expressed (`additionalProperties: false`) on purpose: they are
    reported per field by `unknown_fields`, which knows the root and preserve-unknown rules.
    """
    out: dict[str, Any] = {key: schema[key] for key in _VALUE_KEYWORDS if key in schema}
    types = _json_types(schema)
    if types:
        out["type"] = types[0] if len(types) == 1 else types
    if schema.get("nullable") and "enum" in out:
        out["enum"] = [*out["enum"], None]
    if "properties" in schema:
        out["properties"] = {name: _to_json_schema(child) for name, child in schema["properties"].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), Mapping):
            out[key] = _to_json_schema(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            out[key] = [_to_json_schema(child) for child in schema[key]]
    return out


def _json_types(schema: Mapping[str, Any]) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        types = ["integer", "string"]
    elif "type" in schema:
        types = [str(schema["type"])]
    else:
        return []  # preserve-unknown-fields without a type: anything goes
    return [*types, "null"] if schema.get("nullable") else types


def _format_checker() -> jsonschema.FormatChecker:
    # jsonschema checks date-time only with an optional package; the API server always does.
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(_is_rfc3339)
    return checker


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type check reports non-strings
    if not _RFC3339.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _from_jsonschema(error: jsonschema.ValidationError) -> Iterator[FieldError]:
    path: FieldPath = tuple(error.absolute_path)
    where = _render_path(path)
    keyword, expected, value = str(error.validator), error.validator_value, error.instance
    if keyword == "type":
        # Like the API server, name the type found rather than echo the value.
        message = (
            f"{where} in body must be of type {_type_word(expected)}: {_render_value(_json_type(value))}"
        )
        yield FieldError(where, message, ErrorType.INVALID, _render_value(_json_type(value)))
        return
    if keyword == "required":
        for name in expected:
            if isinstance(value, Mapping) and name not in value:
                yield FieldError(_render_path((*path, name)), "", ErrorType.REQUIRED)
        return
    yield _keyword_error(keyword, expected, value, where, error.message)


def _keyword_error(keyword: str, expected: Any, value: Any, where: str, fallback: str) -> FieldError:
    """The API server's wording for a failed OpenAPI keyword."""
    shown = _render_value(value)
    if keyword == "enum":
        supported = ", ".join(_render_value(item) for item in expected)
        return FieldError(where, f"supported values: {supported}", ErrorType.UNSUPPORTED, shown)
    if keyword == "maxLength":
        return FieldError(where, f"may not be longer than {expected}", ErrorType.TOO_LONG)
    if keyword in ("maxItems", "maxProperties"):
        return FieldError(where, f"must have at most {expected} items", ErrorType.TOO_MANY, str(len(value)))
    messages: dict[str, str] = {
        "pattern": f"{where} in body should match '{expected}'",
        "minLength": f"{where} in body should be at least {expected} chars long",
        "minimum": f"{where} in body should be greater than or equal to {expected}",
        "maximum": f"{where} in body should be less than or equal to {expected}",
        "minItems": f"{where} in body should have at least {expected} items",
        "minProperties": f"{where} in body should have at least {expected} properties",
        "format": f"{where} in body must be of type {expected}: {shown}",
    }
    return FieldError(where, messages.get(keyword, fallback), ErrorType.INVALID, shown)


def _type_word(expected: Any) -> str:
    return expected if isinstance(expected, str) else "/".join(expected)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# --- unknown fields and pruning ---------------------------------------------------------------


def _declared(node: _Node, name: str) -> bool:
    return (
        node.additional is not None
        or name in node.properties
        or node.keeps_unknown
        or (node.object_root and name in _OBJECT_ROOT_FIELDS)
    )


def _opaque(node: _Node, key: str | int) -> bool:
    """ObjectMeta is the API server's business: the CRD schema neither walks nor prunes it."""
    return node.object_root and key == "metadata"


def _children(node: _Node, value: Any) -> Iterator[tuple[str | int, _Node, Any]]:
    """The (key, schema node, value) of each child of `value` that the schema describes."""
    if isinstance(value, Mapping) and node.additional is not None:
        yield from ((key, node.additional, child) for key, child in value.items())
    elif isinstance(value, Mapping):
        for key, child in value.items():
            if key in node.properties and not _opaque(node, key):
                yield key, node.properties[key], child
    elif isinstance(value, list) and node.items is not None:
        yield from ((index, node.items, child) for index, child in enumerate(value))


def _unknown_paths(node: _Node, value: Any, path: FieldPath) -> Iterator[FieldPath]:
    if isinstance(value, Mapping) and node.type_name == "object":
        yield from ((*path, key) for key in value if not _declared(node, key))
    for key, child_node, child in _children(node, value):
        yield from _unknown_paths(child_node, child, (*path, key))


def _prune(node: _Node, value: Any) -> Any:
    if isinstance(value, Mapping) and node.type_name == "object":
        described = {key: _prune(child_node, child) for key, child_node, child in _children(node, value)}
        return {
            key: described[key] if key in described else copy.deepcopy(child)
            for key, child in value.items()
            if _declared(node, key)
        }
    if isinstance(value, list) and node.items is not None:
        return [_prune(node.items, item) for item in value]
    return copy.deepcopy(value)


# --- defaulting -------------------------------------------------------------------------------


def _default(node: _Node, value: Any) -> Any:
    if isinstance(value, Mapping):
        return _default_object(node, value)
    if isinstance(value, list) and node.items is not None:
        return [_default(node.items, item) for item in value]
    return copy.deepcopy(value)


def _default_object(node: _Node, value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, child in value.items():
        child_node = node.additional if node.additional is not None else node.properties.get(key)
        if child is None and child_node is not None and not child_node.nullable:
            continue  # the API server prunes nulls of non-nullable fields, then defaults them
        out[key] = _default(child_node, child) if child_node is not None else copy.deepcopy(child)
    for key, child_node in node.properties.items():
        if key not in out and "default" in child_node.schema:
            # A defaulted object gets the defaults of its own fields too.
            out[key] = _default(child_node, copy.deepcopy(child_node.schema["default"]))
    return out


# --- x-kubernetes-list-type: map --------------------------------------------------------------


def _list_map_duplicates(node: _Node, value: Any, path: FieldPath) -> Iterator[FieldError]:
    if isinstance(value, list) and node.list_map_keys:
        seen: set[str] = set()
        for index, item in enumerate(value):
            item_key = _list_map_key(node, item)
            if item_key is None:
                continue  # not an object: the type check reports it
            if item_key in seen:
                yield FieldError(_render_path((*path, index)), "", ErrorType.DUPLICATE, item_key)
            seen.add(item_key)
    for key, child_node, child in _children(node, value):
        yield from _list_map_duplicates(child_node, child, (*path, key))


def _list_map_key(node: _Node, item: Any) -> str | None:
    if not isinstance(item, Mapping):
        return None
    return json.dumps({key: item.get(key) for key in node.list_map_keys}, sort_keys=True)


# --- CEL rules --------------------------------------------------------------------------------


def _rule_errors(
    node: _Node, value: Any, old: Any, path: FieldPath, broken: set[str]
) -> Iterator[FieldError]:
    """Evaluate the rules of `node` and of every present node below it."""
    if value is None:
        return  # absent (or null, which CEL treats as absent): its rules do not apply
    for rule in node.rules:
        if rule.transition and old is None:
            continue
        error = _evaluate(rule, node, value, old, path, broken)
        if error is not None:
            yield error
    for key, child_node, child in _children(node, value):
        yield from _rule_errors(child_node, child, _correlate(node, old, key, child), (*path, key), broken)


def _correlate(node: _Node, old: Any, key: str | int, new_item: Any) -> Any:
    """The old value matching a child of the new one, or None when there is none."""
    if isinstance(key, str):
        return old.get(key) if isinstance(old, Mapping) else None
    if not node.list_map_keys or not isinstance(old, list):
        return None  # atomic and set lists cannot be correlated: transition rules skip them
    wanted = _list_map_key(node, new_item)
    return next((item for item in old if _list_map_key(node, item) == wanted), None)


def _evaluate(
    rule: _Rule, node: _Node, value: Any, old: Any, path: FieldPath, broken: set[str]
) -> FieldError | None:
    where = _render_path((*path, *rule.field_path))
    activation: dict[str, celtypes.Value] = {"self": _to_cel(node, value)}
    if rule.transition:
        activation["oldSelf"] = _to_cel(node, old)
    try:
        result = _run(rule.program, activation)
    except CELEvalError as error:
        if _inside(path, broken):
            return None  # a schema error below already explains it; CEL only trips over it
        message = f"rule evaluation error: {rule.text}: {error.args[0]}"
        return FieldError(where, message, ErrorType.INVALID, _cel_type_name(node))
    if not isinstance(result, celtypes.BoolType | bool):
        return FieldError(where, f"rule did not evaluate to a bool: {rule.text}", value=_cel_type_name(node))
    if result:
        return None
    return FieldError(where, _message(rule, activation), rule.error_type, _cel_type_name(node))


def _run(program: celpy.Runner, activation: Mapping[str, celtypes.Value]) -> celtypes.Value:
    # cel-python raises some evaluation errors and returns others as values.
    result = program.evaluate(dict(activation))
    if isinstance(result, CELEvalError):
        raise result
    return result


def _message(rule: _Rule, activation: Mapping[str, celtypes.Value]) -> str:
    # Like the API server: a messageExpression that fails or yields blank text falls back to message.
    if rule.message_program is not None:
        try:
            text = _run(rule.message_program, activation)
        except CELEvalError:
            return rule.message
        if isinstance(text, str) and text.strip():  # concatenation yields a plain str
            return str(text)
    return rule.message


def _inside(path: FieldPath, broken: set[str]) -> bool:
    """Whether an error was found at `path` or below it."""
    prefix = _render_path(path)
    if not prefix:
        return bool(broken)
    return any(where == prefix or where.startswith((f"{prefix}.", f"{prefix}[")) for where in broken)


def _cel_type_name(node: _Node) -> str:
    if node.schema.get("x-kubernetes-int-or-string"):
        return '"integer/string"'
    return f'"{node.type_name}"'


def _to_cel(node: _Node | None, value: Any) -> celtypes.Value:
    """Convert JSON to CEL values typed by the schema, as the API server does."""
    if node is None or value is None:
        return json_to_cel(value)
    if isinstance(value, Mapping):
        return celtypes.MapType(
            {
                celtypes.StringType(key): _to_cel(child_node, child)
                for key, child_node, child in _typed_members(node, value)
                if child is not None  # null fields are absent in CEL
            }
        )
    if isinstance(value, list):
        return celtypes.ListType([_to_cel(node.items, item) for item in value])
    return _scalar_to_cel(node, value)


def _typed_members(node: _Node, value: Mapping[str, Any]) -> Iterator[tuple[str, _Node | None, Any]]:
    for key, child in value.items():
        if node.additional is not None:
            yield key, node.additional, child
        else:
            yield key, node.properties.get(key), child


# Strings with these formats are timestamps and durations in the API server's CEL.
_STRING_FORMATS: dict[str, Callable[[str], celtypes.Value]] = {
    "date-time": celtypes.TimestampType,
    "duration": celtypes.DurationType,
}


def _scalar_to_cel(node: _Node, value: Any) -> celtypes.Value:
    convert = _STRING_FORMATS.get(str(node.schema.get("format"))) if node.type_name == "string" else None
    try:
        if convert is not None and isinstance(value, str):
            return convert(value)
        if node.type_name == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            return celtypes.DoubleType(value)  # JSON 1 in a number field is a double, not an int
    except ValueError:
        pass  # a malformed value: the schema check reports it
    return json_to_cel(value)


# --- rendering --------------------------------------------------------------------------------


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _render_path(path: Sequence[str | int]) -> str:
    """('spec', 'list', 0, 'a.b') -> 'spec.list[0][a.b]', like the API server's field paths."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _PLAIN_KEY.match(segment):
            text += f".{segment}" if text else segment
        else:
            text += f"[{segment}]"
    return text


def _render_value(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else f"{text[:117]}..."


def _unique(errors: Sequence[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))
