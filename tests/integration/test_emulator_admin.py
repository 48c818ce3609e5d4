"""The admin API: authentication, seeding, state, request log, packages, timings, clock, reset."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from controller.emulator.server import EmulatorServer

pytest.register_assert_rewrite("tests.emulator_fixtures")  # before the import below
pytest_plugins = ["tests.emulator_fixtures"]

from tests.emulator_fixtures import (  # noqa: E402
    PACKAGE_V1,
    PACKAGE_V2,
    SERVICE,
    SUBSCRIPTION,
    VERSION,
    Sm,
    client_context,
    cscfg,
    upgrade_body,
)

SEED = {
    "hostedServices": [
        {
            "name": SERVICE,
            "label": "Contoso",
            "deployments": [
                {
                    "slot": "Production",
                    "name": "web-1",
                    "packageUrl": PACKAGE_V1,
                    "configuration": cscfg(WebRole1=3),
                    "label": "web-1",
                    "extendedProperties": {"Owner": "shop"},
                    "instanceSize": "Medium",
                },
                {
                    "slot": "staging",
                    "packageUrl": PACKAGE_V1,
                    "configuration": cscfg(WebRole1=1),
                    "status": "Suspended",
                },
            ],
        }
    ]
}


def certificate_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic abc", "Bearer"])
async def test_the_admin_api_needs_the_token(emulator: EmulatorServer, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient(base_url=emulator.url, verify=client_context(emulator, None)) as client:
        response = await client.get("/emulator/state", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert len(response.headers["x-ms-request-id"]) == 32


async def test_the_token_is_in_the_state_dir_with_owner_only_permissions(emulator: EmulatorServer) -> None:
    path = emulator.state_dir / "admin-token"
    assert path.read_text().strip() == emulator.admin_token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_seeding_creates_steady_deployments(admin: httpx.AsyncClient, sm: Sm) -> None:
    response = await admin.post("/seed", json=SEED)
    assert response.status_code == 201, response.text
    production = await sm.deployment()
    assert production.label_text == "web-1"
    assert production.extended_properties_dict == {"Owner": "shop"}
    assert {(i.instance_status, i.instance_size) for i in production.role_instance_list} == {
        ("ReadyRole", "Medium")
    }
    staging = await sm.deployment(slot="staging")
    assert staging.status == "Suspended"
    assert len(staging.name) == 32
    state = (await admin.get("/state")).json()
    [subscription] = [s for s in state["subscriptions"] if s["subscriptionId"] == SUBSCRIPTION]
    [service] = subscription["hostedServices"]
    assert [(d["slot"], d["status"]) for d in service["deployments"]] == [
        ("Production", "Running"),
        ("Staging", "Suspended"),
    ]
    assert service["deployments"][0]["instances"][0] == {
        "name": "WebRole1_IN_0",
        "role": "WebRole1",
        "status": "ReadyRole",
        "powerState": "Started",
        "upgradeDomain": 0,
        "faultDomain": 0,
        "revision": service["deployments"][0]["revision"],
    }
    assert (await admin.post("/seed", json=SEED)).status_code == 409  # the slots are taken now


@pytest.mark.parametrize(
    ("seed", "status"),
    [
        (
            {
                "hostedServices": [
                    {"name": "x", "deployments": [{"packageUrl": "u", "configuration": "<bad/>"}]}
                ]
            },
            400,
        ),
        ({"hostedServices": [{"name": "x", "deployments": [{"configuration": cscfg(A=1)}]}]}, 400),
        (
            {
                "hostedServices": [
                    {
                        "name": "x",
                        "deployments": [{"packageUrl": "u", "configuration": cscfg(A=1), "slot": "qa"}],
                    }
                ]
            },
            400,
        ),
        ({"unknown": 1}, 400),
    ],
)
async def test_invalid_seeds_are_refused(
    admin: httpx.AsyncClient, seed: dict[str, object], status: int
) -> None:
    response = await admin.post("/seed", json=seed)
    assert response.status_code == status
    assert response.json()["error"]["message"]


async def test_adding_a_subscription_issues_a_working_certificate(
    emulator: EmulatorServer, admin: httpx.AsyncClient
) -> None:
    new = "11111111-2222-4333-8444-555555555555"
    response = await admin.post("/subscriptions", json={"subscriptionId": new})
    assert response.status_code == 201
    [certificate] = response.json()["certificates"]
    path = Path(certificate["path"])
    assert path == emulator.management_pem_path(new)
    assert oct(certificate_mode(path)) == oct(0o600)
    assert b"PRIVATE KEY" in emulator.management_pem(new)
    async with httpx.AsyncClient(
        base_url=emulator.url, verify=client_context(emulator, new), headers={"x-ms-version": VERSION}
    ) as client:
        response = await client.get(f"/{new}/services/hostedservices/none")
    assert response.status_code == 404  # authenticated; the service just does not exist
    listed = (await admin.get("/subscriptions")).json()["subscriptions"]
    assert new in [entry["subscriptionId"] for entry in listed]
    assert (await admin.post("/subscriptions", json={"subscriptionId": "../etc"})).status_code == 400


async def test_the_request_log_records_and_filters_mutating_requests(
    deployed: Sm, admin: httpx.AsyncClient
) -> None:
    await deployed.upgrade(upgrade_body())
    await deployed.upgrade(upgrade_body(), service="nope")
    await deployed.get(
        f"/services/hostedservices/{SERVICE}/deploymentslots/production"
    )  # reads are not logged
    everything = await admin.get("/requests")
    operations = [entry["operation"] for entry in everything.json()["requests"]]
    assert operations == ["CreateHostedService", "CreateDeployment", "UpgradeDeployment", "UpgradeDeployment"]
    upgrades = (
        await admin.get("/requests", params={"operation": "UpgradeDeployment", "status": "202"})
    ).json()
    [upgrade] = upgrades["requests"]
    assert upgrade["method"] == "POST"
    assert upgrade["query"] == "comp=upgrade"
    assert upgrade["path"].endswith("/deploymentslots/production/")
    assert len(upgrade["requestId"]) == 32
    by_name = (await admin.get("/requests", params={"target": "web-1"})).json()["requests"]
    assert [entry["operation"] for entry in by_name] == ["UpgradeDeployment"]
    failed = (await admin.get("/requests", params={"code": "ResourceNotFound"})).json()["requests"]
    assert [entry["status"] for entry in failed] == [404]
    since = (await admin.get("/requests", params={"since": str(upgrade["sequence"])})).json()["requests"]
    assert len(since) == 1
    assert (await admin.delete("/requests")).status_code == 204
    assert (await admin.get("/requests")).json()["requests"] == []


async def test_operations_can_be_listed_through_the_admin_api(deployed: Sm, admin: httpx.AsyncClient) -> None:
    records = (await admin.get("/operations", params={"operation": "CreateDeployment"})).json()["operations"]
    [record] = records
    assert record["status"] == "Succeeded"
    assert record["parameters"] == {"DeploymentName": "web-1", "DeploymentSlot": "Production"}


async def test_package_behaviours(admin: httpx.AsyncClient) -> None:
    response = await admin.put(
        "/packages", json={"packageUrl": PACKAGE_V2, "behaviour": "failing", "errorCode": "X"}
    )
    assert response.status_code == 200
    packages = (await admin.get("/packages")).json()["packages"]
    assert packages == [
        {
            "packageUrl": PACKAGE_V2.split("?")[0],
            "behaviour": "failing",
            "errorStatus": 400,
            "errorCode": "X",
            "errorMessage": packages[0]["errorMessage"],
        }
    ]
    assert (
        await admin.put("/packages", json={"packageUrl": PACKAGE_V2, "behaviour": "flaky"})
    ).status_code == 400
    assert (await admin.delete("/packages")).status_code == 204
    assert (await admin.get("/packages")).json()["packages"] == []


async def test_timings_clock_and_settings(admin: httpx.AsyncClient) -> None:
    assert (await admin.get("/timings")).json()["instanceStepSeconds"] == 0.0
    response = await admin.put("/timings", json={"instanceStepSeconds": 2.5})
    assert response.json()["instanceStepSeconds"] == 2.5
    assert (await admin.put("/timings", json={"instanceStepSeconds": -1})).status_code == 400
    assert (await admin.put("/timings", json={"bogus": 1})).status_code == 400
    assert (await admin.put("/timings", json=[1])).status_code == 400
    frozen = (await admin.post("/clock", json={"frozen": True})).json()
    assert frozen["frozen"] is True
    moved = (await admin.post("/clock", json={"advanceSeconds": 3600})).json()
    assert moved["now"] > frozen["now"]
    assert (await admin.post("/clock", json={"advanceSeconds": -1})).status_code == 400
    assert (await admin.get("/settings")).json() == {"operationsPageSize": 100}
    assert (await admin.put("/settings", json={"operationsPageSize": 0})).status_code == 400


async def test_time_travel_moves_progression(
    emulator: EmulatorServer, deployed: Sm, admin: httpx.AsyncClient
) -> None:
    await admin.put(
        "/timings", json={"acceptSeconds": 100, "instanceStepSeconds": 100, "upgradeDomainSeconds": 100}
    )
    request_id = await deployed.accepted(await deployed.upgrade(upgrade_body()))
    assert (await deployed.deployment()).locked is True
    await admin.post("/clock", json={"advanceSeconds": 100 + 4 * 600 + 3 * 100})
    assert (await deployed.operation(request_id)).status == "Succeeded"


async def test_reset_empties_the_emulator_but_keeps_subscriptions(
    deployed: Sm, admin: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"kind": "latency", "latencySeconds": 0.01})
    await admin.put("/timings", json={"acceptSeconds": 5})
    assert (await admin.post("/reset")).status_code == 204
    state = (await admin.get("/state")).json()
    assert all(sub["hostedServices"] == [] for sub in state["subscriptions"])
    assert state["timings"]["acceptSeconds"] == 0.0
    assert (await admin.get("/faults")).json()["faults"] == []
    assert (await admin.get("/requests")).json()["requests"] == []
    response = await deployed.get(f"/services/hostedservices/{SERVICE}")
    assert response.status_code == 404  # still authenticated: the subscription survived


async def test_unknown_admin_endpoints(admin: httpx.AsyncClient) -> None:
    response = await admin.get("/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


async def test_admin_output_never_shows_a_sas_signature(deployed: Sm, admin: httpx.AsyncClient) -> None:
    await deployed.wait(await deployed.accepted(await deployed.upgrade(upgrade_body(package=PACKAGE_V2))))
    state = (await admin.get("/state")).text
    assert "web-2.cspkg?REDACTED" in state
    assert "sig=" not in state
    assert "sig=" not in (await admin.get("/requests")).text
