"""The client speaks the wire as the reference describes: URIs, headers, bodies, models out."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from controller.azure import client, errors, wire
from controller.azure.refs import DeploymentRef
from tests.azure_fixtures import (
    ENDPOINT,
    REQUEST_ID,
    SAS_URL,
    SUBSCRIPTION,
    FakeService,
    RecordingObserver,
    accepted,
    make_client,
    xml,
)

pytestmark = pytest.mark.looptime

DATA = Path(__file__).parent.parent / "data" / "wire"
BY_SLOT = DeploymentRef(service="contoso-web", slot="Production")
BY_NAME = DeploymentRef(service="contoso-web", name="7c4d")
SERVICE_PATH = f"/{SUBSCRIPTION}/services/hostedservices/contoso-web"


async def test_get_deployment_by_slot_returns_the_model() -> None:
    service = FakeService([httpx.Response(200, content=(DATA / "reference_deployment.xml").read_bytes())])

    async with make_client(service) as azure:
        deployment = await azure.get_deployment(ref=BY_SLOT)

    assert deployment.label_text == "web-42"
    (request,) = service.requests
    assert request.method == "GET"
    assert str(request.url) == f"{ENDPOINT}{SERVICE_PATH}/deploymentslots/production"
    assert request.headers["x-ms-version"] == "2014-10-01"
    assert request.headers["Accept"] == "application/xml"


async def test_get_deployment_by_name() -> None:
    service = FakeService([xml(wire.Deployment(name="7c4d", deployment_slot="Staging", status="Running"))])

    async with make_client(service) as azure:
        deployment = await azure.get_deployment(ref=BY_NAME)

    assert deployment.deployment_slot == "Staging"
    assert service.requests[0].url.path == f"{SERVICE_PATH}/deployments/7c4d"


async def test_upgrade_posts_the_body_and_returns_the_request_id() -> None:
    service = FakeService([accepted()])
    body = wire.UpgradeDeployment.build(package_url=SAS_URL, configuration="<c/>", label="web-42")

    async with make_client(service) as azure:
        request_id = await azure.upgrade_deployment(ref=BY_SLOT, body=body)

    assert request_id == REQUEST_ID
    (request,) = service.requests
    assert (request.method, request.url.path, request.url.query) == (
        "POST",
        f"{SERVICE_PATH}/deploymentslots/production/",
        b"comp=upgrade",
    )
    assert request.headers["Content-Type"] == "application/xml"
    assert wire.parse(wire.UpgradeDeployment, request.content) == body


async def _change_configuration(azure: client.ServiceManagementClient) -> str:
    body = wire.ChangeConfiguration.build(configuration="<c/>")
    return await azure.change_deployment_configuration(ref=BY_NAME, body=body)


@pytest.mark.parametrize(
    ("invoke", "path", "query", "body"),
    [
        pytest.param(
            _change_configuration,
            f"{SERVICE_PATH}/deployments/7c4d/",
            "comp=config",
            wire.ChangeConfiguration.build(configuration="<c/>").to_bytes(),
            id="change-configuration",
        ),
        pytest.param(
            lambda azure: azure.walk_upgrade_domain(ref=BY_SLOT, upgrade_domain=2),
            f"{SERVICE_PATH}/deploymentslots/production/",
            "comp=walkupgradedomain",
            wire.WalkUpgradeDomain(upgrade_domain=2).to_bytes(),
            id="walk",
        ),
        pytest.param(
            lambda azure: azure.rollback_update_or_upgrade(ref=BY_SLOT, mode="Manual", force=True),
            f"{SERVICE_PATH}/deploymentslots/production/",
            "comp=rollback",
            wire.RollbackUpdateOrUpgrade(mode="Manual", force=True).to_bytes(),
            id="rollback",
        ),
        pytest.param(
            lambda azure: azure.update_deployment_status(ref=BY_SLOT, status="Suspended"),
            f"{SERVICE_PATH}/deploymentslots/production/",
            "comp=status",
            wire.UpdateDeploymentStatus(status="Suspended").to_bytes(),
            id="update-status",
        ),
        pytest.param(
            lambda azure: azure.reimage_role_instance(ref=BY_SLOT, instance="WebRole1_IN_0"),
            f"{SERVICE_PATH}/deploymentslots/production/roleinstances/WebRole1_IN_0",
            "comp=reimage",
            b"",
            id="reimage",
        ),
        pytest.param(
            lambda azure: azure.reboot_role_instance(ref=BY_NAME, instance="WebRole1_IN_1"),
            f"{SERVICE_PATH}/deployments/7c4d/roleinstances/WebRole1_IN_1",
            "comp=reboot",
            b"",
            id="reboot",
        ),
        pytest.param(
            lambda azure: azure.rebuild_role_instance(ref=BY_SLOT, instance="WebRole1_IN_0"),
            f"{SERVICE_PATH}/deploymentslots/production/roleinstances/WebRole1_IN_0",
            "comp=rebuild&resources=allLocalDrives",
            b"",
            id="rebuild",
        ),
    ],
)
async def test_mutating_operations_use_the_documented_uris(
    invoke, path: str, query: str, body: bytes
) -> None:  # type: ignore[no-untyped-def]
    service = FakeService([accepted()])

    async with make_client(service) as azure:
        assert await invoke(azure) == REQUEST_ID

    (request,) = service.requests
    assert (request.method, request.url.path, request.url.query.decode()) == ("POST", path, query)
    assert request.content == body
    assert request.headers["Content-Length"] == str(len(body))
    assert request.headers["Content-Type"] == "application/xml"
    assert request.headers["x-ms-version"] == "2014-10-01"


async def test_rollback_accepts_200() -> None:
    service = FakeService([accepted(status=200)])

    async with make_client(service) as azure:
        assert await azure.rollback_update_or_upgrade(ref=BY_SLOT) == REQUEST_ID


async def test_seeding_operations() -> None:
    hosted = wire.HostedService(service_name="contoso-web")
    service = FakeService([accepted(status=201), accepted(), xml(hosted)])
    create_service = wire.CreateHostedService.build(
        service_name="contoso-web", label="Contoso", location="West US"
    )
    create_deployment = wire.CreateDeployment.build(
        name="d1", package_url=SAS_URL, configuration="<c/>", label="1"
    )

    async with make_client(service) as azure:
        await azure.create_hosted_service(body=create_service)
        await azure.create_deployment(ref=BY_SLOT, body=create_deployment)
        found = await azure.get_hosted_service(service="contoso-web", embed_detail=True)

    assert found.service_name == "contoso-web"
    paths = [(r.method, r.url.path, r.url.query.decode()) for r in service.requests]
    assert paths == [
        ("POST", f"/{SUBSCRIPTION}/services/hostedservices", ""),
        ("POST", f"{SERVICE_PATH}/deploymentslots/production", ""),
        ("GET", SERVICE_PATH, "embed-detail=true"),
    ]
    assert wire.parse(wire.CreateHostedService, service.requests[0].content) == create_service
    assert wire.parse(wire.CreateDeployment, service.requests[1].content) == create_deployment


async def test_create_deployment_needs_a_slot() -> None:
    async with make_client(FakeService([accepted()])) as azure:
        with pytest.raises(ValueError, match="slot"):
            await azure.create_deployment(
                ref=BY_NAME,
                body=wire.CreateDeployment.build(name="d", package_url=SAS_URL, configuration="", label=""),
            )


async def test_get_operation_status() -> None:
    service = FakeService(
        [httpx.Response(200, content=(DATA / "reference_operation_failed.xml").read_bytes())]
    )

    async with make_client(service) as azure:
        operation = await azure.get_operation_status(request_id=REQUEST_ID)

    assert operation.status == wire.FAILED
    assert operation.error is not None
    assert operation.error.code == "ConflictError"
    assert service.requests[0].url.path == f"/{SUBSCRIPTION}/operations/{REQUEST_ID}"


async def test_a_success_without_request_id_is_returned_empty_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with make_client(FakeService([httpx.Response(202)])) as azure:
        assert await azure.reboot_role_instance(ref=BY_SLOT, instance="WebRole1_IN_0") == ""

    assert "without an x-ms-request-id" in caplog.text


async def test_a_malformed_success_body_is_a_malformed_response() -> None:
    service = FakeService([httpx.Response(200, content=b"<html>hello</html>")])

    async with make_client(service) as azure:
        with pytest.raises(errors.MalformedResponseError) as caught:
            await azure.get_deployment(ref=BY_SLOT)

    assert caught.value.status == 200
    assert len(service.requests) == 1


async def test_observer_sees_every_attempt_with_its_outcome() -> None:
    observer = RecordingObserver()
    service = FakeService([httpx.Response(503), accepted()])

    async with make_client(service, observer=observer) as azure:
        await azure.reimage_role_instance(ref=BY_SLOT, instance="WebRole1_IN_0")

    assert [(op, outcome, status) for op, outcome, status, _ in observer.calls] == [
        ("ReimageRoleInstance", "retryable", 503),
        ("ReimageRoleInstance", "success", 202),
    ]
    assert all(seconds >= 0 for *_, seconds in observer.calls)


async def test_a_failing_observer_never_breaks_a_call(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def on_request(self, operation: str, outcome: str, status: int | None, seconds: float) -> None:
            raise RuntimeError("metrics backend down")

    async with make_client(FakeService([accepted()]), observer=Broken()) as azure:
        assert await azure.reboot_role_instance(ref=BY_SLOT, instance="WebRole1_IN_0") == REQUEST_ID

    assert "request observer failed" in caplog.text


def test_endpoint_must_be_https() -> None:
    with pytest.raises(ValueError, match="https"):
        client.ServiceManagementClient(
            endpoint="http://management.example.test",
            subscription_id=SUBSCRIPTION,
            transport=httpx.MockTransport(lambda request: httpx.Response(200)),
        )


def test_credentials_are_required_outside_tests() -> None:
    with pytest.raises(ValueError, match="credentials"):
        client.ServiceManagementClient(endpoint=ENDPOINT, subscription_id=SUBSCRIPTION)


async def test_debug_logs_show_redacted_urls(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="controller.azure")

    async with make_client(FakeService([accepted()])) as azure:
        await azure.reboot_role_instance(ref=BY_SLOT, instance="WebRole1_IN_0")

    assert "roleinstances/WebRole1_IN_0?comp=reboot -> 202" in caplog.text
    json.dumps(caplog.text)  # plain text, nothing exotic
