"""One reconcile pass with fake Kubernetes and Azure: the intent is written before anything is sent.

The fakes record what each side saw and when, so the tests assert the order that exactly-once
rests on (intent in status -> request -> request id in status) and what each failure leaves
behind, without servers.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from controller.azure import errors, wire
from controller.metrics import Metrics
from controller.reconcile import events, kube, reconciler, statusdiff
from controller.reconcile.clients import ClientPool
from controller.reconcile.config import ReconcileConfig

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
REF = kube.ObjectRef("shop", "web")
CSCFG = (
    '<ServiceConfiguration serviceName="web" xmlns="urn:x">'
    '<Role name="W"><Instances count="2"/></Role></ServiceConfiguration>'
)
CONFIG = ReconcileConfig(poll_seconds=1, in_flight_seconds=60, retry_base_seconds=1, retry_max_seconds=8)


def _credentials() -> dict[str, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mgmt")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return {
        "tls.crt": certificate.public_bytes(serialization.Encoding.PEM),
        "tls.key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }


CREDENTIALS = _credentials()


class FakeKube:
    """The API server: one object, status merge patches with resourceVersion preconditions."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self.patches: list[dict[str, Any]] = []
        self.conflicts = 0

    async def get_object(self, ref: kube.ObjectRef) -> dict[str, Any]:
        return copy.deepcopy(self.obj)

    async def patch_status(
        self, ref: kube.ObjectRef, status: dict[str, Any], *, resource_version: str | None = None
    ) -> dict[str, Any]:
        metadata = self.obj["metadata"]
        if self.conflicts:
            self.conflicts -= 1
            raise kube.KubeConflict(409, "Conflict", "the object has been modified")
        if resource_version is not None and resource_version != metadata["resourceVersion"]:
            raise kube.KubeConflict(409, "Conflict", "the object has been modified")
        self.obj["status"] = _merge(self.obj.get("status") or {}, status)
        metadata["resourceVersion"] = str(int(metadata["resourceVersion"]) + 1)
        self.patches.append(copy.deepcopy(status))
        return copy.deepcopy(self.obj)

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        if name != "mgmt":
            raise kube.KubeNotFound(404, "NotFound", f"secrets {name} not found")
        return dict(CREDENTIALS)

    async def read_configmap(self, namespace: str, name: str) -> dict[str, str]:
        raise kube.KubeNotFound(404, "NotFound", "no configmaps here")

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.obj.get("status") or {})


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


class FakeAzure:
    """The Service Management API: a deployment, and a record of every call with the status at that time."""

    subscription_id = "sub"

    def __init__(self, kube_fake: FakeKube, *, label: str = "web-41") -> None:
        self.kube = kube_fake
        self.label = label
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_with: Exception | None = None
        self.listed: list[wire.SubscriptionOperation] = []

    def _call(self, name: str) -> None:
        self.calls.append((name, copy.deepcopy(self.kube.status)))
        if self.fail_with is not None:
            failure, self.fail_with = self.fail_with, None
            raise failure

    async def get_deployment(self, *, ref: Any) -> wire.Deployment:
        return wire.Deployment(
            name="d1",
            deployment_slot="Production",
            status="Running",
            label=wire.b64encode_text(self.label),
            configuration=wire.b64encode_text(CSCFG),
            role_instance_list=[
                wire.RoleInstance(role_name="W", instance_name="W_IN_0", instance_status="ReadyRole")
            ],
        )

    async def upgrade_deployment(self, *, ref: Any, body: wire.UpgradeDeployment) -> str:
        self._call("UpgradeDeployment")
        return "a" * 32

    async def get_operation_status(self, *, request_id: str) -> wire.Operation:
        return wire.Operation(id=request_id, status="InProgress")

    async def list_subscription_operations(self, **_: Any) -> list[wire.SubscriptionOperation]:
        self.calls.append(("ListSubscriptionOperations", copy.deepcopy(self.kube.status)))
        return self.listed

    async def aclose(self) -> None:
        return None


