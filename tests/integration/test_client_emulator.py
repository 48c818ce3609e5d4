"""The client against the project's emulator over HTTPS, with injected faults.

What is proven here is the end state of the world, read from the emulator's own records (its log
of mutating requests and its operation records), not the client's view of it: a write the
service answered is never duplicated, a refused write is re-sent until accepted, and a write
whose answer was lost surfaces as `OutcomeUnknownError`, after which List Subscription Operations
tells whether it happened.

Time: the emulator runs with instant timings; the client's retry waits are recorded, not slept.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.azure import client, credentials, errors, limits, retry, wire
from controller.azure.refs import DeploymentRef
from controller.emulator.server import EmulatorServer
from controller.emulator.timings import Timings

SUBSCRIPTION = "9f0c6a0e-1111-2222-3333-444455556666"
OTHER_SUBSCRIPTION = "0b1d2c3e-aaaa-bbbb-cccc-ddddeeeeffff"
SERVICE = "contoso-web"
REF = DeploymentRef(service=SERVICE, slot="Production")
PACKAGE = "https://acct.blob.core.windows.net/pkgs/web-{}.cspkg?sv=2022-11-02&sr=b&sp=r&sig=SECRET"
CSCFG = (
    '<ServiceConfiguration serviceName="contoso-web" '
    'xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration">'
    '<Role name="WebRole1"><Instances count="4" /></Role></ServiceConfiguration>'
)
POLICY = retry.RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=4.0, max_elapsed=60.0)


class Waits:
    """The client's sleep: records each wait and yields once, so no test time passes for real.

    `clock` is the matching clock: real time plus every wait "slept", so a limit that waits for a
    moment on the clock (a Retry-After hold-off) sees it arrive at once instead of spinning.
    """

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)

    def clock(self) -> float:
        return time.monotonic() + sum(self.delays)


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(
        tmp_path / "emulator", subscriptions=[SUBSCRIPTION, OTHER_SUBSCRIPTION], timings=Timings.instant()
    ) as server:
        yield server


@pytest.fixture
async def admin(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """The emulator's admin API (JSON, bearer token), as a test drives it."""
    context = ssl.create_default_context(cadata=emulator.ca_pem.decode())
    async with httpx.AsyncClient(
        base_url=f"{emulator.url}/emulator",
        verify=context,
        headers={"Authorization": f"Bearer {emulator.admin_token}"},
    ) as http:
        yield http


@pytest.fixture
def waits() -> Waits:
    return Waits()


def _client(
    emulator: EmulatorServer, waits: Waits, subscription: str = SUBSCRIPTION
) -> client.ServiceManagementClient:
    return client.ServiceManagementClient(
        endpoint=emulator.url,
        subscription_id=SUBSCRIPTION,
        credentials=credentials.ManagementCredentials.from_pem_bundle(emulator.management_pem(subscription)),
        ca_pem=emulator.ca_pem,
        retry_policy=POLICY,
        # The limits' own waits (a Retry-After pause) go through `waits` too: no real time passes.
        limits_registry=limits.LimitsRegistry(
            limits.LimitSettings(rate=1000.0, burst=1000), clock=waits.clock, sleep=waits
        ),
        sleep=waits,
    )


@pytest.fixture
async def azure(emulator: EmulatorServer, waits: Waits) -> AsyncIterator[client.ServiceManagementClient]:
    async with _client(emulator, waits) as service_management:
        yield service_management


@pytest.fixture
async def seeded(admin: httpx.AsyncClient) -> None:
    """A running deployment of 4 instances over 4 upgrade domains, label web-41."""
    deployment = {
        "slot": "Production",
        "name": "d41",
        "label": "web-41",
        "packageUrl": PACKAGE.format(41),
        "configuration": CSCFG,
    }
    seed = {
        "hostedServices": [{"subscriptionId": SUBSCRIPTION, "name": SERVICE, "deployments": [deployment]}]
    }
    response = await admin.post("/seed", json=seed)
    assert response.status_code == 201, response.text


async def _fault(admin: httpx.AsyncClient, **rule: Any) -> None:
    response = await admin.post("/faults", json=rule)
    assert response.status_code == 201, response.text


async def _requests(admin: httpx.AsyncClient, operation: str) -> list[dict[str, Any]]:
    response = await admin.get("/requests", params={"operation": operation})
    entries: list[dict[str, Any]] = response.json()["requests"]
    return entries


async def _operations(azure: client.ServiceManagementClient, name: str) -> list[wire.SubscriptionOperation]:
    now = datetime.datetime.now(datetime.UTC)
    listed = await azure.list_subscription_operations(
        start=now - datetime.timedelta(hours=1),
        end=now + datetime.timedelta(hours=1),
        object_id=REF.service_path(SUBSCRIPTION),
    )
    return [operation for operation in listed if operation.operation_name == name]


def _upgrade(label: int, mode: str = "Auto") -> wire.UpgradeDeployment:
    return wire.UpgradeDeployment.build(
        package_url=PACKAGE.format(label), configuration=CSCFG, label=f"web-{label}", mode=mode
    )


