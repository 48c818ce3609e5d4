"""The Service Management operations over HTTPS, and the documented error of every rule they check."""

from __future__ import annotations

import re

import httpx
import pytest

from controller.azure import wire
from controller.emulator import ops
from controller.emulator.names import OperationName
from controller.emulator.routing import Call, Reply

pytest.register_assert_rewrite("tests.emulator_fixtures")  # before the import below
pytest_plugins = ["tests.emulator_fixtures"]

from tests.emulator_fixtures import (  # noqa: E402
    SERVICE,
    SUBSCRIPTION,
    Sm,
    b64,
    change_configuration_body,
    create_deployment_body,
    create_service_body,
    cscfg,
    element,
    recent_window,
    rollback_body,
    upgrade_body,
    xml,
)

DEPLOYMENT = f"/services/hostedservices/{SERVICE}/deploymentslots/production"
BY_NAME = f"/services/hostedservices/{SERVICE}/deployments/web-1"


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = wire.parse(wire.Error, response.content)
    return response.status_code, body.code, body.message


# -- hosted services -------------------------------------------------------------------------


async def test_create_hosted_service_and_read_its_properties(sm: Sm) -> None:
    response = await sm.post("/services/hostedservices", create_service_body())
    assert response.status_code == 201
    response = await sm.get(f"/services/hostedservices/{SERVICE}")
    service = wire.parse(wire.HostedService, response.content)
    assert service.service_name == SERVICE
    assert service.hosted_service_properties.label_text == "Contoso web"
    assert service.hosted_service_properties.location == "West US"
    assert service.url.endswith(f"/{SUBSCRIPTION}/services/hostedservices/{SERVICE}")
    assert service.deployments == []


async def test_embed_detail_lists_the_deployments(deployed: Sm) -> None:
    plain = wire.parse(
        wire.HostedService, (await deployed.get(f"/services/hostedservices/{SERVICE}")).content
    )
    detailed = await deployed.get(f"/services/hostedservices/{SERVICE}", params={"embed-detail": "true"})
    service = wire.parse(wire.HostedService, detailed.content)
    assert plain.deployments == []
    assert [(dep.name, dep.deployment_slot) for dep in service.deployments] == [("web-1", "Production")]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (create_service_body(name="-bad-"), "BadRequest"),
        (create_service_body(label="x" * 101), "BadRequest"),
        (
            xml(
                "CreateHostedService",
                element("ServiceName", "svc"),
                element("Label", "!!"),
                element("Location", "x"),
            ),
            "BadRequest",
        ),
        (
            xml("CreateHostedService", element("ServiceName", "svc"), element("Label", b64("svc"))),
            "BadRequest",
        ),
        (xml("CreateHostedService", element("Label", b64("svc"))), "InvalidXmlRequest"),
    ],
)
async def test_create_hosted_service_rules(sm: Sm, body: str, code: str) -> None:
    response = await sm.post("/services/hostedservices", body)
    assert error_of(response)[:2] == (400, code)


async def test_hosted_service_names_are_unique_across_subscriptions(sm: Sm) -> None:
    await sm.create_service()
    assert error_of(await sm.post("/services/hostedservices", create_service_body(SERVICE.upper())))[:2] == (
        409,
        "ConflictError",
    )


async def test_delete_hosted_service(deployed: Sm) -> None:
    service = f"/services/hostedservices/{SERVICE}"
    assert error_of(await deployed.delete(service))[:2] == (409, "ConflictError")
    request_id = await deployed.accepted(await deployed.delete(DEPLOYMENT))
    assert (await deployed.wait(request_id)).status == "Succeeded"
    assert (await deployed.delete(service)).status_code == 200
    assert error_of(await deployed.get(service)) == (
        404,
        "ResourceNotFound",
        "The hosted service does not exist.",
    )


async def test_delete_hosted_service_with_media_takes_its_deployments(deployed: Sm) -> None:
    response = await deployed.delete(f"/services/hostedservices/{SERVICE}", params={"comp": "media"})
    assert response.status_code == 202
    assert error_of(await deployed.get(DEPLOYMENT))[0] == 404


# -- create / get / delete deployment ----------------------------------------------------------


