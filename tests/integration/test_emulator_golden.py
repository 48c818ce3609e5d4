"""Golden documents from the reference (tests/data/wire/emulator_*.xml) against the emulator.

Requests: the emulator accepts each documented request body as is. Responses: the emulator's
documents contain the documented elements, in the documented order, and nothing undocumented —
except where a documented element cannot carry a value in the emulator (listed below with why).
"""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path

import pytest
from lxml import etree

from controller.azure import wire
from controller.emulator import control
from controller.emulator.server import EmulatorServer

pytest.register_assert_rewrite("tests.emulator_fixtures")  # before the import below
pytest_plugins = ["tests.emulator_fixtures"]

from tests.emulator_fixtures import SERVICE, Sm, recent_window  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "wire"
DEPLOYMENT = f"/services/hostedservices/{SERVICE}/deploymentslots/production"

# Endpoints come from the service definition (.csdef) inside the package, which the emulator never
# sees, and an empty InstanceStateDetails / LoadBalancers / SubnetNames carries nothing.
PACKAGE_DEFINED = {
    "RoleInstanceList/RoleInstance/InstanceStateDetails",
    "RoleInstanceList/RoleInstance/InstanceEndpoints",
    "RoleInstanceList/RoleInstance/InstanceEndpoints/InstanceEndpoint",
    *(
        f"RoleInstanceList/RoleInstance/InstanceEndpoints/InstanceEndpoint/{name}"
        for name in ("Name", "Vip", "PublicPort", "LocalPort", "Protocol")
    ),
    "RoleList/Role/ConfigurationSets/ConfigurationSet/InputEndpoints",
    "RoleList/Role/ConfigurationSets/ConfigurationSet/InputEndpoints/InputEndpoint",
    *(
        f"RoleList/Role/ConfigurationSets/ConfigurationSet/InputEndpoints/InputEndpoint/{name}"
        for name in ("Port", "Protocol", "Vip", "VirtualIPName")
    ),
    "RoleList/Role/ConfigurationSets/ConfigurationSet/SubnetNames",
    "LoadBalancers",
}
# Documented elements (reference §3 element tables) the sample leaves out.
DOCUMENTED_EXTRAS = {
    "RoleInstanceList/RoleInstance/HostName",
    "ExtensionConfiguration",
    "ExtensionConfiguration/AllRoles",
    "ExtensionConfiguration/AllRoles/Extension",
    "ExtensionConfiguration/AllRoles/Extension/Id",
    "ExtensionConfiguration/AllRoles/Extension/State",
    "ExtensionConfiguration/NamedRoles",
    "ExtensionConfiguration/NamedRoles/Role",
    "ExtensionConfiguration/NamedRoles/Role/RoleName",
    "ExtensionConfiguration/NamedRoles/Role/Extensions",
    "ExtensionConfiguration/NamedRoles/Role/Extensions/Extension",
    "ExtensionConfiguration/NamedRoles/Role/Extensions/Extension/Id",
}


def golden(name: str) -> bytes:
    return (GOLDEN / f"emulator_{name}.xml").read_bytes()


def paths(document: bytes) -> list[str]:
    """Element paths by local name below the root, in document order, without repeats."""
    root = etree.fromstring(document)
    seen: dict[str, None] = {}

    def walk(node: etree._Element, prefix: str) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            path = f"{prefix}{etree.QName(child).localname}"
            seen.setdefault(path, None)
            walk(child, f"{path}/")

    walk(root, "")
    return list(seen)


def top_level(document: bytes) -> list[str]:
    return [path for path in paths(document) if "/" not in path]


def canonical(document: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True)
    return etree.tostring(etree.fromstring(document, parser), method="c14n")


def assert_same_shape(
    actual: bytes, expected: bytes, *, missing_ok: Set[str] = frozenset(), extra_ok: Set[str] = frozenset()
) -> None:
    actual_paths, expected_paths = paths(actual), paths(expected)
    assert set(expected_paths) - set(actual_paths) <= missing_ok
    assert set(actual_paths) - set(expected_paths) <= extra_ok
    common = [name for name in top_level(expected) if name in top_level(actual)]
    assert [name for name in top_level(actual) if name in common] == common  # the wire order


@pytest.fixture
async def flow(emulator: EmulatorServer, sm: Sm) -> Sm:
    """A hosted service and deployment created from the golden request bodies."""
    response = await sm.post("/services/hostedservices", golden("create_hosted_service").decode())
    assert response.status_code == 201, response.text
    request_id = await sm.accepted(await sm.post(DEPLOYMENT, golden("create_deployment").decode()))
    assert (await sm.wait(request_id)).status == "Succeeded"
    return sm


