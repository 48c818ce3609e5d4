"""Reimage: once per generation, one instance at a time, never during an upgrade."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import World, cscfg, is_ready  # noqa: E402


@pytest.mark.timeout(20)
async def test_reimage_of_one_instance_happens_exactly_once(world: World) -> None:
    world.seed(label="web-1", configuration=cscfg(web=4), domains=2)
    controller = await world.start_controller()
    await world.create("web", configuration={"inline": cscfg(web=4, setting="v2")})
    await world.wait("web", is_ready, what="Ready")

    await world.patch("web", {"spec": {"reimage": {"WebRole1_IN_1": 1}}})
    obj = await world.wait(
        "web", lambda o: is_ready(o) and o["status"].get("reimage") == {"WebRole1_IN_1": 1}, what="reimaged"
    )
    # More passes (a spec change elsewhere, pokes) do not reimage again.
    await world.patch("web", {"metadata": {"annotations": {"example.com/poke": "1"}}})
    await world.patch("web", {"spec": {"syncIntervalSeconds": 20}})
    await world.wait("web", lambda o: is_ready(o) and o["metadata"]["generation"] == 3, what="still Ready")

    reimages = world.requests("ReimageRoleInstance")
    assert len(reimages) == 1
    assert "webrole1_in_1" in {alias.lower() for alias in reimages[0].aliases}
    assert obj["status"]["history"][-1]["kind"] == "Reimage"
    assert controller.metrics.value("cso_operations_issued_total", kind="Reimage") == 1


@pytest.mark.timeout(20)
async def test_reimages_requested_with_an_upgrade_wait_for_it_and_go_one_at_a_time(world: World) -> None:
    world.seed(label="web-1", configuration=cscfg(web=4), domains=2)
    await world.start_controller()
    await world.create(
        "web",
        configuration={"inline": cscfg(web=4, setting="v2")},
        reimage={"WebRole1_IN_0": 1, "WebRole1_IN_3": 1},
    )
    await world.wait(
        "web", lambda o: is_ready(o) and len(o["status"].get("reimage", {})) == 2, within=15, what="reimaged"
    )

    requests = world.requests()
    operations = [entry.operation for entry in requests]
    assert operations == ["UpgradeDeployment", "ReimageRoleInstance", "ReimageRoleInstance"]
    reimaged = [sorted(a.lower() for a in entry.aliases if "_in_" in a.lower()) for entry in requests[1:]]
    assert reimaged == [["webrole1_in_0"], ["webrole1_in_3"]]  # upgrade domain 0 first, then 1
    assert all(entry.status == 202 for entry in requests)  # no 409: never two at once