async def test_seeding_and_a_manual_upgrade_walk(azure: client.ServiceManagementClient) -> None:
    await azure.create_hosted_service(
        body=wire.CreateHostedService.build(service_name=SERVICE, label="Contoso", location="West US")
    )
    created = await azure.create_deployment(
        ref=REF,
        body=wire.CreateDeployment.build(
            name="d41", package_url=PACKAGE.format(41), configuration=CSCFG, label="web-41"
        ),
    )
    assert (
        await azure.wait_for_operation(request_id=created, poll_interval=0.01, timeout=10)
    ).status == wire.SUCCEEDED
    deployment = await azure.get_deployment(ref=REF)
    assert (deployment.label_text, deployment.status) == ("web-41", "Running")

    upgrade = await azure.upgrade_deployment(ref=REF, body=_upgrade(42, mode="Manual"))
    await azure.wait_for_operation(request_id=upgrade, poll_interval=0.01, timeout=10, raise_on_failure=True)
    for domain in range(deployment.upgrade_domain_count):
        walk = await azure.walk_upgrade_domain(ref=REF, upgrade_domain=domain)
        await azure.wait_for_operation(request_id=walk, poll_interval=0.01, timeout=10, raise_on_failure=True)

    upgraded = await azure.get_deployment(ref=REF)
    assert (upgraded.label_text, upgraded.status, upgraded.upgrade_status) == ("web-42", "Running", None)
    assert upgraded.configuration_text.startswith("<ServiceConfiguration")
    service = await azure.get_hosted_service(service=SERVICE, embed_detail=True)
    assert service.hosted_service_properties.label_text == "Contoso"
    assert [operation.operation_name for operation in await _operations(azure, "WalkUpgradeDomain")] == [
        "WalkUpgradeDomain"
    ] * deployment.upgrade_domain_count


@pytest.mark.usefixtures("seeded")
async def test_instance_operations_and_rollback(azure: client.ServiceManagementClient) -> None:
    for operate in (azure.reboot_role_instance, azure.reimage_role_instance, azure.rebuild_role_instance):
        request_id = await operate(ref=REF, instance="WebRole1_IN_1")
        assert (
            await azure.wait_for_operation(request_id=request_id, poll_interval=0.01, timeout=10)
        ).status == (wire.SUCCEEDED)
    await azure.upgrade_deployment(ref=REF, body=_upgrade(42, mode="Manual"))
    assert (await azure.get_deployment(ref=REF)).rollback_allowed is True

    await azure.rollback_update_or_upgrade(ref=REF, mode="Auto", force=False)

    deployment = await azure.get_deployment(ref=REF)
    assert deployment.label_text == "web-41"


@pytest.mark.usefixtures("seeded")
async def test_a_503_burst_on_an_upgrade_converges_to_exactly_one_accepted_upgrade(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient, waits: Waits
) -> None:
    await _fault(admin, operation="UpgradeDeployment", kind="error", status=503, code="ServerBusy", times=3)

    request_id = await azure.upgrade_deployment(ref=REF, body=_upgrade(42))

    log = await _requests(admin, "UpgradeDeployment")
    assert [entry["status"] for entry in log] == [503, 503, 503, 202]
    assert log[-1]["requestId"] == request_id
    assert len(waits.delays) == 3
    assert [operation.operation_id for operation in await _operations(azure, "UpgradeDeployment")] == [
        request_id
    ]


@pytest.mark.usefixtures("seeded")
async def test_throttling_is_retried_until_accepted(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient
) -> None:
    await _fault(
        admin, operation="ReimageRoleInstance", kind="error", status=429, code="TooManyRequests", times=2
    )

    await azure.reimage_role_instance(ref=REF, instance="WebRole1_IN_0")

    assert [entry["status"] for entry in await _requests(admin, "ReimageRoleInstance")] == [429, 429, 202]
    assert len(await _operations(azure, "ReimageRoleInstance")) == 1


@pytest.mark.usefixtures("seeded")
async def test_throttling_waits_at_least_what_retry_after_asks(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient, waits: Waits
) -> None:
    await _fault(
        admin,
        operation="ReimageRoleInstance",
        kind="error",
        status=429,
        code="TooManyRequests",
        retryAfterSeconds=3,
        times=1,
    )

    await azure.reimage_role_instance(ref=REF, instance="WebRole1_IN_0")

    assert [entry["status"] for entry in await _requests(admin, "ReimageRoleInstance")] == [429, 202]
    assert waits.delays
    assert max(waits.delays) >= 3


@pytest.mark.usefixtures("seeded")
async def test_a_500_on_a_write_is_outcome_unknown_and_never_re_sent(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient
) -> None:
    await _fault(
        admin, operation="UpgradeDeployment", kind="error", status=500, code="InternalError", times=1
    )

    with pytest.raises(errors.OutcomeUnknownError) as caught:
        await azure.upgrade_deployment(ref=REF, body=_upgrade(42))

    assert "InternalError" in str(caught.value)
    assert [entry["status"] for entry in await _requests(admin, "UpgradeDeployment")] == [500]
    assert await _operations(azure, "UpgradeDeployment") == []  # the caller's lookup: not taken


