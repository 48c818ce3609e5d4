"""The install manifests under deploy/, rendered as `kubectl apply -k` would, and checked.

Rendering offline: no kustomize binary is assumed (CI has none), so `render()` below builds a
kustomization itself. It implements only the subset deploy/ uses (`resources`: files and
directories, `namespace`, `images`, `patches` as JSON 6902 operations with a target) in
kustomize's order (patches, then namespace, then images), and raises `RenderError` on anything
else, so a manifest that grows a feature the renderer lacks fails loudly instead of being
half-rendered. It applies kustomize's load restriction too (no file from outside the
kustomization root), which is why deploy/crds/ holds a copy of crds/, checked byte for byte
here. Where `kubectl` is on PATH, its built-in kustomize renders the same trees and must agree.

Then: every rendered object is valid for Kubernetes (kubernetes-validate, strict); the
controller's security posture; RBAC grants exactly the verbs the controller uses; the image
and the manifests agree on the user; and the examples pass the CRD schema and its CEL rules.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate
import pytest
import yaml
from defusedxml import ElementTree

from controller.kube.crdschema import CrdSchema

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CANONICAL_CRD = REPO / "crds" / "cloudservicedeployment.yaml"
CRD_COPY = DEPLOY / "crds" / "cloudservicedeployment.yaml"
SYNC_COMMAND = "cp crds/cloudservicedeployment.yaml deploy/crds/cloudservicedeployment.yaml"

TREES = {"install": DEPLOY, "overlay": DEPLOY / "overlays" / "example", "examples": DEPLOY / "examples"}
# The oldest Kubernetes we claim and the newest the validator knows.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())

OPERATOR_NAMESPACE = "cloudservice-operator-system"
OPERATOR_NAME = "cloudservice-operator"
IMAGE = "ghcr.io/cloudservice-operator/controller:0.1.0"
CONTROLLER_ARGS = [
    "run",
    "--all-namespaces",
    "--liveness",
    "http://0.0.0.0:8080/healthz",
    "--metrics-port",
    "9090",
    "--log-format",
    "json",
]
CSD_GROUP = "classic.cloudservices.io"
CSD_KIND = "CloudServiceDeployment"

# (apiGroup, resource, verb): what the controller does, per docs/contracts.md and kopf's needs.
NAMESPACED_GRANTS = {
    *((CSD_GROUP, "cloudservicedeployments", verb) for verb in ("get", "list", "watch", "patch")),
    *((CSD_GROUP, "cloudservicedeployments/status", verb) for verb in ("get", "patch")),
    ("", "events", "create"),
    ("", "secrets", "get"),
    ("", "configmaps", "get"),
}
CLUSTER_SCOPED_GRANTS = {
    ("", "namespaces", "list"),
    ("", "namespaces", "watch"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
}

# The examples, as the sandbox seeds them in the emulator.
EXAMPLES_NAMESPACE = "shop"
SUBSCRIPTION_ID = "9f0c6a0e-0000-4000-8000-000000000001"
EXAMPLE_SERVICES = {
    "auto.yaml": "contoso-web",
    "manual-gated.yaml": "contoso-api",
    "observe.yaml": "contoso-ops",
}
CSCFG_NAMESPACE = "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"


# --- the renderer --------------------------------------------------------------------------


class RenderError(Exception):
    """The kustomization uses something kustomize would refuse, or this renderer does not model."""


KUSTOMIZATION_FILE = "kustomization.yaml"
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
NAMESPACED_KINDS = {
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Deployment",
    "Service",
    "Secret",
    "ConfigMap",
    CSD_KIND,
}


def load_documents(path: Path) -> list[dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for doc in documents:
        if not (
            isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind") and doc["metadata"]["name"]
        ):
            raise RenderError(f"{path}: every document needs apiVersion, kind and metadata.name")
    return documents


def render(root: Path) -> list[dict[str, Any]]:
    """The objects `kustomize build root` prints (order aside)."""
    kustomization = yaml.safe_load((root / KUSTOMIZATION_FILE).read_text())
    unsupported = set(kustomization) - KUSTOMIZATION_KEYS
    if unsupported:
        raise RenderError(f"{root}: the test renderer does not implement {sorted(unsupported)}")
    if (kustomization["apiVersion"], kustomization["kind"]) != (
        "kustomize.config.k8s.io/v1beta1",
        "Kustomization",
    ):
        raise RenderError(f"{root}: not a Kustomization")
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (root / entry).resolve()
        if path.is_dir():
            objects.extend(render(path))  # another kustomization: allowed anywhere
        elif path.is_relative_to(root.resolve()):
            objects.extend(load_documents(path))
        else:
            raise RenderError(f"security; file '{path}' is not in or below '{root}'")
    for patch in kustomization.get("patches", []):
        _apply_patch(objects, patch)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    for image in kustomization.get("images", []):
        _set_image(objects, image)
    _check_unique(objects)
    return objects


def _group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _matches(obj: dict[str, Any], target: dict[str, str]) -> bool:
    if set(target) - {"group", "version", "kind", "name", "namespace"}:
        raise RenderError(f"patch target {target}: only group/version/kind/name/namespace are implemented")
    group, version = _group_version(obj["apiVersion"])
    actual = {
        "group": group,
        "version": version,
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "namespace": obj["metadata"].get("namespace", ""),
    }
    return all(actual[key] == value for key, value in target.items())


def _apply_patch(objects: list[dict[str, Any]], patch: dict[str, Any]) -> None:
    if set(patch) != {"target", "patch"}:
        raise RenderError(f"patch {patch}: only inline patches with a target are implemented")
    operations = yaml.safe_load(patch["patch"])
    if not isinstance(operations, list):
        raise RenderError("only JSON 6902 patches (a list of operations) are implemented")
    targets = [obj for obj in objects if _matches(obj, patch["target"])]
    if not targets:
        raise RenderError(f"patch target {patch['target']} matches nothing")
    for obj in targets:
        for operation in operations:
            _json_patch(obj, operation)


def _json_patch(document: dict[str, Any], operation: dict[str, Any]) -> None:
    op = operation["op"]
    if op not in {"add", "remove", "replace"}:
        raise RenderError(f"JSON patch op {op!r} is not implemented")
    tokens = [token.replace("~1", "/").replace("~0", "~") for token in operation["path"].split("/")[1:]]
    parent: Any = document
    for token in tokens[:-1]:
        parent = parent[int(token)] if isinstance(parent, list) else parent[token]
    last = tokens[-1]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, value)
        elif op == "remove":
            del parent[index]
        else:
            parent[index] = value
    elif op != "add" and last not in parent:
        raise RenderError(f"JSON patch {op} {operation['path']}: no such field")
    elif op == "remove":
        del parent[last]
    else:
        parent[last] = value


def _set_namespace(objects: list[dict[str, Any]], namespace: str) -> None:
    for obj in objects:
        kind = obj["kind"]
        if kind == "Namespace":
            obj["metadata"]["name"] = namespace  # kustomize renames Namespace objects too
        elif kind in NAMESPACED_KINDS:
            obj["metadata"]["namespace"] = namespace
        elif kind not in CLUSTER_SCOPED_KINDS:
            raise RenderError(f"the test renderer does not know whether {kind} is namespaced")
        if kind in {"RoleBinding", "ClusterRoleBinding"}:
            for subject in obj.get("subjects", []):
                if subject["kind"] != "ServiceAccount":
                    continue
                if "namespace" in subject:
                    raise RenderError(
                        "a subject namespace under `namespace:`: kustomize's rules are not modelled"
                    )
                subject["namespace"] = namespace


def _set_image(objects: list[dict[str, Any]], image: dict[str, str]) -> None:
    if set(image) - {"name", "newName", "newTag"}:
        raise RenderError(f"images entry {image}: only name/newName/newTag are implemented")
    for obj in objects:
        for container in _containers(obj):
            name, tag = _split_image(container["image"])
            if name == image["name"]:
                new_tag = image.get("newTag", tag)
                container["image"] = image.get("newName", name) + (f":{new_tag}" if new_tag else "")


def _split_image(reference: str) -> tuple[str, str]:
    if "@" in reference:
        raise RenderError("image digests are not implemented")
    name, colon, tag = reference.rpartition(":")
    if not colon or "/" in tag:
        return reference, ""
    return name, tag


def _containers(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"containers", "initContainers"} and isinstance(value, list):
                found.extend(value)
            else:
                found.extend(_containers(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_containers(item))
    return found


def _check_unique(objects: list[dict[str, Any]]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for obj in objects:
        key = (
            _group_version(obj["apiVersion"])[0],
            obj["kind"],
            obj["metadata"].get("namespace", ""),
            obj["metadata"]["name"],
        )
        if key in seen:
            raise RenderError(f"may not add resource with an already registered id: {key}")
        seen.add(key)


def test_renderer_enforces_the_load_restriction(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / KUSTOMIZATION_FILE).write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../outside.yaml]\n"
    )
    with pytest.raises(RenderError, match="security"):
        render(root)


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / KUSTOMIZATION_FILE).write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncommonLabels: {a: b}\n"
    )
    with pytest.raises(RenderError, match="commonLabels"):
        render(tmp_path)


# --- the rendered trees --------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: render(path) for name, path in TREES.items()}


def _index(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): obj for obj in objects
    }


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (obj,) = [obj for obj in objects if obj["kind"] == kind]
    return obj


def _canonical(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(yaml.safe_dump(obj, sort_keys=True) for obj in objects)


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (built-in kustomize) is not installed here"
)
@pytest.mark.parametrize("tree", TREES)
def test_renderer_agrees_with_kubectl_kustomize(tree: str, rendered: dict[str, list[dict[str, Any]]]) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    # A fixed argument list, no shell: nothing here comes from outside the repository.
    built = subprocess.run(  # noqa: S603
        [kubectl, "kustomize", str(TREES[tree])], capture_output=True, text=True, check=True, timeout=60
    )
    expected = [doc for doc in yaml.safe_load_all(built.stdout) if doc is not None]
    assert _canonical(rendered[tree]) == _canonical(expected)


def test_install_holds_exactly_the_operator(rendered: dict[str, list[dict[str, Any]]]) -> None:
    assert set(_index(rendered["install"])) == {
        ("CustomResourceDefinition", "", f"cloudservicedeployments.{CSD_GROUP}"),
        ("Namespace", "", OPERATOR_NAMESPACE),
        ("ServiceAccount", OPERATOR_NAMESPACE, OPERATOR_NAME),
        ("ClusterRole", "", OPERATOR_NAME),
        ("ClusterRoleBinding", "", OPERATOR_NAME),
        ("Deployment", OPERATOR_NAMESPACE, OPERATOR_NAME),
        ("Service", OPERATOR_NAMESPACE, "cloudservice-operator-metrics"),
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_kubernetes(version: str, rendered: dict[str, list[dict[str, Any]]]) -> None:
    problems = []
    for tree, objects in rendered.items():
        for obj in objects:
            if obj["kind"] == CSD_KIND:
                continue  # a custom resource: checked against the CRD below
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = "/".join(str(part) for part in error.path)
                problems.append(
                    f"{tree}: {obj['kind']}/{obj['metadata']['name']} at {where}: {error.message}"
                )
    assert problems == []


def test_crd_copy_is_identical_to_the_canonical_crd() -> None:
    assert CRD_COPY.exists(), f"deploy/crds/ lacks the CRD copy: run `{SYNC_COMMAND}`"
    assert CRD_COPY.read_bytes() == CANONICAL_CRD.read_bytes(), (
        f"the CRD copy has drifted: run `{SYNC_COMMAND}`"
    )


def test_no_other_copy_of_the_crd() -> None:
    copies = sorted(
        str(path.relative_to(REPO))
        for path in DEPLOY.rglob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
    )
    assert copies == ["deploy/crds/cloudservicedeployment.yaml"]


def test_installed_crd_is_the_contract(rendered: dict[str, list[dict[str, Any]]]) -> None:
    crd = _one(rendered["install"], "CustomResourceDefinition")
    assert crd == yaml.safe_load(CANONICAL_CRD.read_text())
    spec = crd["spec"]
    assert (spec["group"], spec["scope"]) == (CSD_GROUP, "Namespaced")
    assert (spec["names"]["kind"], spec["names"]["plural"]) == (CSD_KIND, "cloudservicedeployments")
    assert "csd" in spec["names"]["shortNames"]
    (version,) = [v for v in spec["versions"] if v["name"] == "v1alpha1"]
    assert version["served"]
    assert version["storage"]
    assert version["subresources"]["status"] == {}


# --- the controller ------------------------------------------------------------------------


def _controller(objects: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = _one(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return deployment, container


@pytest.mark.parametrize("tree", ["install", "overlay"])
def test_controller_security_posture(tree: str, rendered: dict[str, list[dict[str, Any]]]) -> None:
    deployment, container = _controller(rendered[tree])
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    # Standalone kopf: one controller, never two at once.
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}

    assert pod["automountServiceAccountToken"] is True
    assert pod["serviceAccountName"] == OPERATOR_NAME
    assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert isinstance(pod["securityContext"]["runAsUser"], int)
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}

    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == pod["securityContext"]["runAsUser"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security.get("privileged", False) is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}

    for amount in ("requests", "limits"):
        assert set(container["resources"][amount]) == {"cpu", "memory"}

    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"healthz": 8080, "metrics": 9090}
    probe = container["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz"
    assert ports[probe["port"]] == 8080

    # The only writable place: /tmp, in memory (key material for TLS never reaches a disk).
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert [
        (mount["mountPath"], "emptyDir" in volumes[mount["name"]]) for mount in container["volumeMounts"]
    ] == [("/tmp", True)]
    assert not any("hostPath" in volume for volume in volumes.values())


def test_controller_runs_the_cli_contract(rendered: dict[str, list[dict[str, Any]]]) -> None:
    _, container = _controller(rendered["install"])
    assert container["image"] == IMAGE
    assert container["args"] == CONTROLLER_ARGS
    liveness = container["args"][container["args"].index("--liveness") + 1]
    assert urlsplit(liveness).port == 8080
    assert urlsplit(liveness).path == container["livenessProbe"]["httpGet"]["path"]


def test_metrics_service_reaches_the_controller(rendered: dict[str, list[dict[str, Any]]]) -> None:
    deployment, container = _controller(rendered["install"])
    service = _one(rendered["install"], "Service")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (9090, "metrics")
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in container["ports"]


def test_overlay_changes_image_and_namespaces(rendered: dict[str, list[dict[str, Any]]]) -> None:
    _, container = _controller(rendered["overlay"])
    assert container["image"] == "registry.example.com/mirror/cloudservice-operator/controller:0.1.1"
    assert "--all-namespaces" not in container["args"]
    assert _served_namespaces(container["args"]) == ["shop"]


def _served_namespaces(args: list[str]) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == "--namespace"]


# --- permissions ---------------------------------------------------------------------------


def _grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    grants = set()
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, "no resourceNames/nonResourceURLs expected"
        for value in (*rule["apiGroups"], *rule["resources"], *rule["verbs"]):
            assert "*" not in value, f"wildcard in {rule}"
        grants |= {(g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    return grants


def test_cluster_role_grants_exactly_what_the_controller_uses(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["install"]
    assert _grants(_one(objects, "ClusterRole")) == NAMESPACED_GRANTS | CLUSTER_SCOPED_GRANTS
    binding = _one(objects, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": OPERATOR_NAME,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": OPERATOR_NAME, "namespace": OPERATOR_NAMESPACE}
    ]
    assert not [obj for obj in objects if obj["kind"] in {"Role", "RoleBinding"}]


def test_rbac_names_the_resource_the_crd_serves(rendered: dict[str, list[dict[str, Any]]]) -> None:
    crd = _one(rendered["install"], "CustomResourceDefinition")["spec"]
    granted = {(g, r) for g, r, _ in _grants(_one(rendered["install"], "ClusterRole")) if g == CSD_GROUP}
    assert granted == {
        (crd["group"], crd["names"]["plural"]),
        (crd["group"], f"{crd['names']['plural']}/status"),
    }


def test_overlay_confines_namespaced_rights_to_the_served_namespaces(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["overlay"]
    _, container = _controller(objects)
    served = _served_namespaces(container["args"])
    assert _grants(_one(objects, "ClusterRole")) == CLUSTER_SCOPED_GRANTS

    roles = [obj for obj in objects if obj["kind"] == "Role"]
    bindings = [obj for obj in objects if obj["kind"] == "RoleBinding"]
    assert sorted(role["metadata"]["namespace"] for role in roles) == sorted(served)
    assert sorted(binding["metadata"]["namespace"] for binding in bindings) == sorted(served)
    for role in roles:
        assert _grants(role) == NAMESPACED_GRANTS
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": OPERATOR_NAME,
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": OPERATOR_NAME, "namespace": OPERATOR_NAMESPACE}
        ]


# --- the image -----------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_image_runs_as_the_manifests_user_with_the_manifests_args(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    instructions = _dockerfile_instructions()
    arguments = dict(value.split("=", 1) for kind, value in instructions if kind == "ARG")
    # A pinned patch release of a slim Debian image, for every stage.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", arguments["PYTHON_IMAGE"])
    stages = [value for kind, value in instructions if kind == "FROM"]
    assert len(stages) >= 2
    assert all(stage.startswith("${PYTHON_IMAGE} AS ") for stage in stages)

    final_stage = instructions[max(i for i, (kind, _) in enumerate(instructions) if kind == "FROM") :]
    _, container = _controller(rendered["install"])
    users = [value for kind, value in final_stage if kind == "USER"]
    assert users == [
        f"{container['securityContext']['runAsUser']}:{container['securityContext']['runAsGroup']}"
    ]
    assert ("ENTRYPOINT", '["cloudservice-operator"]') in final_stage
    (cmd,) = [value for kind, value in final_stage if kind == "CMD"]
    assert yaml.safe_load(cmd) == CONTROLLER_ARGS
    # No compiler in the image that runs.
    assert not re.search(
        r"\b(gcc|g\+\+|build-essential|apt-get)\b", " ".join(value for _, value in final_stage)
    )


# --- the examples --------------------------------------------------------------------------


def _example(file_name: str) -> dict[str, Any]:
    (obj,) = load_documents(DEPLOY / "examples" / file_name)
    return obj


def test_examples_are_the_three_seeded_services(rendered: dict[str, list[dict[str, Any]]]) -> None:
    resources = [obj for obj in rendered["examples"] if obj["kind"] == CSD_KIND]
    assert len(resources) == len(EXAMPLE_SERVICES)
    for file_name, service in EXAMPLE_SERVICES.items():
        obj = _example(file_name)
        assert obj["apiVersion"] == f"{CSD_GROUP}/v1alpha1"
        assert obj["metadata"]["namespace"] == EXAMPLES_NAMESPACE
        assert obj["spec"]["subscriptionId"] == SUBSCRIPTION_ID
        assert obj["spec"]["serviceName"] == service
        assert obj in resources

    auto = _example("auto.yaml")["spec"]
    assert auto["upgrade"]["mode"] == "Auto"
    assert "url" in auto["package"]
    assert "configMapRef" in auto["configuration"]
    manual = _example("manual-gated.yaml")["spec"]
    assert manual["upgrade"]["mode"] == "Manual"
    assert manual["upgrade"]["domainGate"]
    assert "urlSecretRef" in manual["package"]
    assert _example("observe.yaml")["spec"]["reconcilePolicy"] == "Observe"


def test_examples_pass_the_crd_schema_and_rules(rendered: dict[str, list[dict[str, Any]]]) -> None:
    schema = CrdSchema.from_file(CANONICAL_CRD)
    for obj in (obj for obj in rendered["examples"] if obj["kind"] == CSD_KIND):
        name = obj["metadata"]["name"]
        assert [str(error) for error in schema.validate(obj)] == [], name
        assert [str(error) for error in schema.validate(schema.apply_defaults(obj))] == [], name


def test_examples_refer_to_objects_in_their_own_namespace(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = _index(rendered["examples"])

    def data(kind: str, namespace: str, name: str) -> dict[str, str]:
        obj = objects[(kind, namespace, name)]
        return obj.get("stringData") or obj.get("data") or {}

    for obj in (obj for obj in rendered["examples"] if obj["kind"] == CSD_KIND):
        namespace, spec = obj["metadata"]["namespace"], obj["spec"]
        credentials = objects[("Secret", namespace, spec["credentialsSecretRef"]["name"])]
        assert credentials["type"] == "kubernetes.io/tls"
        assert {"tls.crt", "tls.key"} <= set(data("Secret", namespace, credentials["metadata"]["name"]))
        if "urlSecretRef" in spec["package"]:
            ref = spec["package"]["urlSecretRef"]
            assert urlsplit(data("Secret", namespace, ref["name"])[ref["key"]]).scheme == "https"
        ref = spec["configuration"]["configMapRef"]
        configuration = ElementTree.fromstring(data("ConfigMap", namespace, ref["name"])[ref["key"]])
        assert configuration.tag == f"{{{CSCFG_NAMESPACE}}}ServiceConfiguration"
        assert configuration.get("serviceName") == spec["serviceName"]
        roles = configuration.findall(f"{{{CSCFG_NAMESPACE}}}Role")
        assert roles
        for role in roles:
            assert int(role.find(f"{{{CSCFG_NAMESPACE}}}Instances").get("count")) > 0


def test_examples_hold_no_secret_material(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for path in (DEPLOY / "examples").glob("*.yaml"):
        assert not re.search(r"-----BEGIN|PRIVATE KEY", path.read_text()), path
    for secret in (obj for obj in rendered["examples"] if obj["kind"] == "Secret"):
        assert "data" not in secret  # placeholders are readable text, not base64
        for key, value in secret["stringData"].items():
            if key == "url":
                (signature,) = parse_qs(urlsplit(value).query)["sig"]
                assert signature.startswith("REPLACE-ME")
            else:
                assert value.startswith("REPLACE-ME")
