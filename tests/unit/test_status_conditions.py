"""Phase, kstatus conditions and domain progress derived from a step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.models.status import Status
from controller.planning import conditions, steps

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=5)


def states(status: Status) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


@pytest.mark.parametrize(
    ("step", "phase", "ready", "reconciling", "stalled"),
    [
        (steps.Nothing(), "Ready", ("True", "InSync"), ("False", "InSync"), ("False", "InSync")),
        (
            steps.Upgrade("Auto", ("x",)),
            "Upgrading",
            ("False", "Upgrading"),
            ("True", "Upgrading"),
            ("False", "Progressing"),
        ),
        (
            steps.WalkUpgradeDomain(1, 5),
            "WalkingDomains",
            ("False", "WalkingDomains"),
            ("True", "WalkingDomains"),
            ("False", "Progressing"),
        ),
        (
            steps.Reimage("W_IN_0", 1, 0),
            "Reimaging",
            ("False", "Reimaging"),
            ("True", "Reimaging"),
            ("False", "Progressing"),
        ),
        (
            steps.Rollback("Auto", False, "Failure", "d"),
            "RollingBack",
            ("False", "RollingBack"),
            ("True", "RollingBack"),
            ("False", "Progressing"),
        ),
        (
            steps.Stall("SecretNotFound", "m"),
            "Failed",
            ("False", "SecretNotFound"),
            ("False", "SecretNotFound"),
            ("True", "SecretNotFound"),
        ),
        (
            steps.Wait("DeploymentLocked", "m", 1),
            "Pending",
            ("False", "DeploymentLocked"),
            ("True", "DeploymentLocked"),
            ("False", "Progressing"),
        ),
        (
            steps.Recover("i1"),
            "Pending",
            ("False", "Recovering"),
            ("True", "Recovering"),
            ("False", "Progressing"),
        ),
    ],
)
def test_each_step_tells_one_kstatus_story(
    step: steps.Step,
    phase: str,
    ready: tuple[str, str],
    reconciling: tuple[str, str],
    stalled: tuple[str, str],
) -> None:
    described = conditions.describe(Status(), step, T0, generation=4)
    assert described.phase == phase
    assert states(described) == {"Ready": ready, "Reconciling": reconciling, "Stalled": stalled}
    assert {c.observed_generation for c in described.conditions} == {4}
    assert described.observed_generation == 4


def test_transition_time_is_kept_while_the_status_is_unchanged() -> None:
    first = conditions.describe(Status(), steps.Wait("UpdateInProgress", "domain 0", 1), T0, generation=1)
    second = conditions.describe(first, steps.Wait("DomainGatePause", "domain 1", 1), LATER, generation=1)
    assert [c.last_transition_time for c in second.conditions] == [T0, T0, T0]
    assert states(second)["Reconciling"] == ("True", "DomainGatePause")  # reason and message may change
    third = conditions.describe(second, steps.Nothing(), LATER, generation=1)
    times = {c.type: c.last_transition_time for c in third.conditions}
    assert times == {"Ready": LATER, "Reconciling": LATER, "Stalled": T0}


def test_policy_wins_over_the_step_for_the_phase() -> None:
    held = steps.Hold("Observing", ("Upgrade deployment (Auto): label 'a' -> 'b'",))
    observing = conditions.describe(Status(), held, T0, generation=1, observe_only=True)
    assert observing.phase == "Observing"
    assert observing.plan == held.planned
    assert states(observing)["Ready"] == ("False", "Observing")
    suspended = conditions.describe(Status(), steps.Nothing(), T0, generation=1, suspend=True)
    assert suspended.phase == "Suspended"
    assert states(suspended)["Ready"] == ("True", "InSync")  # in sync is still in sync
    assert conditions.describe(observing, steps.Nothing(), T0, generation=1).plan == ()


def test_phase_follows_the_operation_and_the_update_in_progress() -> None:
    status = Status.from_object(
        {
            "deployment": {
                "upgrade": {"type": "Manual", "currentDomain": 2, "domainState": "Before"},
                "upgradeDomainCount": 5,
            },
            "operation": {"kind": "Upgrade", "target": "deployment", "intentId": "i", "phase": "Succeeded"},
        }
    )
    described = conditions.describe(status, steps.Wait("WaitingForDomainGate", "m", 1), T0, generation=1)
    assert described.phase == "WalkingDomains"
    assert described.domain_progress == "2/5"
    assert conditions.describe(Status(), steps.Nothing(), T0, generation=1).domain_progress == "-"
    rolling = Status.from_object(
        {"operation": {"kind": "Rollback", "target": "deployment", "intentId": "i", "phase": "Succeeded"}}
    )
    assert (
        conditions.describe(rolling, steps.Wait("RollingBack", "m", 1), T0, generation=1).phase
        == "RollingBack"
    )


def test_a_transient_failure_keeps_the_last_known_readiness() -> None:
    ready = conditions.describe(Status(), steps.Nothing(), T0, generation=1)
    retrying = conditions.describe_retrying(ready, "AzureRetrying", "503 ServerBusy", LATER, generation=1)
    assert states(retrying) == {
        "Ready": ("True", "InSync"),
        "Reconciling": ("True", "AzureRetrying"),
        "Stalled": ("False", "Progressing"),
    }
    assert retrying.phase == "Ready"
    fresh = conditions.describe_retrying(Status(), "AzureUnreachable", "m", T0, generation=1)
    assert states(fresh)["Ready"] == ("False", "AzureUnreachable")
    assert fresh.phase == "Pending"
