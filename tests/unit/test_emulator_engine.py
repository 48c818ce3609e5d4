"""The building blocks of progression and bookkeeping: scheduler, instance steps, operation
records, the request log and fault rules."""

from __future__ import annotations

import random

import pytest

from controller.emulator import errors, faults, progress, records, requestlog, state
from controller.emulator.timings import Timings


def test_the_scheduler_runs_due_transitions_in_time_then_insertion_order() -> None:
    scheduler = progress.Scheduler()
    ran: list[tuple[str, float]] = []
    scheduler.at(2.0, lambda at: ran.append(("b", at)))
    scheduler.at(1.0, lambda at: ran.append(("a", at)))
    scheduler.at(2.0, lambda at: ran.append(("c", at)))
    scheduler.at(5.0, lambda at: ran.append(("late", at)))
    scheduler.run_until(2.0)
    assert ran == [("a", 1.0), ("b", 2.0), ("c", 2.0)]
    assert len(scheduler) == 1


def test_chains_of_zero_delay_transitions_settle_in_one_run_and_endless_ones_fail() -> None:
    scheduler = progress.Scheduler()
    count = []

    def again(at: float) -> None:
        count.append(at)
        if len(count) < 10:
            scheduler.at(at, again)

    scheduler.at(0.0, again)
    scheduler.run_until(0.0)
    assert len(count) == 10

    def forever(at: float) -> None:
        scheduler.at(at, forever)

    scheduler.at(0.0, forever)
    scheduler.MAX_TRANSITIONS_PER_RUN = 100  # type: ignore[misc]  # keep the test quick
    with pytest.raises(RuntimeError, match="did not settle"):
        scheduler.run_until(0.0)


def instance() -> state.RoleInstance:
    return state.RoleInstance(
        role="Web",
        index=0,
        upgrade_domain=0,
        fault_domain=0,
        status="ReadyRole",
        power_state="Started",
        revision=1,
        ip_address="10.0.0.4",
    )


def test_instance_steps_take_one_step_each_and_a_newer_sequence_wins() -> None:
    scheduler = progress.Scheduler()
    steps = progress.InstanceSteps(scheduler, lambda: Timings(instance_step_seconds=1.0))
    subject = instance()
    settled: list[float] = []
    steps.run(subject, progress.RESTART, "ReadyRole", 0.0, on_settled=settled.append)
    observed = []
    for moment in range(6):
        scheduler.run_until(float(moment))
        observed.append((subject.status, subject.power_state))
    assert observed == [
        ("StoppingRole", "Stopping"),
        ("StoppedVM", "Stopped"),
        ("StartingVM", "Starting"),
        ("StartingRole", "Starting"),
        ("BusyRole", "Started"),
        ("ReadyRole", "Started"),
    ]
    assert settled == [5.0]
    steps.run(subject, progress.REIMAGE, "ReadyRole", 10.0)
    steps.run(subject, progress.STOP, "StoppedVM", 10.0)  # supersedes the reimage
    scheduler.run_until(100.0)
    assert subject.status == "StoppedVM"
    assert subject.settled


def caller(request_id: str) -> records.Caller:
    return records.Caller("Sub", "AB" * 20, "127.0.0.1", request_id)


def test_an_operation_record_finishes_once() -> None:
    log = records.OperationLog()
    record = log.start(caller("a" * 32), name="UpgradeDeployment", object_id="/Sub/x", parameters=[], now=1.0)
    log.fail(record.id, 2.0, errors.ConflictError())
    log.succeed(record.id, 3.0)
    assert (record.status, record.completed, record.http_status_code, record.error_code) == (
        "Failed",
        2.0,
        409,
        "ConflictError",
    )
    assert log.get("sub", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa") is record
    with pytest.raises(errors.ResourceNotFound):
        log.get("other", record.id)


def test_operation_queries_filter_and_page() -> None:
    log = records.OperationLog()
    for index in range(5):
        record = log.start(
            caller(f"{index:032x}"), name="X", object_id=f"/Sub/{index % 2}", parameters=[], now=float(index)
        )
        if index % 2:
            log.succeed(record.id, float(index))
    page, after = log.query(records.OperationQuery("sub", start=0.0, end=10.0, limit=2))
    assert [r.sequence for r in page] == [1, 2]
    assert after == 2
    page, after = log.query(records.OperationQuery("sub", start=0.0, end=10.0, after_sequence=2, limit=2))
    assert [r.sequence for r in page] == [3, 4]
    assert after == 4
    page, after = log.query(records.OperationQuery("sub", start=0.0, end=10.0, after_sequence=4, limit=2))
    assert [r.sequence for r in page] == [5]
    assert after is None
    by_object, _ = log.query(records.OperationQuery("sub", start=0.0, end=10.0, object_id="/sub/1/"))
    assert [r.sequence for r in by_object] == [2, 4]
    succeeded, _ = log.query(records.OperationQuery("sub", start=0.0, end=10.0, result="Succeeded"))
    assert [r.sequence for r in succeeded] == [2, 4]
    window, _ = log.query(records.OperationQuery("sub", start=1.5, end=3.0))
    assert [r.sequence for r in window] == [3, 4]


def entry(operation: str, status: int | None, aliases: set[str]) -> requestlog.RequestEntry:
    return requestlog.RequestEntry(
        sequence=0,
        time=0.0,
        method="POST",
        path="/p",
        query="",
        operation=operation,
        subscription_id="s",
        aliases=frozenset(aliases),
        request_id="r",
        status=status,
        error_code=None,
        fault=None,
        thumbprint=None,
    )


def test_the_request_log_numbers_and_filters() -> None:
    log = requestlog.RequestLog()
    log.add(entry("UpgradeDeployment", 202, {"svc", "web-1"}))
    log.add(entry("WalkUpgradeDomain", 409, {"svc"}))
    log.add(entry("UpgradeDeployment", None, {"other"}))
    assert [e.sequence for e in log.entries({})] == [1, 2, 3]
    assert [e.sequence for e in log.entries({"operation": "upgradedeployment"})] == [1, 3]
    assert [e.sequence for e in log.entries({"target": "WEB-1"})] == [1]
    assert [e.sequence for e in log.entries({"status": "None"})] == [3]
    assert [e.sequence for e in log.entries({"since": "1", "target": "svc"})] == [2]
    assert log.entries({"unknown": "x"}) == log.entries({})


def test_fault_rules_match_count_and_rate() -> None:
    registry = faults.FaultRegistry()
    registry.add(faults.FaultRule(id="1", operation="UpgradeDeployment", kind="error", target="svc", times=2))
    registry.add(faults.FaultRule(id="2", operation="*", kind="latency", rate=0.3, seed=11))
    aliases = frozenset({"svc"})
    assert registry.pick("UpgradeDeployment", aliases).id == "1"  # type: ignore[union-attr]
    assert registry.pick("UpgradeDeployment", aliases).id == "1"  # type: ignore[union-attr]
    rng = random.Random(11)
    picks = [registry.pick("UpgradeDeployment", aliases) for _ in range(50)]
    assert [pick is not None for pick in picks] == [rng.random() < 0.3 for _ in range(50)]
    targeted = faults.FaultRule(id="x", operation="UpgradeDeployment", kind="error", target="SVC")
    assert targeted.matches("UpgradeDeployment", aliases)
    assert not targeted.matches("UpgradeDeployment", frozenset({"other"}))
    assert not targeted.matches("GetDeployment", aliases)
    assert registry.remove("1")
    assert not registry.remove("1")
    registry.clear()
    assert registry.rules() == []