async def test_get_deployment_by_slot_and_by_name(deployed: Sm) -> None:
    by_slot = wire.parse(wire.Deployment, (await deployed.get(DEPLOYMENT)).content)
    by_name = wire.parse(wire.Deployment, (await deployed.get(BY_NAME)).content)
    upper = wire.parse(
        wire.Deployment, (await deployed.get(DEPLOYMENT.replace("production", "PRODUCTION"))).content
    )
    assert by_slot.name == by_name.name == upper.name == "web-1"
    assert by_slot.private_id == by_name.private_id
    assert re.fullmatch(r"[0-9a-f]{32}", by_slot.private_id)
    assert by_slot.url == f"http://{SERVICE}.cloudapp.net/"
    assert by_slot.created_time
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", by_slot.created_time)


async def test_a_new_deployment_spreads_instances_over_domains(deployed: Sm) -> None:
    deployment = await deployed.deployment()
    placement = {
        i.instance_name: (i.instance_upgrade_domain, i.instance_fault_domain)
        for i in deployment.role_instance_list
    }
    assert placement == {
        "WebRole1_IN_0": (0, 0),
        "WebRole1_IN_1": (1, 1),
        "WebRole1_IN_2": (2, 0),
        "WebRole1_IN_3": (3, 1),
        "WorkerRole1_IN_0": (0, 0),
        "WorkerRole1_IN_1": (1, 1),
    }
    assert deployment.upgrade_domain_count == 4  # min(5 configured, 4 = largest role)
    assert [role.role_name for role in deployment.role_list] == ["WebRole1", "WorkerRole1"]
    assert {i.instance_status for i in deployment.role_instance_list} == {"ReadyRole"}
    assert {i.power_state for i in deployment.role_instance_list} == {"Started"}
    assert deployment.locked is False
    assert deployment.rollback_allowed is False


async def test_an_empty_slot_and_unknown_names_are_not_found(deployed: Sm) -> None:
    assert error_of(await deployed.get(DEPLOYMENT.replace("production", "staging"))) == (
        404,
        "ResourceNotFound",
        "No deployments were found.",
    )
    assert error_of(await deployed.get(BY_NAME.replace("web-1", "nope")))[:2] == (404, "ResourceNotFound")
    assert error_of(await deployed.get(DEPLOYMENT.replace(SERVICE, "other")))[:2] == (404, "ResourceNotFound")


async def test_a_deployment_created_without_start_is_suspended(sm: Sm) -> None:
    await sm.create_service()
    await sm.deploy(slot="staging", start="false")
    deployment = await sm.deployment(slot="staging")
    assert deployment.status == "Suspended"
    assert {(i.instance_status, i.power_state) for i in deployment.role_instance_list} == {
        ("StoppedVM", "Stopped")
    }
    assert deployment.url == f"http://{deployment.private_id}.cloudapp.net/"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (create_deployment_body(configuration="<ServiceConfiguration/>"), 400, "BadRequest"),
        (create_deployment_body().replace(b64(cscfg(WebRole1=4, WorkerRole1=2)), "%%%"), 400, "BadRequest"),
        (create_deployment_body(package="ftp://x/y.cspkg"), 400, "BadRequest"),
        (create_deployment_body(name="a/b"), 400, "BadRequest"),
        (create_deployment_body(properties={"1bad": "x"}), 400, "BadRequest"),
        ("<CreateDeployment", 400, "InvalidXmlRequest"),
    ],
)
async def test_create_deployment_rules(sm: Sm, body: str, status: int, code: str) -> None:
    await sm.create_service()
    assert error_of(await sm.post(DEPLOYMENT, body))[:2] == (status, code)
    assert error_of(await sm.get(DEPLOYMENT))[0] == 404  # nothing was created


async def test_a_slot_holds_one_deployment_and_names_are_unique(deployed: Sm) -> None:
    assert error_of(await deployed.post(DEPLOYMENT, create_deployment_body(name="web-2")))[:2] == (
        409,
        "ConflictError",
    )
    staging = DEPLOYMENT.replace("production", "staging")
    assert error_of(await deployed.post(staging, create_deployment_body(name="web-1")))[:2] == (
        409,
        "ConflictError",
    )


