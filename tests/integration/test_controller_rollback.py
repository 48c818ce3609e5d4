"""Rollback: automatic on a failing upgrade (then Stalled, not retried), and on a GitOps revert."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import (  # noqa: E402
    PACKAGE_V1,
    PACKAGE_V2,
    World,
    condition,
    cscfg,
    is_ready,
    phase,
)

GATE = {"requireReadyInstances": True, "pauseSeconds": 0, "timeoutSeconds": 60}


def stalled(obj: dict) -> bool:
    return condition(obj, "Stalled").get("status") == "True"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("mode", ["Manual", "Auto"])
async def test_cycling_package_is_rolled_back_and_not_retried(world: World, mode: str) -> None:
    world.seed(label="web-1", configuration=cscfg(web=4), domains=2)
    world.package_behaviour(PACKAGE_V2, "cycling")
    controller = await world.start_controller()
    upgrade = {"mode": mode, "domainGate": GATE} if mode == "Manual" else {"mode": mode}
    await world.create(
        "web",
        package={"url": PACKAGE_V1},
        configuration={"inline": cscfg(web=4)},
        label="web-1",
        upgrade=upgrade,
    )
    await world.wait("web", is_ready, what="adopted")  # v1 applied by the controller

    await world.patch(
        "web",
        {
            "spec": {
                "package": {"url": PACKAGE_V2},
                "label": "web-2",
                "configuration": {"inline": cscfg(web=4, setting="v2")},
            }
        },
    )
    obj = await world.wait(
        "web",
        lambda o: stalled(o) and condition(o, "Stalled")["reason"] == "RolledBack",
        within=15,
        what="rolled back",
    )

    assert phase(obj) == "Failed"
    assert obj["status"]["deployment"]["label"] == "web-1"  # the previous release is back
    assert {i["status"] for i in obj["status"]["deployment"]["instances"]} == {"ReadyRole"}
    assert obj["status"]["stalledSpecDigest"]
    assert len(world.requests("RollbackDeploymentUpdateOrUpgrade")) == 1
    upgrades = len(world.requests("UpgradeDeployment"))
    assert upgrades == 2  # adoption of v1, then v2: never retried

    await world.patch("web", {"metadata": {"annotations": {"example.com/poke": "1"}}})  # one more pass
    await world.wait_metric(controller, "cso_reconcile_duration_seconds_count", 1, result="Stall")
    assert len(world.requests("UpgradeDeployment")) == upgrades
    await world.wait_event("web", "RolledBack")  # the Stalled warning
    await world.wait_event("web", "RollbackRequested")

    # A new spec is tried again.
    world.package_behaviour(PACKAGE_V2, "healthy")
    await world.patch("web", {"spec": {"label": "web-2b"}})
    fixed = await world.wait("web", is_ready, within=15, what="Ready with the next spec")
    assert "stalledSpecDigest" not in fixed["status"]


@pytest.mark.timeout(20)
async def test_gitops_revert_during_a_manual_walk_rolls_back(world: World) -> None:
    world.seed(label="web-1", configuration=cscfg(web=4), domains=2)
    await world.start_controller()
    v1 = {"package": {"url": PACKAGE_V1}, "configuration": {"inline": cscfg(web=4)}, "label": "web-1"}
    await world.create("web", **v1, upgrade={"mode": "Manual", "domainGate": GATE})
    ready = await world.wait("web", is_ready, within=15, what="v1 adopted")
    v1_digest = ready["status"]["applied"]["specDigest"]

    v2 = {
        "package": {"url": PACKAGE_V2},
        "configuration": {"inline": cscfg(web=4, setting="v2")},
        "label": "web-2",
    }
    slow = {"mode": "Manual", "domainGate": {**GATE, "pauseSeconds": 30}}  # the revert arrives mid-walk
    await world.patch("web", {"spec": {**v2, "upgrade": slow}})
    await world.wait(
        "web",
        lambda o: o.get("status", {}).get("walk", {}).get("healthySince") is not None,
        what="domain 0 walked and healthy",
    )
    await world.patch("web", {"spec": v1})  # the revert (of the content; the gate stays slow)

    obj = await world.wait(
        "web",
        lambda o: is_ready(o) and o["status"]["history"][-1]["kind"] == "Rollback",
        within=15,
        what="reverted",
    )
    assert obj["status"]["deployment"]["label"] == "web-1"
    assert obj["status"]["applied"]["specDigest"] == v1_digest
    assert len(world.requests("RollbackDeploymentUpdateOrUpgrade")) == 1
    assert len(world.requests("WalkUpgradeDomain")) == 3  # 2 for the v1 adoption, 1 for v2
    assert len(world.requests("UpgradeDeployment")) == 2  # no upgrade back: the rollback restored v1
    assert not stalled(obj)


@pytest.mark.timeout(25)
async def test_gitops_revert_during_an_auto_upgrade_rolls_back_without_waiting_for_it(world: World) -> None:
    # In Auto mode the Upgrade operation stays InProgress until the last domain is done: the
    # revert must be acted on while it runs, not after (which would upgrade back a second time).
    world.seed(label="web-1", configuration=cscfg(web=4), domains=4)
    await world.start_controller()
    v1 = {"package": {"url": PACKAGE_V1}, "configuration": {"inline": cscfg(web=4)}, "label": "web-1"}
    await world.create("web", **v1, upgrade={"mode": "Auto"})
    ready = await world.wait("web", is_ready, within=15, what="v1 adopted")
    v1_digest = ready["status"]["applied"]["specDigest"]

    world.control.set_timings({"upgradeDomainSeconds": 1.0})  # v2 takes ~4 s to roll out
    v2 = {
        "package": {"url": PACKAGE_V2},
        "configuration": {"inline": cscfg(web=4, setting="v2")},
        "label": "web-2",
    }
    await world.patch("web", {"spec": v2})
    await world.wait(
        "web",
        lambda o: (
            (o.get("status", {}).get("operation") or {}).get("phase") == "InProgress"
            and o["status"]["operation"]["kind"] == "Upgrade"
            and o["status"].get("deployment", {}).get("upgrade") is not None
        ),
        what="the v2 upgrade rolling out",
    )
    await world.patch("web", {"spec": v1})  # the revert

    obj = await world.wait(
        "web",
        lambda o: is_ready(o) and o["status"]["history"][-1]["kind"] == "Rollback",
        within=15,
        what="reverted",
    )
    assert obj["status"]["deployment"]["label"] == "web-1"
    assert obj["status"]["applied"]["specDigest"] == v1_digest
    assert len(world.requests("RollbackDeploymentUpdateOrUpgrade")) == 1
    assert len(world.requests("UpgradeDeployment")) == 2  # adoption of v1, then v2; never back
    assert any(entry["result"] == "Superseded" for entry in obj["status"]["history"])
    assert not stalled(obj)