def resource(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "generation": 1,
            "resourceVersion": "10",
            "uid": "u1",
        },
        "spec": {
            "subscriptionId": "9f0c6a0e-0000-4000-8000-000000000001",
            "serviceName": "web",
            "slot": "Production",
            "endpoint": "https://azure.example",
            "credentialsSecretRef": {"name": "mgmt"},
            "package": {"url": "https://acct.blob.core.windows.net/p/web.cspkg"},
            "configuration": {"inline": CSCFG},
            "label": "web-42",
            **spec,
        },
    }


@pytest.fixture
def world() -> tuple[FakeKube, FakeAzure, reconciler.Runtime, events.ListSink]:
    kube_fake = FakeKube(resource())
    azure = FakeAzure(kube_fake)
    sink = events.ListSink()
    runtime = reconciler.Runtime(
        kube=kube_fake,  # type: ignore[arg-type]
        clients=ClientPool(factory=lambda **_: azure),  # type: ignore[arg-type,return-value]
        events=sink,
        metrics=Metrics(),
        config=CONFIG,
        clock=lambda: NOW,
        rng=random.Random(7),
    )
    return kube_fake, azure, runtime, sink


World = tuple[FakeKube, FakeAzure, reconciler.Runtime, events.ListSink]


async def test_the_intent_is_recorded_before_the_request_and_the_id_after(world: World) -> None:
    kube_fake, azure, runtime, sink = world
    outcome = await reconciler.reconcile(runtime, REF)

    [(name, seen)] = azure.calls
    assert name == "UpgradeDeployment"
    intent = seen["operation"]
    assert (intent["kind"], intent["phase"]) == ("Upgrade", "Requesting")
    assert "requestId" not in intent  # the id cannot be known before the call
    assert seen["phase"] == "Upgrading"
    operation = kube_fake.status["operation"]
    assert (operation["phase"], operation["requestId"], operation["intentId"]) == (
        "InProgress",
        "a" * 32,
        intent["intentId"],
    )
    assert len(kube_fake.patches) == 2
    assert outcome.result == "Issued"
    assert outcome.requeue_after == CONFIG.poll_seconds
    assert ("Normal", "UpgradeRequested") in [(t, r) for t, r, _ in sink.events]


async def test_a_pass_while_the_operation_runs_sends_nothing_and_writes_nothing(world: World) -> None:
    kube_fake, azure, runtime, _ = world
    await reconciler.reconcile(runtime, REF)
    patches = len(kube_fake.patches)
    outcome = await reconciler.reconcile(runtime, REF)
    assert [name for name, _ in azure.calls] == ["UpgradeDeployment"]
    assert len(kube_fake.patches) == patches
    assert outcome.result == "Wait"


async def test_a_stale_read_never_sends(world: World) -> None:
    kube_fake, azure, runtime, _ = world
    kube_fake.conflicts = 1  # someone wrote the object since it was read
    outcome = await reconciler.reconcile(runtime, REF)
    assert azure.calls == []
    assert outcome.result == "Conflict"
    assert "operation" not in kube_fake.status


async def test_unknown_outcome_is_recorded_then_recovered_before_anything_is_reissued(world: World) -> None:
    kube_fake, azure, runtime, sink = world
    azure.fail_with = errors.OutcomeUnknownError(
        "connection dropped", operation="UpgradeDeployment", target="web"
    )
    await reconciler.reconcile(runtime, REF)
    assert kube_fake.status["operation"]["phase"] == "Unknown"
    assert ("Warning", "OutcomeUnknown") in [(t, r) for t, r, _ in sink.events]

    azure.listed = [
        wire.SubscriptionOperation(
            operation_id="b" * 32,
            operation_object_id="/sub/services/hostedservices/web",
            operation_name="UpgradeDeployment",
            operation_parameters=[wire.OperationParameter(name="DeploymentSlot", value="Production")],
            operation_status=wire.OperationStatus(id="b" * 32, status="InProgress"),
            operation_started_time="2024-05-01T12:00:00Z",
        )
    ]
    await reconciler.reconcile(runtime, REF)
    assert [name for name, _ in azure.calls] == ["UpgradeDeployment", "ListSubscriptionOperations"]
    operation = kube_fake.status["operation"]
    assert (operation["phase"], operation["requestId"]) == ("InProgress", "b" * 32)


