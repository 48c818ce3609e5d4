"""The GitOps health checks of CloudServiceDeployment, run the way Argo CD and Flux run them.

Argo CD: ``deploy/gitops/argocd/health.lua`` runs in real Lua 5.1 (lupa), the language
gopher-lua implements, inside a sandbox holding only what Argo CD opens for a custom health
check (base functions, ``table``, ``os.time``/``os.date``; no ``string`` or ``math``, and no
string methods), so a script leaning on a library Argo CD does not open fails here too. Every
case of ``health_test.yaml`` (Argo CD's own test layout: ``tests[].inputPath`` +
``healthStatus``) is asserted on status and message, and each ``testdata/`` file must be used.

Flux: the ``healthCheckExprs`` of ``deploy/gitops/flux/`` are evaluated with cel-python over
the same testdata, in kustomize-controller's order (observedGeneration first, then inProgress,
failed, current, else InProgress), and must agree with the Argo CD verdicts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from lupa import lua51

from controller.kube.crdschema import CrdSchema

REPO = Path(__file__).resolve().parents[2]
ARGOCD = REPO / "deploy" / "gitops" / "argocd"
FLUX_SNIPPET = REPO / "deploy" / "gitops" / "flux" / "cloudservice-operator.yaml"
EXAMPLES = REPO / "deploy" / "examples"
CRD = REPO / "crds" / "cloudservicedeployment.yaml"

CSD_API_VERSION = "classic.cloudservices.io/v1alpha1"
CSD_KIND = "CloudServiceDeployment"
ARGOCD_CM_KEY = "resource.customizations.health.classic.cloudservices.io_CloudServiceDeployment"
ARGO_HEALTH_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

# What Flux (kstatus) should conclude for each Argo CD verdict. Suspended is a resting state the
# spec asked for (spec.suspend), so Flux must not wait on it until its timeout.
KSTATUS_FOR_ARGO = {
    "Healthy": "Current",
    "Progressing": "InProgress",
    "Degraded": "Failed",
    "Suspended": "Current",
}
# Before the controller's first status write, the expressions refer to a missing top-level
# `status` (CEL's has() cannot test one): Flux gets an evaluation error and polls again.
FLUX_CANNOT_EVALUATE = {"testdata/progressing_no_status.yaml"}

# Argo CD runs custom health checks with `SkipOpenLibs` and then opens only these (see
# util/lua/lua.go in argo-cd): base, package, table, and a "safe" os with time and date.
_ARGO_SANDBOX = """
function(source, obj)
  local env = {
    assert = assert, error = error, getmetatable = getmetatable, ipairs = ipairs,
    next = next, pairs = pairs, pcall = pcall, print = print, rawequal = rawequal,
    rawget = rawget, rawset = rawset, select = select, setmetatable = setmetatable,
    tonumber = tonumber, tostring = tostring, type = type, unpack = unpack, xpcall = xpcall,
    table = {concat = table.concat, insert = table.insert, maxn = table.maxn,
             remove = table.remove, sort = table.sort},
    os = {time = os.time, date = os.date},
    obj = obj,
  }
  env._G = env
  local chunk = assert(loadstring(source, "=health.lua"))
  setfenv(chunk, env)
  return chunk()