@pytest.mark.usefixtures("seeded")
async def test_a_conflict_is_surfaced_after_one_attempt(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient
) -> None:
    await _fault(
        admin, operation="WalkUpgradeDomain", kind="error", status=409, code="ConflictError", times=1
    )
    await azure.upgrade_deployment(ref=REF, body=_upgrade(42, mode="Manual"))

    with pytest.raises(errors.ConflictError) as caught:
        await azure.walk_upgrade_domain(ref=REF, upgrade_domain=0)

    assert caught.value.request_id
    assert len(await _requests(admin, "WalkUpgradeDomain")) == 1


@pytest.mark.usefixtures("seeded")
async def test_a_locked_deployment_answers_conflict(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient
) -> None:
    response = await admin.put("/timings", json={"acceptSeconds": 600})
    assert response.status_code == 200, response.text
    await azure.upgrade_deployment(ref=REF, body=_upgrade(42))

    with pytest.raises(errors.ConflictError):
        await azure.change_deployment_configuration(
            ref=REF, body=wire.ChangeConfiguration.build(configuration=CSCFG)
        )

    assert [entry["status"] for entry in await _requests(admin, "ChangeDeploymentConfiguration")] == [409]


@pytest.mark.usefixtures("seeded")
async def test_a_write_dropped_before_processing_is_unknown_and_the_listing_shows_it_did_not_happen(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient
) -> None:
    await _fault(admin, operation="UpgradeDeployment", kind="drop-before", times=1)

    with pytest.raises(errors.OutcomeUnknownError):
        await azure.upgrade_deployment(ref=REF, body=_upgrade(42))

    assert [entry["status"] for entry in await _requests(admin, "UpgradeDeployment")] == [None]
    assert await _operations(azure, "UpgradeDeployment") == []
    # Knowing it did not happen, the caller issues it again: exactly one upgrade is taken.
    request_id = await azure.upgrade_deployment(ref=REF, body=_upgrade(42))
    assert [operation.operation_id for operation in await _operations(azure, "UpgradeDeployment")] == [
        request_id
    ]


@pytest.mark.usefixtures("seeded")
async def test_a_write_dropped_after_processing_is_unknown_and_the_listing_shows_it_happened(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient
) -> None:
    await _fault(admin, operation="UpgradeDeployment", kind="drop-after", times=1)

    with pytest.raises(errors.OutcomeUnknownError) as caught:
        await azure.upgrade_deployment(ref=REF, body=_upgrade(42))

    assert caught.value.operation == "UpgradeDeployment"
    log = await _requests(admin, "UpgradeDeployment")
    assert [entry["status"] for entry in log] == [None]  # one request, no answer, never re-sent
    (taken,) = await _operations(azure, "UpgradeDeployment")
    assert taken.parameters()["DeploymentSlot"] == "Production"
    assert (await azure.get_deployment(ref=REF)).label_text == "web-42"


@pytest.mark.usefixtures("seeded")
async def test_reads_survive_drops_and_bursts(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient
) -> None:
    await _fault(admin, operation="GetDeployment", kind="drop-before", times=1)
    await _fault(admin, operation="GetDeployment", kind="error", status=503, code="ServerBusy", times=2)
    await _fault(admin, operation="GetDeployment", kind="drop-after", times=1)

    deployment = await azure.get_deployment(ref=REF)

    assert deployment.label_text == "web-41"
    faults = (await admin.get("/faults")).json()["faults"]
    assert [rule["fired"] for rule in faults] == [1, 2, 1]


@pytest.mark.usefixtures("seeded")
async def test_listing_follows_continuation_tokens_across_pages(
    azure: client.ServiceManagementClient, admin: httpx.AsyncClient
) -> None:
    response = await admin.put("/settings", json={"operationsPageSize": 2})
    assert response.status_code == 200, response.text
    issued = [
        await azure.reboot_role_instance(ref=REF, instance=f"WebRole1_IN_{index}") for index in range(4)
    ]
    issued.append(await azure.reimage_role_instance(ref=REF, instance="WebRole1_IN_0"))

    listed = await _operations(azure, "RebootRoleInstance") + await _operations(azure, "ReimageRoleInstance")

    assert sorted(operation.operation_id for operation in listed) == sorted(issued)


async def test_a_certificate_of_another_subscription_is_forbidden(
    emulator: EmulatorServer, waits: Waits
) -> None:
    async with _client(emulator, waits, subscription=OTHER_SUBSCRIPTION) as stranger:
        with pytest.raises(errors.ForbiddenError) as caught:
            await stranger.get_deployment(ref=REF)

    assert caught.value.code == "ForbiddenError"
    assert waits.delays == []


@pytest.mark.usefixtures("seeded")
async def test_unknown_slot_and_instance_are_not_found(azure: client.ServiceManagementClient) -> None:
    with pytest.raises(errors.NotFoundError):
        await azure.get_deployment(ref=DeploymentRef(service=SERVICE, slot="Staging"))
    with pytest.raises(errors.NotFoundError):
        await azure.reboot_role_instance(ref=REF, instance="WebRole1_IN_99")