async def test_not_found_after_the_in_flight_window_is_issued_again(world: World) -> None:
    kube_fake, azure, runtime, _ = world
    azure.fail_with = errors.OutcomeUnknownError("dropped", operation="UpgradeDeployment", target="web")
    await reconciler.reconcile(runtime, REF)

    runtime.clock = lambda: NOW + dt.timedelta(seconds=10)  # still possibly in flight: wait
    await reconciler.reconcile(runtime, REF)
    assert [name for name, _ in azure.calls] == ["UpgradeDeployment", "ListSubscriptionOperations"]
    assert kube_fake.status["operation"]["phase"] == "Unknown"

    runtime.clock = lambda: NOW + dt.timedelta(seconds=61)
    await reconciler.reconcile(runtime, REF)
    names = [name for name, _ in azure.calls]
    assert names == [
        "UpgradeDeployment",
        "ListSubscriptionOperations",
        "ListSubscriptionOperations",
        "UpgradeDeployment",
    ]
    assert kube_fake.status["operation"]["phase"] == "InProgress"
    assert kube_fake.status["history"][-1]["result"] == "NotIssued"


async def test_a_conflict_waits_without_a_trace_of_the_intent(world: World) -> None:
    kube_fake, azure, runtime, _ = world
    azure.fail_with = errors.ConflictError(status=409, code="ConflictError", message="busy")
    outcome = await reconciler.reconcile(runtime, REF)
    assert outcome.transient
    assert "operation" not in kube_fake.status
    reconciling = next(c for c in kube_fake.status["conditions"] if c["type"] == "Reconciling")
    assert (reconciling["status"], reconciling["reason"]) == ("True", "WaitingForConflict")


async def test_a_refused_request_stalls_the_spec_and_is_not_repeated(world: World) -> None:
    kube_fake, azure, runtime, sink = world
    azure.fail_with = errors.PermanentError(status=400, code="BadRequest", message="the package is invalid")
    await reconciler.reconcile(runtime, REF)
    status = kube_fake.status
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "RequestRejected")
    assert "BadRequest: the package is invalid" in stalled["message"]
    assert status["history"][-1]["result"] == "Rejected"
    assert status["stalledSpecDigest"]
    await reconciler.reconcile(runtime, REF)
    assert [name for name, _ in azure.calls] == ["UpgradeDeployment"]
    assert ("Warning", "RequestRejected") in [(t, r) for t, r, _ in sink.events]


async def test_missing_secret_stalls_without_calling_azure(world: World) -> None:
    kube_fake, azure, runtime, _ = world
    kube_fake.obj = resource(credentialsSecretRef={"name": "other"})
    outcome = await reconciler.reconcile(runtime, REF)
    stalled = next(c for c in kube_fake.status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "SecretNotFound")
    assert azure.calls == []
    assert outcome.phase == "Failed"


async def test_observe_policy_lists_the_plan_and_sends_nothing(world: World) -> None:
    kube_fake, azure, runtime, _ = world
    kube_fake.obj = resource(reconcilePolicy="Observe")
    await reconciler.reconcile(runtime, REF)
    assert azure.calls == []
    assert kube_fake.status["phase"] == "Observing"
    assert kube_fake.status["plan"][0].startswith("Upgrade deployment (Auto)")


async def test_a_deleted_object_ends_the_loop(world: World) -> None:
    kube_fake, _, runtime, _ = world
    kube_fake.obj["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    assert (await reconciler.reconcile(runtime, REF)).requeue_after is None


def test_merge_patch_helper_agrees_with_statusdiff() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}}
    new = {"b": {"c": 2, "e": 4}}
    assert _merge(old, statusdiff.merge_patch(old, new)) == new