end
"""


class _ApiLoader(yaml.SafeLoader):
    """Reads YAML as the API server serves JSON: timestamps stay strings."""


_ApiLoader.yaml_implicit_resolvers = {
    first: [resolver for resolver in resolvers if resolver[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_ApiLoader)  # noqa: S506 - a SafeLoader subclass


def _load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.load_all(path.read_text(), Loader=_ApiLoader) if doc is not None]


def _to_lua(lua: Any, value: Any) -> Any:
    # Like Argo CD's decodeValue: maps and lists become tables, nulls are absent.
    if isinstance(value, dict):
        return lua.table_from({key: _to_lua(lua, item) for key, item in value.items() if item is not None})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, item) for item in value])
    return value


def run_argo_health(script: str, obj: dict[str, Any]) -> dict[str, Any]:
    lua = lua51.LuaRuntime(register_eval=False)
    # The string library (which Argo CD does not open) is also what gives strings methods.
    lua.execute('debug.setmetatable("", nil)')
    result = lua.eval(_ARGO_SANDBOX)(script, _to_lua(lua, obj))
    assert lua.eval("type")(result) == "table", "a health script must return a table"
    return dict(result.items())


HEALTH_SCRIPT = (ARGOCD / "health.lua").read_text()
HEALTH_TESTS = _load(ARGOCD / "health_test.yaml")["tests"]


def _case_id(case: dict[str, Any]) -> str:
    return Path(case["inputPath"]).stem


def test_health_test_yaml_uses_every_testdata_file_and_every_status() -> None:
    used = [case["inputPath"] for case in HEALTH_TESTS]
    on_disk = sorted(f"testdata/{path.name}" for path in (ARGOCD / "testdata").glob("*.yaml"))
    assert sorted(used) == on_disk
    statuses = {case["healthStatus"]["status"] for case in HEALTH_TESTS}
    assert statuses == {"Healthy", "Progressing", "Degraded", "Suspended"}


@pytest.mark.parametrize("case", HEALTH_TESTS, ids=_case_id)
def test_argocd_health(case: dict[str, Any]) -> None:
    obj = _load(ARGOCD / case["inputPath"])
    assert (obj["apiVersion"], obj["kind"]) == (CSD_API_VERSION, CSD_KIND)

    health = run_argo_health(HEALTH_SCRIPT, obj)

    assert set(health) <= {"status", "message"}
    assert health["status"] in ARGO_HEALTH_STATUSES
    assert health == case["healthStatus"]


def test_testdata_is_shaped_like_the_crd_says() -> None:
    # The scripts read status fields by name: the testdata must use the CRD's names, so a
    # renamed status field shows up here rather than as a silently wrong health.
    schema = CrdSchema.from_file(CRD)
    for case in HEALTH_TESTS:
        obj = _load(ARGOCD / case["inputPath"])
        assert [str(error) for error in schema.validate(obj)] == [], case["inputPath"]


# Every phase of the status contract (docs/contracts.md), alone with its usual Ready condition.
@pytest.mark.parametrize(
    ("phase", "ready", "expected"),
    [
        ("Pending", "False", "Progressing"),
        ("Ready", "True", "Healthy"),
        ("Upgrading", "False", "Progressing"),
        ("WalkingDomains", "False", "Progressing"),
        ("Reimaging", "True", "Progressing"),
        ("RollingBack", "False", "Progressing"),
        ("Failed", "False", "Degraded"),
        ("Suspended", "True", "Suspended"),
        ("Observing", "True", "Healthy"),
    ],
)
def test_every_phase_has_a_health(phase: str, ready: str, expected: str) -> None:
    obj = {
        "apiVersion": CSD_API_VERSION,
        "kind": CSD_KIND,
        "metadata": {"name": "web", "namespace": "shop", "generation": 2},
        "status": {
            "observedGeneration": 2,
            "phase": phase,
            "conditions": [{"type": "Ready", "status": ready, "reason": "Test", "message": "m"}],
        },
    }
    health = run_argo_health(HEALTH_SCRIPT, obj)
    assert health["status"] == expected
    assert health["message"]


def test_the_sandbox_is_as_closed_as_argocd() -> None:
    obj = {"metadata": {"name": "x"}}
    with pytest.raises(lua51.LuaError, match="string"):
        run_argo_health('return {status = string.format("%s", "Healthy")}', obj)
    with pytest.raises(lua51.LuaError, match="index"):
        run_argo_health('return {status = ("Healthy"):lower()}', obj)
    assert run_argo_health('return {status = table.concat({"Heal", "thy"})}', obj) == {"status": "Healthy"}


def test_argocd_cm_snippet_carries_health_lua_verbatim() -> None:
    config_map = _load(ARGOCD / "argocd-cm.yaml")
    assert (config_map["apiVersion"], config_map["kind"]) == ("v1", "ConfigMap")
    assert config_map["metadata"]["name"] == "argocd-cm"
    assert list(config_map["data"]) == [ARGOCD_CM_KEY]
    assert config_map["data"][ARGOCD_CM_KEY] == HEALTH_SCRIPT, (
        "argocd-cm.yaml must hold health.lua verbatim: copy health.lua into it after a change"
    )


# --- Flux -------------------------------------------------------------------------------


def _flux_kustomizations() -> dict[str, dict[str, Any]]:
    docs = _load_all(FLUX_SNIPPET)
    for doc in docs:
        assert (doc["apiVersion"], doc["kind"]) == ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
    return {doc["metadata"]["name"]: doc for doc in docs}


def _csd_health_exprs() -> dict[str, str]:
    (entry,) = _flux_kustomizations()["shop-cloud-services"]["spec"]["healthCheckExprs"]
    assert (entry["apiVersion"], entry["kind"]) == (CSD_API_VERSION, CSD_KIND)
    return {key: entry[key] for key in ("inProgress", "failed", "current")}


def test_flux_snippet_shape() -> None:
    kustomizations = _flux_kustomizations()
    assert set(kustomizations) == {"cloudservice-operator", "shop-cloud-services"}

    operator = kustomizations["cloudservice-operator"]["spec"]
    assert operator["path"] == "./deploy"
    assert operator["healthChecks"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "cloudservice-operator",
            "namespace": "cloudservice-operator-system",
        }
    ]

    services = kustomizations["shop-cloud-services"]["spec"]
    assert services["dependsOn"] == [{"name": "cloudservice-operator"}]
    for spec in (operator, services):
        assert {"interval", "sourceRef", "path", "prune", "timeout"} <= set(spec)
    # The health checks name exactly the example resources.
    examples = [
        doc
        for path in sorted(EXAMPLES.glob("*.yaml"))
        for doc in _load_all(path)
        if doc.get("kind") == CSD_KIND
    ]
    expected = [
        {
            "apiVersion": doc["apiVersion"],
            "kind": CSD_KIND,
            "name": doc["metadata"]["name"],
            "namespace": doc["metadata"]["namespace"],
        }
        for doc in examples
    ]
    assert sorted(services["healthChecks"], key=str) == sorted(expected, key=str)
    assert set(_csd_health_exprs()) == {"inProgress", "failed", "current"}


def flux_status(expressions: dict[str, str], obj: dict[str, Any]) -> str:
    """kstatus verdict as kustomize-controller computes it (fluxcd/pkg runtime/cel StatusEvaluator)."""
    observed = (obj.get("status") or {}).get("observedGeneration")
    generation = obj["metadata"].get("generation")
    if observed is not None and generation is not None and observed != generation:
        return "InProgress"
    # cel-go (Flux) fails on a top-level name the object lacks, even inside has(); cel-python's
    # has() quietly answers false there, so that case is decided before handing over to it.
    referenced = {
        name
        for name in ("apiVersion", "kind", "metadata", "spec", "status")
        for text in expressions.values()
        if re.search(rf"(?<![\w.]){name}\b", text)
    }
    if referenced - set(obj):
        return "Unknown"
    environment = celpy.Environment()
    activation = {key: celpy.json_to_cel(value) for key, value in obj.items()}
    for key, verdict in (("inProgress", "InProgress"), ("failed", "Failed"), ("current", "Current")):
        if key not in expressions:
            continue
        program = environment.program(environment.compile(expressions[key]))
        try:
            result = program.evaluate(activation)
        except celpy.CELEvalError:
            return "Unknown"
        if isinstance(result, celpy.CELEvalError):
            return "Unknown"
        if result == celpy.celtypes.BoolType(True):
            return verdict
    return "InProgress"


@pytest.mark.parametrize("case", HEALTH_TESTS, ids=_case_id)
def test_flux_health_agrees_with_argocd(case: dict[str, Any]) -> None:
    obj = _load(ARGOCD / case["inputPath"])
    if case["inputPath"] in FLUX_CANNOT_EVALUATE:
        expected = "Unknown"
    else:
        expected = KSTATUS_FOR_ARGO[case["healthStatus"]["status"]]
    assert flux_status(_csd_health_exprs(), obj) == expected