async def test_delete_deployment(deployed: Sm) -> None:
    request_id = await deployed.accepted(await deployed.delete(BY_NAME))
    assert (await deployed.wait(request_id)).status == "Succeeded"
    assert error_of(await deployed.get(DEPLOYMENT))[2] == "No deployments were found."


# -- upgrade / change configuration --------------------------------------------------------------


async def test_an_upgrade_changes_package_label_configuration_and_properties(deployed: Sm) -> None:
    configuration = cscfg(WebRole1=4, WorkerRole1=2, os_family="7")
    body = upgrade_body(configuration=configuration, label="web-2", properties={"Owner": "shop"})
    request_id = await deployed.accepted(await deployed.upgrade(body))
    assert (await deployed.wait(request_id)).status == "Succeeded"
    deployment = await deployed.deployment()
    assert deployment.label_text == "web-2"
    assert deployment.configuration_text == configuration
    assert deployment.extended_properties_dict == {"Owner": "shop"}
    assert deployment.upgrade_status is None
    assert deployment.status == "Running"
    assert {role.os_version for role in deployment.role_list} == {"WA-GUEST-OS-7.41_202402-01"}


async def test_extended_properties_merge_and_a_null_value_deletes(deployed: Sm) -> None:
    first = await deployed.accepted(
        await deployed.upgrade(upgrade_body(properties={"Owner": "shop", "Tier": "web"}))
    )
    await deployed.wait(first)
    second = await deployed.accepted(
        await deployed.upgrade(upgrade_body(properties={"Owner": None, "Cost": "42"}))
    )
    await deployed.wait(second)
    assert (await deployed.deployment()).extended_properties_dict == {"Cost": "42", "Tier": "web"}


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        (upgrade_body(properties={f"P{i}": "v" for i in range(26)}), "BadRequest", "At most 25"),
        (upgrade_body(properties={"bad-name": "v"}), "BadRequest", "bad-name"),
        (upgrade_body(properties={"A" * 65: "v"}), "BadRequest", "64"),
        (upgrade_body(properties={"Big": "v" * 256}), "BadRequest", "255"),
        (upgrade_body(label="x" * 101), "BadRequest", "100"),
        (upgrade_body().replace(b64("web-2"), "not base64!"), "BadRequest", "Label"),
        (upgrade_body(configuration="<nope/>"), "BadRequest", "service configuration"),
        (upgrade_body(mode="Sometimes"), "BadRequest", "Mode"),
        (upgrade_body(force=None), "BadRequest", "Force"),
        (upgrade_body(role="NoSuchRole"), "BadRequest", "RoleToUpgrade"),
        (upgrade_body(configuration=cscfg(WebRole1=4)), "BadRequest", "Force"),
        (upgrade_body(force="sometimes"), "InvalidXmlRequest", "force"),
        (
            "<UpgradeDeployment xmlns='http://schemas.microsoft.com/windowsazure'><Mode>Auto",
            "InvalidXmlRequest",
            "",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><UpgradeDeployment/>',
            "InvalidXmlRequest",
            "DTD",
        ),
        (
            xml("ChangeConfiguration", element("Configuration", b64(cscfg(WebRole1=1)))),
            "InvalidXmlRequest",
            "UpgradeDeployment",
        ),
    ],
)
async def test_upgrade_rules(deployed: Sm, body: str, code: str, fragment: str) -> None:
    status, actual_code, message = error_of(await deployed.upgrade(body))
    assert (status, actual_code) == (400, code)
    assert fragment in message
    deployment = await deployed.deployment()
    assert deployment.label_text == "web-1"  # a rejected request changes nothing
    assert deployment.upgrade_status is None


async def test_removing_a_role_needs_force(deployed: Sm) -> None:
    request_id = await deployed.accepted(
        await deployed.upgrade(upgrade_body(configuration=cscfg(WebRole1=4), force="true"))
    )
    assert (await deployed.wait(request_id)).status == "Succeeded"
    assert {i.role_name for i in (await deployed.deployment()).role_instance_list} == {"WebRole1"}


