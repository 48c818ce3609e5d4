"""The status model: the contract's shape on the wire, lenient reading, bounded history."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.models.status import (
    HISTORY_LIMIT,
    Condition,
    HistoryEntry,
    Operation,
    OperationKind,
    OperationPhase,
    Phase,
    Status,
    format_time,
    truncate,
)

T = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_serializes_in_camel_case_without_empty_fields() -> None:
    status = Status(
        observed_generation=3,
        phase=Phase.UPGRADING,
        domain_progress="1/5",
        operation=Operation(
            kind=OperationKind.UPGRADE,
            target="deployment",
            intent_id="abc",
            phase=OperationPhase.REQUESTING,
            requested_at=T,
            spec_digest="d",
            generation=3,
        ),
        reimage={"WebRole1_IN_0": 2},
    )
    assert status.to_json() == {
        "observedGeneration": 3,
        "phase": "Upgrading",
        "domainProgress": "1/5",
        "operation": {
            "kind": "Upgrade",
            "target": "deployment",
            "intentId": "abc",
            "phase": "Requesting",
            "requestedAt": "2024-05-01T12:00:00.123Z",
            "specDigest": "d",
            "generation": 3,
        },
        "reimage": {"WebRole1_IN_0": 2},
    }


def test_zero_and_false_are_kept_empty_values_are_not() -> None:
    status = Status.from_object(
        {
            "deployment": {"name": "d", "locked": False, "instances": [{"name": "i", "upgradeDomain": 0}]},
            "plan": [],
        }
    )
    assert status.to_json() == {
        "deployment": {
            "name": "d",
            "upgradeDomainCount": 0,
            "rollbackAllowed": False,
            "locked": False,
            "instances": [{"name": "i", "upgradeDomain": 0, "faultDomain": 0}],
        }
    }


def test_round_trip_through_the_api_is_stable() -> None:
    raw = {
        "observedGeneration": 2,
        "phase": "Ready",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "InSync",
                "message": "m",
                "observedGeneration": 2,
                "lastTransitionTime": "2024-05-01T12:00:00Z",
            }
        ],
        "walk": {"domain": 1, "walkedAt": "2024-05-01T12:00:00.250Z"},
        "history": [{"kind": "Upgrade", "result": "Succeeded", "requestedAt": "2024-05-01T11:00:00Z"}],
    }
    assert Status.from_object(raw).to_json() == raw


def test_condition_times_have_second_precision() -> None:
    condition = Condition(type="Ready", status="True", last_transition_time=T)
    assert condition.to_json()["lastTransitionTime"] == "2024-05-01T12:00:00Z"


def test_unreadable_status_keeps_every_field_that_still_parses() -> None:
    status = Status.from_object(
        {
            "phase": "NotAPhase",
            "operation": {"kind": "Upgrade", "target": "deployment", "intentId": "i1", "phase": "Requesting"},
            "reimage": {"WebRole1_IN_0": "many"},
        }
    )
    assert status.phase is None
    assert status.operation is not None
    assert status.operation.intent_id == "i1"  # the operation in flight is never forgotten
    assert status.reimage == {}


def test_anything_but_an_object_reads_as_an_empty_status() -> None:
    assert Status.from_object(None) == Status()
    assert Status.from_object("garbage") == Status()


def test_unknown_fields_such_as_kopfs_own_are_ignored() -> None:
    assert Status.from_object({"kopf": {"progress": {}}, "phase": "Ready"}).to_json() == {"phase": "Ready"}


def test_history_is_bounded_to_the_last_ten() -> None:
    status = Status()
    for number in range(HISTORY_LIMIT + 3):
        status = status.with_history(HistoryEntry(kind="Reimage", target=f"i{number}"))
    assert len(status.history) == HISTORY_LIMIT
    assert status.history[0].target == "i3"
    parsed = Status.from_object({"history": [{"kind": "Upgrade"}] * 15})
    assert len(parsed.history) == HISTORY_LIMIT


def test_time_helpers() -> None:
    assert format_time(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"
    assert format_time(T) == "2024-05-01T12:00:00.123Z"
    assert truncate(T).microsecond == 123000
    assert OperationPhase.SUCCEEDED.finished
    assert not OperationPhase.UNKNOWN.finished
