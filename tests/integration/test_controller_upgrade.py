"""Upgrades end to end: kopf in-process against KubeApiServer and the Azure emulator.

What is asserted is the end state of both worlds: the resource's status and events in
Kubernetes, the deployment and the log of mutating requests in Azure.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import CSDS, PACKAGE_V1, World, condition, cscfg, is_ready, phase  # noqa: E402


@pytest.mark.timeout(20)
async def test_create_upgrades_the_deployment_and_becomes_ready(world: World) -> None:
    world.seed(label="web-1")
    controller = await world.start_controller()
    await world.create("web", label="web-2", configuration={"inline": cscfg(setting="v2")})

    obj = await world.wait("web", is_ready, what="Ready")

    status = obj["status"]
    assert status["phase"] == "Ready"
    assert status["deployment"]["label"] == "web-2"
    assert {i["status"] for i in status["deployment"]["instances"]} == {"ReadyRole"}
    assert status["applied"]["specDigest"]
    assert "operation" not in status
    assert [h["result"] for h in status["history"]] == ["Succeeded"]
    assert condition(obj, "Stalled")["status"] == "False"
    assert condition(obj, "Reconciling")["status"] == "False"
    assert [e.status for e in world.requests("UpgradeDeployment")] == [202]
    await world.wait_event("web", "UpgradeRequested")
    await world.wait_event("web", "OperationSucceeded")
    assert controller.metrics.value("cso_operations_issued_total", kind="Upgrade") == 1
    assert controller.metrics.value("cso_operations_succeeded_total", kind="Upgrade") == 1
    assert controller.metrics.value("cso_resources", phase="Ready") == 1

    # Deleting the resource leaves the deployment alone and lets the object go.
    response = await world.http.delete(f"{CSDS}/web")
    assert response.status_code == 200
    async with asyncio.timeout(10):
        while (await world.http.get(f"{CSDS}/web")).status_code != 404:  # noqa: ASYNC110 - a remote state
            await asyncio.sleep(0.02)
    assert len(world.requests()) == 1  # nothing was sent to Azure for the deletion


@pytest.mark.timeout(20)
async def test_an_idle_resource_is_not_written(world: World) -> None:
    world.seed(label="web-1")
    controller = await world.start_controller()
    await world.create("web")
    ready = await world.wait("web", is_ready, what="Ready")
    await asyncio.sleep(0.3)  # let the last pass settle
    patches = controller.metrics.value("cso_status_patches_total")
    passes = controller.metrics.value("cso_reconcile_duration_seconds_count", result="Nothing")

    for value in ("a", "b", "c"):  # each annotation change wakes the object up for a full pass
        await world.patch("web", {"metadata": {"annotations": {"example.com/poke": value}}})
        await world.wait_metric(
            controller, "cso_reconcile_duration_seconds_count", passes + 1, result="Nothing"
        )
        passes += 1

    assert controller.metrics.value("cso_status_patches_total") == patches
    assert (await world.get("web"))["status"] == ready["status"]
    assert len(world.requests()) == 1  # the one upgrade


@pytest.mark.timeout(20)
async def test_manual_walk_respects_the_domain_gate(world: World) -> None:
    world.seed(label="web-1", configuration=cscfg(web=4), domains=2)
    await world.start_controller()
    gate = {"requireReadyInstances": True, "pauseSeconds": 1, "timeoutSeconds": 60}
    await world.create(
        "web",
        configuration={"inline": cscfg(web=4, setting="v2")},
        upgrade={"mode": "Manual", "domainGate": gate},
    )
    seen: list[tuple[str, str]] = []

    def track(obj: dict[str, Any]) -> bool:
        status = obj.get("status", {})
        seen.append((status.get("phase", ""), status.get("domainProgress", "")))
        return is_ready(obj)

    await world.wait("web", track, within=15, what="Ready after walking")

    walks = world.requests("WalkUpgradeDomain")
    assert [w.status for w in walks] == [202, 202]  # each domain walked once
    assert walks[1].time - walks[0].time >= 1.0  # the soak pause between domains
    assert ("WalkingDomains", "1/2") in seen
    assert len(world.requests("UpgradeDeployment")) == 1


@pytest.mark.timeout(20)
async def test_out_of_band_change_is_repaired_under_manage_and_reported_under_observe(world: World) -> None:
    world.seed(label="web-1")
    world.seed(service="contoso-api", label="api-1")
    await world.start_controller()
    await world.create("web")
    await world.create("api", serviceName="contoso-api", label="api-2")
    await world.wait("web", is_ready, what="web Ready")
    await world.wait("api", is_ready, what="api Ready")
    await world.patch("api", {"spec": {"reconcilePolicy": "Observe"}})
    await world.wait("api", lambda o: phase(o) == "Observing", what="api Observing")

    # Someone upgrades both deployments behind the controller's back; the next pass sees it (a
    # pass comes every syncIntervalSeconds; an annotation brings it forward for the test).
    await world.tamper(service="contoso-web", label="hotfix")
    await world.tamper(service="contoso-api", label="hotfix")
    for name in ("web", "api"):
        await world.patch(name, {"metadata": {"annotations": {"example.com/poke": "1"}}})

    web = await world.wait(
        "web", lambda o: is_ready(o) and len(o["status"]["history"]) == 2, what="web repaired"
    )
    assert web["status"]["deployment"]["label"] == "web-2"
    assert len(world.service_requests("UpgradeDeployment", "contoso-web")) == 3  # adopt, tamper, repair
    api = await world.wait(
        "api",
        lambda o: any("label 'hotfix' -> 'api-2'" in p for p in o["status"].get("plan", [])),
        what="api plan",
    )
    assert len(world.service_requests("UpgradeDeployment", "contoso-api")) == 2  # adopt, tamper: no repair
    assert api["status"]["phase"] == "Observing"
    assert condition(api, "Ready")["status"] == "False"
    assert api["status"]["deployment"]["label"] == "hotfix"  # not repaired
    assert web["status"]["history"][-1]["result"] == "Succeeded"


@pytest.mark.timeout(20)
async def test_suspend_stops_writes_but_keeps_observing(world: World) -> None:
    world.seed(label="web-1")
    await world.start_controller()
    await world.create("web", suspend=True)
    obj = await world.wait("web", lambda o: phase(o) == "Suspended", what="Suspended")
    assert obj["status"]["deployment"]["label"] == "web-1"  # observed
    assert obj["status"]["plan"][0].startswith("Upgrade deployment (Auto)")
    assert world.requests() == []

    await world.patch("web", {"spec": {"suspend": False}})
    await world.wait("web", is_ready, what="Ready after resuming")
    assert len(world.requests("UpgradeDeployment")) == 1


@pytest.mark.timeout(20)
async def test_package_url_from_a_secret_and_configuration_from_a_configmap(world: World) -> None:
    world.seed(label="web-1")
    await world.secret("pkg", {"url": PACKAGE_V1 + "?sv=2022-11-02&sr=b&sig=abc"})
    await world.configmap("cscfg", {"ServiceConfiguration.cscfg": cscfg(setting="v7")})
    await world.start_controller()
    await world.create(
        "web",
        package={"urlSecretRef": {"name": "pkg", "key": "url"}},
        configuration={"configMapRef": {"name": "cscfg", "key": "ServiceConfiguration.cscfg"}},
    )
    await world.wait("web", is_ready, what="Ready")

    # A new configuration in the ConfigMap is picked up at the next pass (no spec change).
    await world.configmap("cscfg", {"ServiceConfiguration.cscfg": cscfg(setting="v8")}, replace=True)
    await world.patch("web", {"metadata": {"annotations": {"example.com/poke": "1"}}})
    await world.wait(
        "web", lambda o: len(o["status"].get("history", [])) == 2 and is_ready(o), what="re-applied"
    )
    assert len(world.accepted("UpgradeDeployment")) == 2