async def test_elements_newer_than_the_requested_version_are_bad_requests(deployed: Sm) -> None:
    old = {"x-ms-version": "2012-03-01"}
    response = await deployed.upgrade(upgrade_body(mode="Simultaneous"), headers=old)
    assert error_of(response)[:2] == (400, "BadRequest")
    response = await deployed.upgrade(
        upgrade_body(properties={"A": "b"}), headers={"x-ms-version": "2011-10-01"}
    )
    assert error_of(response)[:2] == (400, "BadRequest")
    extension = (
        "<ExtensionConfiguration><AllRoles><Extension><Id>RDP</Id><State>Enable</State></Extension>"
        "</AllRoles></ExtensionConfiguration>"
    )
    response = await deployed.upgrade(upgrade_body(extra=extension), headers={"x-ms-version": "2014-02-01"})
    assert error_of(response)[2].endswith("requires x-ms-version 2014-06-01 or later.")
    response = await deployed.upgrade(upgrade_body(force=None), headers={"x-ms-version": "2011-06-01"})
    assert response.status_code == 202  # Force became required with 2011-10-01


async def test_extension_configuration_is_applied_and_reported(deployed: Sm) -> None:
    extension = (
        "<ExtensionConfiguration><AllRoles><Extension><Id>RDPExt</Id><State>Enable</State></Extension></AllRoles>"
        "<NamedRoles><Role><RoleName>WebRole1</RoleName><Extensions><Extension><Id>DiagExt</Id></Extension>"
        "</Extensions></Role></NamedRoles></ExtensionConfiguration>"
    )
    await deployed.wait(await deployed.accepted(await deployed.upgrade(upgrade_body(extra=extension))))
    applied = (await deployed.deployment()).extension_configuration
    assert applied is not None
    assert [ext.id for ext in applied.all_roles] == ["RDPExt"]
    assert [(role.role_name, [e.id for e in role.extensions]) for role in applied.named_roles] == [
        ("WebRole1", ["DiagExt"])
    ]
    unknown_role = extension.replace("<RoleName>WebRole1", "<RoleName>Nope")
    assert error_of(await deployed.upgrade(upgrade_body(extra=unknown_role)))[:2] == (400, "BadRequest")
    bad_state = extension.replace("<State>Enable", "<State>Maybe")
    assert error_of(await deployed.upgrade(upgrade_body(extra=bad_state)))[:2] == (400, "BadRequest")


async def test_change_configuration_rolls_the_new_configuration(deployed: Sm) -> None:
    configuration = cscfg(WebRole1=5, WorkerRole1=2)
    response = await deployed.post(
        f"{DEPLOYMENT}/?comp=config", change_configuration_body(configuration, properties={"A": "1"})
    )
    await deployed.wait(await deployed.accepted(response))
    deployment = await deployed.deployment()
    assert deployment.configuration_text == configuration
    assert deployment.label_text == "web-1"  # a configuration change keeps the label
    assert deployment.extended_properties_dict == {"A": "1"}
    assert len(deployment.role_instance_list) == 7
    assert deployment.upgrade_domain_count == 5


async def test_change_configuration_rules(deployed: Sm) -> None:
    path = f"{BY_NAME}?comp=config"
    assert error_of(await deployed.post(path, change_configuration_body(cscfg(WebRole1=2))))[:2] == (
        400,
        "BadRequest",
    )
    old = {"x-ms-version": "2011-06-01"}
    response = await deployed.post(
        path, change_configuration_body(cscfg(WebRole1=4, WorkerRole1=2)), headers=old
    )
    assert error_of(response)[2] == "The element or value 'Mode' requires x-ms-version 2011-08-01 or later."
    response = await deployed.post(
        path, change_configuration_body(cscfg(WebRole1=4, WorkerRole1=2), mode=None), headers=old
    )
    assert response.status_code == 202  # Mode is optional: Auto


# -- walk / rollback / status / instances ------------------------------------------------------------


