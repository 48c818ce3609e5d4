"""Microsoft's legacy Python SDK (azure-servicemanagement-legacy 0.20.8) against the emulator.

The SDK does not know it talks to an emulator: it is given the emulator's `host:port` and a
`requests.Session` that trusts the emulator CA and presents the management certificate. The
session ignores the environment (`trust_env=False`): otherwise `REQUESTS_CA_BUNDLE` would silently
override `session.verify` (a requests quirk) and proxies could capture loopback traffic.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import pytest
import requests
from azure.servicemanagement import ServiceManagementService
from azure.servicemanagement.models import AzureAsyncOperationHttpError

from controller.emulator import control
from controller.emulator.server import EmulatorServer

pytest.register_assert_rewrite("tests.emulator_fixtures")  # before the import below
pytest_plugins = ["tests.emulator_fixtures"]

from tests.emulator_fixtures import PACKAGE_V1, PACKAGE_V2, SUBSCRIPTION, cscfg  # noqa: E402

SERVICE = "sdk-web"
NAME = "sdk-web-1"
# The SDK pastes values into XML without escaping them, so a SAS URL's '&' must be escaped by the
# caller (the service parses XML strictly, as the emulator does).
SAS_PACKAGE = PACKAGE_V2.replace("&", "&amp;")
T = TypeVar("T")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Sdk:
    """Runs the blocking SDK in a thread so the emulator keeps serving on the test's loop."""

    def __init__(self, service: ServiceManagementService) -> None:
        self.service = service

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(self.service, method), *args, **kwargs)

    async def wait(self, result: Any, expected: str = "Succeeded") -> Any:
        """Follow an asynchronous operation to its end with the SDK's own helper."""
        return await asyncio.to_thread(
            self.service.wait_for_operation_status,
            result.request_id,
            wait_for_status=expected,
            timeout=10,
            sleep_interval=0.01,
            progress_callback=None,
            success_callback=None,
        )

    async def run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call an asynchronous operation and wait for it to succeed."""
        return await self.wait(await self(method, *args, **kwargs))


@pytest.fixture
async def sdk(emulator: EmulatorServer) -> AsyncIterator[Sdk]:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emulator.ca_path)
    session.cert = str(emulator.management_pem_path(SUBSCRIPTION))
    service = ServiceManagementService(
        SUBSCRIPTION,
        cert_file=str(emulator.management_pem_path(SUBSCRIPTION)),
        host=emulator.url.removeprefix("https://"),
        request_session=session,
    )
    yield Sdk(service)
    session.close()


async def deploy(sdk: Sdk, **roles: int) -> None:
    await sdk.run("create_hosted_service", SERVICE, "SDK web", location="West US")
    await sdk.run(
        "create_deployment",
        SERVICE,
        "production",
        NAME,
        PACKAGE_V1,
        "sdk v1",
        b64(cscfg(**(roles or {"WebRole1": 3, "WorkerRole1": 2}))),  # the SDK does not encode Configuration
        start_deployment=True,
        extended_properties={"Owner": "sdk"},
    )


async def test_create_read_and_upgrade_in_every_mode(sdk: Sdk) -> None:
    await deploy(sdk)
    deployment = await sdk("get_deployment_by_slot", SERVICE, "production")
    assert (deployment.name, deployment.deployment_slot, deployment.status) == (NAME, "Production", "Running")
    assert deployment.label == "sdk v1"
    assert deployment.extended_properties == {"Owner": "sdk"}
    assert [i.instance_name for i in deployment.role_instance_list] == [
        "WebRole1_IN_0",
        "WebRole1_IN_1",
        "WebRole1_IN_2",
        "WorkerRole1_IN_0",
        "WorkerRole1_IN_1",
    ]
    assert {i.instance_status for i in deployment.role_instance_list} == {"ReadyRole"}
    assert int(deployment.upgrade_domain_count) == 3

    await sdk.run(
        "upgrade_deployment",
        SERVICE,
        NAME,
        "Auto",
        SAS_PACKAGE,
        b64(cscfg(WebRole1=3, WorkerRole1=2)),
        "sdk v2",
        False,
    )
    await sdk.run(
        "upgrade_deployment",
        SERVICE,
        NAME,
        "Simultaneous",
        PACKAGE_V1,
        b64(cscfg(WebRole1=3, WorkerRole1=2)),
        "sdk v3",
        False,
    )
    await sdk.run(
        "upgrade_deployment",
        SERVICE,
        NAME,
        "Manual",
        SAS_PACKAGE,
        b64(cscfg(WebRole1=3, WorkerRole1=2)),
        "sdk v4",
        False,
        role_to_upgrade="WebRole1",
        extended_properties={"Owner": "team"},
    )
    pending = await sdk("get_deployment_by_name", SERVICE, NAME)
    assert (pending.upgrade_status.upgrade_type, pending.upgrade_status.current_upgrade_domain_state) == (
        "Manual",
        "Before",
    )
    for domain in range(3):
        await sdk.run("walk_upgrade_domain", SERVICE, NAME, domain)
    deployment = await sdk("get_deployment_by_name", SERVICE, NAME)
    assert deployment.label == "sdk v4"
    assert deployment.extended_properties == {"Owner": "team"}
    assert deployment.upgrade_status is None  # absent: the update is over
    assert deployment.status == "Running"


async def test_configuration_instances_rollback_and_operations(sdk: Sdk) -> None:
    await deploy(sdk)
    await sdk.run(
        "change_deployment_configuration", SERVICE, NAME, b64(cscfg(WebRole1=4, WorkerRole1=2)), mode="Auto"
    )
    for operation in ("reboot_role_instance", "reimage_role_instance", "rebuild_role_instance"):
        await sdk.run(operation, SERVICE, NAME, "WebRole1_IN_3")

    await sdk.run(
        "upgrade_deployment",
        SERVICE,
        NAME,
        "Manual",
        SAS_PACKAGE,
        b64(cscfg(WebRole1=4, WorkerRole1=2)),
        "sdk v2",
        False,
    )
    await sdk.run("walk_upgrade_domain", SERVICE, NAME, 0)
    rolling = await sdk("get_deployment_by_slot", SERVICE, "production")
    assert rolling.rollback_allowed is True
    await sdk.run("rollback_update_or_upgrade", SERVICE, NAME, "Auto", False)
    deployment = await sdk("get_deployment_by_slot", SERVICE, "production")
    assert deployment.label == "sdk v1"
    assert deployment.rollback_allowed is False

    await sdk.run("update_deployment_status", SERVICE, NAME, "Suspended")
    assert (await sdk("get_deployment_by_slot", SERVICE, "production")).status == "Suspended"

    today = datetime.datetime.now(datetime.UTC).date()
    operations = await sdk(
        "list_subscription_operations",
        start_time=(today - datetime.timedelta(days=1)).isoformat(),
        end_time=(today + datetime.timedelta(days=1)).isoformat(),
        object_id_filter=f"/{SUBSCRIPTION}/services/hostedservices/{SERVICE}",
        operation_result_filter="Succeeded",
    )
    names = [operation.operation_name for operation in operations.subscription_operations]
    assert names == [
        "CreateHostedService",
        "CreateDeployment",
        "ChangeDeploymentConfiguration",
        "RebootRoleInstance",
        "ReimageRoleInstance",
        "RebuildRoleInstance",
        "UpgradeDeployment",
        "WalkUpgradeDomain",
        "RollbackDeploymentUpdateOrUpgrade",
        "UpdateDeploymentStatus",
    ]
    reimage = operations.subscription_operations[4]
    assert reimage.operation_parameters["RoleInstanceName"] == "WebRole1_IN_3"
    assert reimage.operation_status.status == "Succeeded"
    assert len(reimage.operation_caller.subscription_certificate_thumbprint) == 40

    service = await sdk("get_hosted_service_properties", SERVICE, embed_detail=True)
    assert [deployment.name for deployment in service.deployments] == [NAME]
    await sdk.run("delete_deployment", SERVICE, NAME)
    await sdk("delete_hosted_service", SERVICE)
    with pytest.raises(Exception, match="The hosted service does not exist"):
        await sdk("get_hosted_service_properties", SERVICE)


async def test_a_failed_upgrade_surfaces_through_the_sdk(sdk: Sdk, emulator: EmulatorServer) -> None:
    await deploy(sdk)
    emulator.control.set_package(
        control.PackageInput(package_url=PACKAGE_V2, behaviour="failing", error_code="RoleStartupFailed")
    )
    result = await sdk(
        "upgrade_deployment",
        SERVICE,
        NAME,
        "Auto",
        SAS_PACKAGE,
        b64(cscfg(WebRole1=3, WorkerRole1=2)),
        "bad",
        False,
    )
    with pytest.raises(AzureAsyncOperationHttpError) as failure:
        await sdk.wait(result)
    assert failure.value.result.error.code == "RoleStartupFailed"
    assert (await sdk("get_deployment_by_slot", SERVICE, "production")).rollback_allowed is True


async def test_sdk_errors_carry_the_service_error(sdk: Sdk) -> None:
    await sdk.run("create_hosted_service", SERVICE, "SDK web", location="West US")
    with pytest.raises(Exception, match="No deployments were found") as failure:
        await sdk("get_deployment_by_slot", SERVICE, "staging")
    assert type(failure.value).__name__ == "AzureMissingResourceHttpError"