async def test_the_documented_requests_are_accepted_and_applied(flow: Sm) -> None:
    service = wire.parse(wire.HostedService, (await flow.get(f"/services/hostedservices/{SERVICE}")).content)
    assert wire.properties_to_dict(service.hosted_service_properties.extended_properties) == {
        "CostCenter": "42"
    }
    assert (await flow.deployment()).extended_properties_dict == {"Owner": "ops"}

    await flow.accepted(await flow.post(f"{DEPLOYMENT}/?comp=upgrade", golden("upgrade_deployment").decode()))
    upgraded = await flow.deployment()
    assert upgraded.label_text == "web-2"
    assert upgraded.extended_properties_dict == {"Owner": "ops", "Release": "2"}
    assert upgraded.extension_configuration is not None
    assert [ext.id for ext in upgraded.extension_configuration.all_roles] == ["RDPExt"]
    assert upgraded.upgrade_status == wire.UpgradeStatus(
        upgrade_type="Manual", current_upgrade_domain_state="Before", current_upgrade_domain=0
    )
    walk_id = await flow.accepted(
        await flow.post(f"{DEPLOYMENT}/?comp=walkupgradedomain", golden("walk_upgrade_domain").decode())
    )
    assert (await flow.wait(walk_id)).status == "Succeeded"
    rollback = await flow.post(f"{DEPLOYMENT}/?comp=rollback", golden("rollback_update_or_upgrade").decode())
    assert (await flow.wait(await flow.accepted(rollback, status=200))).status == "Succeeded"
    assert (await flow.deployment()).label_text == "web-1"
    change = await flow.post(f"{DEPLOYMENT}/?comp=config", golden("change_configuration").decode())
    assert (await flow.wait(await flow.accepted(change))).status == "Succeeded"
    changed = await flow.deployment()
    assert len(changed.role_instance_list) == 3
    assert changed.extended_properties_dict == {"Owner": "platform"}


async def test_get_deployment_has_the_documented_shape(emulator: EmulatorServer, flow: Sm) -> None:
    emulator.control.set_timings({"acceptSeconds": 3600})  # hold the update in its accepting phase
    body = golden("upgrade_deployment").decode().replace("<Mode>Manual</Mode>", "<Mode>Auto</Mode>")
    await flow.accepted(await flow.post(f"{DEPLOYMENT}/?comp=upgrade", body))
    actual = (await flow.get(DEPLOYMENT)).content
    assert_same_shape(actual, golden("deployment"), missing_ok=PACKAGE_DEFINED, extra_ok=DOCUMENTED_EXTRAS)
    assert wire.parse(wire.Deployment, actual).locked is True


async def test_operation_bodies_match_the_documented_ones(emulator: EmulatorServer, flow: Sm) -> None:
    emulator.control.set_timings({"acceptSeconds": 3600})
    in_progress = await flow.accepted(
        await flow.post(f"{DEPLOYMENT}/?comp=upgrade", golden("upgrade_deployment").decode())
    )
    assert paths((await flow.get(f"/operations/{in_progress}")).content) == paths(
        golden("operation_in_progress")
    )
    emulator.control.reset()
    emulator.control.set_timings({"acceptSeconds": 0})
    flow_again = await _recreate(flow)
    succeeded = await flow_again.accepted(
        await flow_again.post(f"{DEPLOYMENT}/?comp=config", golden("change_configuration").decode())
    )
    assert paths((await flow_again.get(f"/operations/{succeeded}")).content) == paths(
        golden("operation_succeeded")
    )
    emulator.control.set_package(
        control.PackageInput(
            package_url="https://acct.blob.core.windows.net/pkgs/svc-2.cspkg", behaviour="failing"
        )
    )
    failed = await flow_again.accepted(
        await flow_again.post(
            f"{DEPLOYMENT}/?comp=upgrade", golden("upgrade_deployment").decode().replace("Manual", "Auto")
        )
    )
    body = (await flow_again.get(f"/operations/{failed}")).content
    assert paths(body) == paths(golden("operation_failed"))
    assert (
        wire.parse(wire.Operation, body).error == wire.parse(wire.Operation, golden("operation_failed")).error
    )


async def _recreate(sm: Sm) -> Sm:
    assert (
        await sm.post("/services/hostedservices", golden("create_hosted_service").decode())
    ).status_code == 201
    await sm.wait(await sm.accepted(await sm.post(DEPLOYMENT, golden("create_deployment").decode())))
    return sm


async def test_the_error_body_is_the_recorded_one(flow: Sm) -> None:
    response = await flow.get(DEPLOYMENT.replace("production", "staging"))
    assert canonical(response.content) == canonical(golden("error"))


async def test_list_subscription_operations_has_the_documented_shape(
    flow: Sm, emulator: EmulatorServer
) -> None:
    emulator.control.set_settings(control.SettingsInput(operations_page_size=1))
    response = await flow.get("/operations", params=recent_window())
    # OperationKind's values are undocumented and UserEmailAddress is empty for certificate callers:
    # the emulator leaves both out rather than invent them.
    assert_same_shape(
        response.content,
        golden("subscription_operations"),
        missing_ok={
            "SubscriptionOperations/SubscriptionOperation/OperationKind",
            "SubscriptionOperations/SubscriptionOperation/OperationCaller/UserEmailAddress",
        },
    )