async def test_walking_without_a_manual_update_or_out_of_order_is_a_bad_request(deployed: Sm) -> None:
    assert error_of(await deployed.walk(0))[:2] == (400, "BadRequest")
    await deployed.wait(await deployed.accepted(await deployed.upgrade(upgrade_body(mode="Manual"))))
    assert (
        error_of(await deployed.walk(1))[2]
        == "Upgrade domain 1 cannot be walked now; walk upgrade domain 0 next."
    )
    assert error_of(await deployed.walk(7))[2] == "Upgrade domain 7 does not exist in this deployment."
    bad = xml("WalkUpgradeDomain", element("UpgradeDomain", "first"))
    assert error_of(await deployed.post(f"{DEPLOYMENT}/?comp=walkupgradedomain", bad))[:2] == (
        400,
        "InvalidXmlRequest",
    )
    assert (await deployed.walk(0)).status_code == 202


async def test_rollback_without_an_update_is_a_bad_request(deployed: Sm) -> None:
    status, code, message = error_of(await deployed.rollback())
    assert (status, code) == (400, "BadRequest")
    assert message.startswith("Rollback is not allowed")
    assert error_of(await deployed.rollback(rollback_body(mode="Simultaneous")))[:2] == (400, "BadRequest")


async def test_rollback_answers_200_and_is_trackable(deployed: Sm) -> None:
    await deployed.wait(await deployed.accepted(await deployed.upgrade(upgrade_body(mode="Manual"))))
    request_id = await deployed.accepted(await deployed.rollback(), status=200)
    assert (await deployed.wait(request_id)).status == "Succeeded"
    assert (await deployed.deployment()).label_text == "web-1"


async def test_update_deployment_status_suspends_and_resumes(deployed: Sm) -> None:
    suspend = xml("UpdateDeploymentStatus", element("Status", "Suspended"))
    await deployed.wait(await deployed.accepted(await deployed.post(f"{BY_NAME}/?comp=status", suspend)))
    deployment = await deployed.deployment()
    assert deployment.status == "Suspended"
    assert {i.instance_status for i in deployment.role_instance_list} == {"StoppedVM"}
    resume = xml("UpdateDeploymentStatus", element("Status", "Running"))
    await deployed.wait(await deployed.accepted(await deployed.post(f"{BY_NAME}/?comp=status", resume)))
    assert (await deployed.deployment()).status == "Running"
    invalid = xml("UpdateDeploymentStatus", element("Status", "Paused"))
    assert error_of(await deployed.post(f"{BY_NAME}/?comp=status", invalid))[:2] == (400, "BadRequest")


@pytest.mark.parametrize(
    ("query", "operation"),
    [
        ("comp=reboot", "RebootRoleInstance"),
        ("comp=reimage", "ReimageRoleInstance"),
        ("comp=rebuild&resources=allLocalDrives", "RebuildRoleInstance"),
    ],
)
async def test_role_instance_operations(deployed: Sm, query: str, operation: str) -> None:
    response = await deployed.post(
        f"{BY_NAME}/roleinstances/WebRole1_IN_2?{query}", headers={"Content-Length": "0"}
    )
    assert (await deployed.wait(await deployed.accepted(response))).status == "Succeeded"
    listing = await deployed.get("/operations", params=recent_window())
    listing_body = wire.parse(wire.SubscriptionOperationCollection, listing.content)
    [last] = [op for op in listing_body.subscription_operations if op.operation_name == operation]
    assert last.parameters()["RoleInstanceName"] == "WebRole1_IN_2"


async def test_role_instance_errors(deployed: Sm) -> None:
    unknown = await deployed.post(f"{DEPLOYMENT}/roleinstances/WebRole1_IN_9?comp=reboot")
    assert error_of(unknown)[:2] == (404, "ResourceNotFound")
    no_resources = await deployed.post(f"{DEPLOYMENT}/roleinstances/WebRole1_IN_0?comp=rebuild")
    assert error_of(no_resources)[:2] == (400, "MissingOrInvalidRequiredQueryParameter")
    old = await deployed.post(
        f"{DEPLOYMENT}/roleinstances/WebRole1_IN_0?comp=rebuild&resources=allLocalDrives",
        headers={"x-ms-version": "2013-03-01"},
    )
    assert error_of(old)[:2] == (400, "MissingOrIncorrectVersionHeader")


# -- operations ------------------------------------------------------------------------------


