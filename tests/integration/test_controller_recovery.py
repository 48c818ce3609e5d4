"""Exactly once across crashes, restarts and lost answers: the emulator's request log is the judge."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys

import pytest

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import FAST_RECONCILE, ROOT, World, condition, cscfg, is_ready  # noqa: E402


def operation_phase(obj: dict) -> str:
    return str(obj.get("status", {}).get("operation", {}).get("phase", ""))


@pytest.mark.timeout(20)
async def test_answer_lost_after_processing_is_adopted_not_reissued(world: World) -> None:
    world.seed(label="web-1")
    world.fault("UpgradeDeployment", "drop-after", times=1)
    await world.start_controller()
    await world.create("web")

    obj = await world.wait("web", is_ready, what="Ready")

    upgrades = world.requests("UpgradeDeployment")
    assert len(upgrades) == 1  # processed once, answer lost, never sent again
    assert upgrades[0].fault == "drop-after"
    await world.wait_event("web", "OutcomeUnknown")
    await world.wait_event("web", "IntentAdopted")
    assert obj["status"]["history"][-1]["result"] == "Succeeded"


@pytest.mark.timeout(20)
async def test_request_lost_before_processing_is_issued_again_once(world: World) -> None:
    world.seed(label="web-1")
    world.fault("UpgradeDeployment", "drop-before", times=1)
    await world.start_controller()
    await world.create("web")

    obj = await world.wait("web", is_ready, what="Ready")

    upgrades = world.requests("UpgradeDeployment")
    assert [entry.fault for entry in upgrades] == ["drop-before", None]  # one processed
    assert [h["result"] for h in obj["status"]["history"]] == ["NotIssued", "Succeeded"]


@pytest.mark.timeout(20)
async def test_unknowable_outcome_stalls_until_the_user_confirms(world: World) -> None:
    world.seed(label="web-1")
    world.fault("UpgradeDeployment", "drop-before", times=1)
    world.fault(
        "ListSubscriptionOperations", "error", status=400, code="BadRequest", message="listing disabled"
    )
    await world.start_controller()
    await world.create("web")

    obj = await world.wait(
        "web", lambda o: condition(o, "Stalled").get("reason") == "OutcomeUnknown", what="OutcomeUnknown"
    )
    intent = obj["status"]["operation"]["intentId"]
    assert f"classic.cloudservices.io/confirm-not-issued={intent}" in condition(obj, "Stalled")["message"]
    assert len(world.requests("UpgradeDeployment")) == 1  # nothing re-issued while unknown

    await world.patch(
        "web", {"metadata": {"annotations": {"classic.cloudservices.io/confirm-not-issued": intent}}}
    )
    obj = await world.wait("web", is_ready, what="Ready after confirmation")
    assert [entry.fault for entry in world.requests("UpgradeDeployment")] == ["drop-before", None]
    assert obj["status"]["history"][0]["result"] == "Abandoned"


@pytest.mark.timeout(20)
async def test_controller_restarted_mid_walk_resumes_without_repeating(world: World) -> None:
    world.seed(label="web-1", configuration=cscfg(web=4), domains=2)
    first = await world.start_controller()
    gate = {"requireReadyInstances": True, "pauseSeconds": 2, "timeoutSeconds": 60}
    await world.create(
        "web", upgrade={"mode": "Manual", "domainGate": gate}, configuration={"inline": cscfg(web=4)}
    )
    await world.wait(
        "web", lambda o: o.get("status", {}).get("walk", {}).get("healthySince"), what="domain 0 done"
    )
    await first.stop()

    await world.start_controller()
    await world.wait("web", is_ready, within=10, what="Ready after the restart")

    assert len(world.requests("UpgradeDeployment")) == 1
    assert len(world.requests("WalkUpgradeDomain")) == 2


@pytest.mark.timeout(30)
async def test_controller_killed_between_intent_and_request_id_recovers_the_request(world: World) -> None:
    """SIGKILL while the upgrade request is on its way: the new controller finds it, issues nothing."""
    world.seed(label="web-1")
    held = world.fault("UpgradeDeployment", "latency", latency_seconds=3.0, times=1)  # held, then processed
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.controller_fixtures", str(world.kube.url),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await world.create("web")
        obj = await world.wait("web", lambda o: operation_phase(o) == "Requesting", what="intent recorded")
        async with asyncio.timeout(10):
            while not held.fired:  # noqa: ASYNC110 - the request reached Azure and is being held
                await asyncio.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    assert operation_phase(obj) == "Requesting"
    assert "requestId" not in obj["status"]["operation"]

    # The held request is processed after the controller died; the new controller must find it.
    reconcile = dataclasses.replace(FAST_RECONCILE, in_flight_seconds=5.0)  # longer than the hold
    await world.start_controller(reconcile=reconcile)
    obj = await world.wait("web", is_ready, within=15, what="Ready after recovery")

    upgrades = world.requests("UpgradeDeployment")
    assert len(upgrades) == 1
    assert obj["status"]["history"][-1]["requestId"] == upgrades[0].request_id.replace("-", "").lower()
    await world.wait_event("web", "IntentAdopted")
