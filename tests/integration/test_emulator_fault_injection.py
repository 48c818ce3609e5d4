"""Fault injection: errors, latency, connections dropped before or after processing, by operation,
target, count and rate — and the request log that proves what the emulator received."""

from __future__ import annotations

import random
import time

import httpx
import pytest

from controller.azure import wire

pytest.register_assert_rewrite("tests.emulator_fixtures")  # before the import below
pytest_plugins = ["tests.emulator_fixtures"]

from tests.emulator_fixtures import (  # noqa: E402
    SERVICE,
    Sm,
    recent_window,
    upgrade_body,
)


async def add_fault(admin: httpx.AsyncClient, **rule: object) -> dict[str, object]:
    response = await admin.post("/faults", json=rule)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def requests_log(admin: httpx.AsyncClient, **filters: str) -> list[dict[str, object]]:
    response = await admin.get("/requests", params=filters)
    assert response.status_code == 200
    return list(response.json()["requests"])


async def test_an_error_fault_answers_with_its_error_and_changes_nothing(
    deployed: Sm, admin: httpx.AsyncClient
) -> None:
    await add_fault(
        admin,
        operation="UpgradeDeployment",
        kind="error",
        status=503,
        code="ServerBusy",
        message="busy",
        times=2,
    )
    for _ in range(2):
        response = await deployed.upgrade(upgrade_body(label="web-2"))
        assert response.status_code == 503
        assert wire.parse(wire.Error, response.content) == wire.Error(code="ServerBusy", message="busy")
        assert response.headers["x-ms-request-id"]
    assert (await deployed.deployment()).label_text == "web-1"
    assert (
        await deployed.get(f"/services/hostedservices/{SERVICE}/deploymentslots/production")
    ).status_code == 200
    assert (await deployed.upgrade(upgrade_body(label="web-2"))).status_code == 202  # the rule is used up
    log = await requests_log(admin, operation="UpgradeDeployment")
    assert [(entry["status"], entry["errorCode"], entry["fault"]) for entry in log] == [
        (503, "ServerBusy", "error"),
        (503, "ServerBusy", "error"),
        (202, None, None),
    ]
    faults = (await admin.get("/faults")).json()["faults"]
    assert faults[0]["fired"] == 2
    assert faults[0]["remaining"] == 0


async def test_a_fault_can_target_one_service(deployed: Sm, admin: httpx.AsyncClient) -> None:
    await deployed.create_service("other-svc")
    await deployed.deploy(service="other-svc")
    await add_fault(admin, operation="*", target="other-svc", kind="error", status=500, code="InternalError")
    assert (await deployed.upgrade(upgrade_body())).status_code == 202
    assert (await deployed.upgrade(upgrade_body(), service="other-svc")).status_code == 500
    response = await deployed.get("/services/hostedservices/other-svc/deploymentslots/production")
    assert response.status_code == 500  # '*' covers reads too
    slot_target = await add_fault(
        admin,
        operation="GetDeployment",
        target=f"{SERVICE}/production",
        kind="error",
        status=429,
        code="TooManyRequests",
    )
    assert (
        await deployed.get(f"/services/hostedservices/{SERVICE}/deploymentslots/production")
    ).status_code == 429
    assert (await admin.delete(f"/faults/{slot_target['id']}")).status_code == 204
    assert (await admin.delete("/faults/nope")).status_code == 404
    assert (
        await deployed.get(f"/services/hostedservices/{SERVICE}/deploymentslots/production")
    ).status_code == 200


async def test_a_rate_fires_reproducibly_with_a_seed(deployed: Sm, admin: httpx.AsyncClient) -> None:
    await add_fault(admin, operation="GetDeployment", kind="error", status=500, rate=0.5, seed=7)
    outcomes = [
        (await deployed.get(f"/services/hostedservices/{SERVICE}/deploymentslots/production")).status_code
        == 500
        for _ in range(20)
    ]
    expected_rng = random.Random(7)
    assert outcomes == [expected_rng.random() < 0.5 for _ in range(20)]
    assert 0 < sum(outcomes) < 20