async def test_operation_status_bodies(deployed: Sm) -> None:
    request_id = await deployed.accepted(await deployed.upgrade(upgrade_body()))
    body = (await deployed.get(f"/operations/{request_id}")).text
    assert "<Error" not in body
    dashed = wire.dashed_request_id(request_id)
    assert f"<ID>{dashed}</ID>" in body
    assert (await deployed.get(f"/operations/{dashed}")).status_code == 200
    assert error_of(await deployed.get("/operations/" + "0" * 32))[:2] == (404, "ResourceNotFound")


async def test_list_subscription_operations_filters(deployed: Sm) -> None:
    await deployed.wait(await deployed.accepted(await deployed.upgrade(upgrade_body())))
    window = recent_window()
    collection = await _operations(deployed, window)
    assert [op.operation_name for op in collection] == [
        "CreateHostedService",
        "CreateDeployment",
        "UpgradeDeployment",
    ]
    upgrade = collection[-1]
    assert upgrade.operation_object_id == f"/{SUBSCRIPTION}/services/hostedservices/{SERVICE}"
    assert upgrade.parameters() == {"DeploymentName": "web-1", "DeploymentSlot": "Production", "Mode": "Auto"}
    assert upgrade.operation_status.status == "Succeeded"
    assert upgrade.operation_status.http_status_code == 200
    assert upgrade.operation_caller is not None
    assert re.fullmatch(r"[0-9A-F]{40}", upgrade.operation_caller.subscription_certificate_thumbprint or "")
    assert upgrade.operation_caller.client_ip == "127.0.0.1"
    by_object = await _operations(
        deployed, {**window, "ObjectIdFilter": f"/{SUBSCRIPTION}/services/hostedservices/{SERVICE}/"}
    )
    assert len(by_object) == 3
    assert (
        await _operations(
            deployed, {**window, "ObjectIdFilter": f"/{SUBSCRIPTION}/services/hostedservices/x"}
        )
        == []
    )
    assert await _operations(deployed, {**window, "OperationResultFilter": "Failed"}) == []
    assert len(await _operations(deployed, {**window, "OperationResultFilter": "succeeded"})) == 3
    assert (
        await _operations(
            deployed, {"StartTime": "2999-01-01T00:00:00Z", "EndTime": "2999-12-31T23:59:59.1234567Z"}
        )
        == []
    )


async def _operations(sm: Sm, params: dict[str, str]) -> list[wire.SubscriptionOperation]:
    response = await sm.get("/operations", params=params)
    assert response.status_code == 200, response.text
    return wire.parse(wire.SubscriptionOperationCollection, response.content).subscription_operations


async def test_list_subscription_operations_pages(deployed: Sm, admin: httpx.AsyncClient) -> None:
    assert (await admin.put("/settings", json={"operationsPageSize": 2})).status_code == 200
    for _ in range(2):
        await deployed.wait(await deployed.accepted(await deployed.upgrade(upgrade_body())))
    seen: list[str] = []
    params = recent_window()
    while True:
        response = await deployed.get("/operations", params=params)
        page = wire.parse(wire.SubscriptionOperationCollection, response.content)
        assert len(page.subscription_operations) <= 2
        seen += [op.operation_name for op in page.subscription_operations]
        if page.continuation_token is None:
            break
        params = {**params, "ContinuationToken": page.continuation_token}
    assert seen == ["CreateHostedService", "CreateDeployment", "UpgradeDeployment", "UpgradeDeployment"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"EndTime": "2999-01-01"}, "StartTime"),
        ({"StartTime": "2999-01-01"}, "EndTime"),
        ({"StartTime": "yesterday", "EndTime": "2999-01-01"}, "StartTime"),
        ({"StartTime": "2999-02-30", "EndTime": "2999-03-01"}, "StartTime"),
        ({"StartTime": "2999-01-01T25:00:00Z", "EndTime": "2999-03-01"}, "StartTime"),
        ({"StartTime": "2999-01-02", "EndTime": "2999-01-01"}, "EndTime must not be earlier"),
        ({"StartTime": "2000-01-01", "EndTime": "2000-02-01"}, "90 days"),
        (
            {"StartTime": "2999-01-01", "EndTime": "2999-01-02", "OperationResultFilter": "Done"},
            "OperationResultFilter",
        ),
        (
            {"StartTime": "2999-01-01", "EndTime": "2999-01-02", "ContinuationToken": "garbage"},
            "ContinuationToken",
        ),
    ],
)
async def test_list_subscription_operations_validates_its_parameters(
    sm: Sm, params: dict[str, str], fragment: str
) -> None:
    status, code, message = error_of(await sm.get("/operations", params=params))
    assert (status, code) == (400, "MissingOrInvalidRequiredQueryParameter")
    assert fragment in message


