"""Recovery: which listed operation is the intent, and what the deployment proves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controller.azure import errors, wire
from controller.azure.refs import DeploymentRef
from controller.models.status import Applied, HistoryEntry, Operation, OperationKind, Status
from controller.planning.inputs import ObservedUpgrade
from controller.reconcile import recovery

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import deployment  # noqa: E402

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SINCE = T0 - timedelta(minutes=5)
REF = DeploymentRef(service="web", slot="Production")


def intent(kind: OperationKind = OperationKind.UPGRADE, **fields: Any) -> Operation:
    base: dict[str, Any] = {
        "target": "deployment",
        "intent_id": "i1",
        "requested_at": T0,
        "spec_digest": "spec-42",
    }
    return Operation(kind=kind, **{**base, **fields})


def listed(
    name: str, op_id: str = "ab" * 16, started: str = "2024-05-01T12:00:01Z", **parameters: str
) -> wire.SubscriptionOperation:
    return wire.SubscriptionOperation(
        operation_id=op_id,
        operation_object_id="/sub/services/hostedservices/web",
        operation_name=name,
        operation_parameters=[wire.OperationParameter(name=k, value=v) for k, v in parameters.items()],
        operation_status=wire.OperationStatus(id=op_id, status="InProgress"),
        operation_started_time=started,
    )


@pytest.mark.parametrize(
    ("operation", "the_intent", "expected"),
    [
        (listed("UpgradeDeployment", DeploymentSlot="Production"), intent(), True),
        (listed("UpgradeDeployment", DeploymentSlot="staging"), intent(), False),
        (listed("ChangeDeploymentConfiguration", DeploymentSlot="Production"), intent(), False),
        (listed("UpgradeDeployment", started="2024-05-01T11:50:00Z"), intent(), False),  # before the window
        (listed("UpgradeDeployment", started="2024-05-01T11:59:00.1234567Z"), intent(), True),  # 7 digits
        (
            listed("WalkUpgradeDomain", UpgradeDomain="2"),
            intent(OperationKind.WALK_UPGRADE_DOMAIN, upgrade_domain=2),
            True,
        ),
        (
            listed("WalkUpgradeDomain", UpgradeDomain="1"),
            intent(OperationKind.WALK_UPGRADE_DOMAIN, upgrade_domain=2),
            False,
        ),
        (
            listed("ReimageRoleInstance", RoleInstanceName="w_in_0"),
            intent(OperationKind.REIMAGE, target="W_IN_0"),
            True,
        ),
        (
            listed("ReimageRoleInstance", RoleInstanceName="W_IN_1"),
            intent(OperationKind.REIMAGE, target="W_IN_0"),
            False,
        ),
        (listed("RollbackDeploymentUpdateOrUpgrade"), intent(OperationKind.ROLLBACK), True),
    ],
)
def test_matching_a_listed_operation_to_the_intent(
    operation: wire.SubscriptionOperation, the_intent: Operation, expected: bool
) -> None:
    assert recovery.matches(operation, the_intent, REF, None, frozenset(), SINCE) is expected


def test_operations_the_controller_already_knows_are_not_the_intent() -> None:
    operation = listed("UpgradeDeployment", op_id="abababab-abab-abab-abab-abababababab")
    assert not recovery.matches(operation, intent(), REF, None, frozenset({"ab" * 16}), SINCE)


def test_a_named_deployment_matches_by_name() -> None:
    named = DeploymentRef(service="web", name="blue")
    assert recovery.matches(
        listed("UpgradeDeployment", DeploymentName="BLUE"), intent(), named, None, frozenset(), SINCE
    )
    assert not recovery.matches(
        listed("UpgradeDeployment", DeploymentName="green"), intent(), named, None, frozenset(), SINCE
    )


def test_what_the_deployment_proves() -> None:
    landed = deployment(applied_digest="spec-42")
    assert recovery.landed(intent(), landed, Applied(spec_digest="spec-41"))
    assert not recovery.landed(intent(), landed, Applied(spec_digest="spec-42"))  # it was there before
    assert not recovery.landed(intent(), deployment(applied_digest="spec-41"), None)
    walked = deployment(upgrade={"type": "Manual", "current_domain": 3, "domain_state": "Before"})
    assert recovery.landed(intent(OperationKind.WALK_UPGRADE_DOMAIN, upgrade_domain=2), walked, None)
    assert not recovery.landed(intent(OperationKind.WALK_UPGRADE_DOMAIN, upgrade_domain=3), walked, None)
    during = deployment(upgrade={"type": "Manual", "current_domain": 3, "domain_state": "During"})
    assert recovery.landed(intent(OperationKind.WALK_UPGRADE_DOMAIN, upgrade_domain=3), during, None)
    assert not recovery.landed(intent(OperationKind.REIMAGE, target="W_IN_0"), landed, None)
    assert isinstance(walked.upgrade, ObservedUpgrade)


class FakeClient:
    subscription_id = "sub"

    def __init__(self, result: list[wire.SubscriptionOperation] | Exception) -> None:
        self.result = result
        self.calls: list[dict[str, Any]] = []

    async def list_subscription_operations(self, **kwargs: Any) -> list[wire.SubscriptionOperation]:
        self.calls.append(kwargs)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


async def investigate(client: FakeClient, status: Status | None = None, **seen: Any) -> recovery.Finding:
    return await recovery.investigate(
        client,  # type: ignore[arg-type]
        REF,
        intent(),
        deployment=deployment(**seen),
        status=status or Status(),
        margin=timedelta(minutes=5),
        now=T0 + timedelta(seconds=30),
    )


async def test_found_in_the_listing_means_issued_with_its_request_id() -> None:
    client = FakeClient(
        [
            listed(
                "UpgradeDeployment", op_id="12345678-1234-1234-1234-123456789abc", DeploymentSlot="Production"
            )
        ]
    )
    finding = await investigate(client, applied_digest="spec-41")
    assert finding == recovery.Finding(
        recovery.Verdict.ISSUED, "12345678123412341234123456789abc", "List Subscription Operations"
    )
    assert client.calls[0]["start"] == SINCE
    assert client.calls[0]["object_id"] == "/sub/services/hostedservices/web"


async def test_not_listed_and_no_trace_means_not_issued() -> None:
    finding = await investigate(FakeClient([]), applied_digest="spec-41")
    assert finding.verdict is recovery.Verdict.NOT_ISSUED


async def test_listing_refused_but_the_deployment_shows_it_means_issued() -> None:
    refused = errors.PermanentError(status=400, code="BadRequest", message="no")
    finding = await investigate(FakeClient(refused), applied_digest="spec-42")
    assert finding.verdict is recovery.Verdict.ISSUED
    assert finding.request_id == ""


async def test_listing_refused_and_no_trace_means_unknown() -> None:
    refused = errors.ForbiddenError(status=403, code="ForbiddenError", message="no")
    finding = await investigate(FakeClient(refused), applied_digest="spec-41")
    assert finding.verdict is recovery.Verdict.UNKNOWN


async def test_a_transient_listing_failure_is_retried_later() -> None:
    with pytest.raises(errors.RetryableError):
        await investigate(FakeClient(errors.RetryableError(status=503, code="ServerBusy", message="busy")))


async def test_history_excludes_earlier_identical_operations() -> None:
    earlier = listed("UpgradeDeployment", op_id="cd" * 16, DeploymentSlot="Production")
    status = Status(history=(HistoryEntry(kind="Upgrade", request_id="cd" * 16, result="Succeeded"),))
    finding = await investigate(FakeClient([earlier]), status, applied_digest="spec-41")
    assert finding.verdict is recovery.Verdict.NOT_ISSUED