async def test_latency_delays_then_processes(deployed: Sm, admin: httpx.AsyncClient) -> None:
    await add_fault(admin, operation="UpgradeDeployment", kind="latency", latency_seconds=0.2, times=1)
    started = time.monotonic()
    response = await deployed.upgrade(upgrade_body(label="web-2"))
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 202
    await deployed.wait(response.headers["x-ms-request-id"])
    assert (await deployed.deployment()).label_text == "web-2"


async def test_a_connection_dropped_before_processing_leaves_no_trace_but_the_log(
    deployed: Sm, admin: httpx.AsyncClient
) -> None:
    await add_fault(admin, operation="UpgradeDeployment", kind="drop-before", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await deployed.upgrade(upgrade_body(label="web-2"))
    assert (await deployed.deployment()).label_text == "web-1"
    operations = await deployed.get("/operations", params=recent_window())
    names = [
        op.operation_name
        for op in wire.parse(wire.SubscriptionOperationCollection, operations.content).subscription_operations
    ]
    assert "UpgradeDeployment" not in names
    [entry] = await requests_log(admin, operation="UpgradeDeployment")
    assert (entry["status"], entry["fault"]) == (None, "drop-before")


async def test_a_connection_dropped_after_processing_is_the_outcome_unknown_case(
    deployed: Sm, admin: httpx.AsyncClient
) -> None:
    await add_fault(admin, operation="UpgradeDeployment", target="web-1", kind="drop-after", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await deployed.upgrade(upgrade_body(label="web-2"))
    # The client never saw a request id; the service did the work. Recovery: list the operations.
    operations = await deployed.get(
        "/operations",
        params={
            **recent_window(),
            "ObjectIdFilter": f"/{deployed.subscription}/services/hostedservices/{SERVICE}",
        },
    )
    collection = wire.parse(wire.SubscriptionOperationCollection, operations.content)
    [upgrade] = [op for op in collection.subscription_operations if op.operation_name == "UpgradeDeployment"]
    assert upgrade.operation_status.status == "Succeeded"
    assert (await deployed.deployment()).label_text == "web-2"
    [entry] = await requests_log(admin, operation="UpgradeDeployment")
    assert (entry["status"], entry["fault"], entry["requestId"]) == (None, "drop-after", upgrade.operation_id)


async def test_fault_rules_are_validated_listed_and_cleared(deployed: Sm, admin: httpx.AsyncClient) -> None:
    assert (await admin.post("/faults", json={"kind": "explode"})).status_code == 400
    assert (await admin.post("/faults", json={"kind": "error", "rate": 2})).status_code == 400
    assert (await admin.post("/faults", json={"kind": "error", "times": 0})).status_code == 400
    assert (await admin.post("/faults", content=b"{not json")).status_code == 400
    await add_fault(admin, kind="latency", latency_seconds=0.01)
    await add_fault(admin, kind="error", operation="WalkUpgradeDomain")
    assert len((await admin.get("/faults")).json()["faults"]) == 2
    assert (await admin.delete("/faults")).status_code == 204
    assert (await admin.get("/faults")).json()["faults"] == []


async def test_a_request_re_sent_after_errors_takes_effect_once(
    deployed: Sm, admin: httpx.AsyncClient
) -> None:
    """What the Go SDK does (re-send a POST on any error answer): only the accepted copy counts."""
    await add_fault(
        admin, operation="UpgradeDeployment", kind="error", status=503, code="ServerBusy", times=3
    )
    statuses = []
    while not statuses or statuses[-1] != 202:
        statuses.append((await deployed.upgrade(upgrade_body(label="web-2"))).status_code)
    assert statuses == [503, 503, 503, 202]
    await admin.put("/timings", json={"acceptSeconds": 3600})
    assert (await deployed.upgrade(upgrade_body(label="web-3"))).status_code == 202
    assert (
        await deployed.upgrade(upgrade_body(label="web-3"))
    ).status_code == 409  # a duplicate while Locked
    records = (await admin.get("/operations", params={"operation": "UpgradeDeployment"})).json()["operations"]
    assert len(records) == 2
    assert len(await requests_log(admin, operation="UpgradeDeployment")) == 6
    assert (await deployed.deployment()).label_text == "web-3"