# -- common conventions --------------------------------------------------------------------------


async def test_every_response_carries_the_service_headers(deployed: Sm) -> None:
    responses = [
        await deployed.get(DEPLOYMENT),
        await deployed.get(DEPLOYMENT.replace("production", "staging")),
        await deployed.upgrade(upgrade_body()),
        await deployed.get(DEPLOYMENT, headers={"x-ms-version": ""}),
    ]
    request_ids = [response.headers["x-ms-request-id"] for response in responses]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in request_ids)
    assert len(set(request_ids)) == len(request_ids)
    for response in responses:
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["Server"].endswith("Microsoft-HTTPAPI/2.0")
        assert response.headers["x-ms-servedbyregion"]
        assert response.headers["Date"].endswith("GMT")
    assert responses[0].headers["Content-Type"] == "application/xml; charset=utf-8"
    assert responses[2].status_code == 202
    assert responses[2].headers["Content-Length"] == "0"


@pytest.mark.parametrize("version", [None, "", "2014/10/01", "v2"])
async def test_a_missing_or_garbled_version_header_is_rejected(deployed: Sm, version: str | None) -> None:
    headers = {} if version is None else {"x-ms-version": version}
    client = deployed.client
    if version is None:
        client.headers.pop("x-ms-version")
    response = await client.get(deployed.path(DEPLOYMENT), headers=headers)
    assert error_of(response)[:2] == (400, "MissingOrIncorrectVersionHeader")


async def test_an_operation_older_than_its_minimum_version_is_rejected(deployed: Sm) -> None:
    response = await deployed.post(
        f"{DEPLOYMENT}/?comp=rollback", rollback_body(), headers={"x-ms-version": "2011-08-01"}
    )
    status, code, message = error_of(response)
    assert (status, code) == (400, "MissingOrIncorrectVersionHeader")
    assert "2011-10-01" in message


async def test_uri_forms_verbs_and_comp(deployed: Sm) -> None:
    assert (await deployed.upgrade(upgrade_body())).status_code == 202
    no_slash = await deployed.post(f"{BY_NAME}?comp=upgrade", upgrade_body())
    assert no_slash.status_code == 202
    assert error_of(await deployed.client.put(deployed.path(DEPLOYMENT)))[:2] == (400, "InvalidHttpVerb")
    assert error_of(await deployed.post(f"{DEPLOYMENT}/?comp=upgradee", upgrade_body()))[:2] == (
        400,
        "MissingOrInvalidRequiredQueryParameter",
    )
    assert error_of(await deployed.get("/services/storageservices"))[:2] == (404, "ResourceNotFound")
    assert error_of(await deployed.get("/services/hostedservices"))[:2] == (501, "NotImplemented")


async def test_any_xml_content_type_is_accepted(deployed: Sm) -> None:
    response = await deployed.upgrade(
        upgrade_body(), headers={"Content-Type": "application/atom+xml;type=entry;charset=utf-8"}
    )
    assert response.status_code == 202


async def test_an_oversized_body_is_a_bad_request(deployed: Sm) -> None:
    response = await deployed.upgrade(upgrade_body(extra="<X>" + "a" * (4 * 1024 * 1024) + "</X>"))
    assert error_of(response)[:2] == (400, "InvalidXmlRequest")


async def test_an_unexpected_failure_is_a_500_internal_error_without_details(
    deployed: Sm, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(call: Call, emulator: object) -> Reply:
        raise RuntimeError("secret internal detail")

    monkeypatch.setitem(ops.HANDLERS, OperationName.GET_DEPLOYMENT, broken)
    response = await deployed.get(DEPLOYMENT)
    assert error_of(response)[:2] == (500, "InternalError")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert "secret internal detail" in caplog.text
