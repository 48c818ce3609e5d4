"""Golden documents from the API reference pin the wire shapes.

Each `tests/data/wire/reference_*.xml` is taken (nearly) verbatim from
`reference/service-management-api.md`; responses must parse to the documented values, and request
models built in code must serialize to the same elements as the documented bodies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from controller.azure import wire

DATA = Path(__file__).parent.parent / "data" / "wire"
CSCFG = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<ServiceConfiguration serviceName="contoso-web" '
    'xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration" '
    'osFamily="4" osVersion="*">\n'
    '  <Role name="WebRole1">\n    <Instances count="2" />\n  </Role>\n</ServiceConfiguration>\n'
)


def golden(name: str) -> bytes:
    return (DATA / f"reference_{name}.xml").read_bytes()


def canonical(data: bytes) -> bytes:
    """Exclusive C14N without comments and indentation: element names, order, text, namespaces."""
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False)
    root = etree.fromstring(data, parser)
    for node in root.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        node.tail = None
    return etree.tostring(root, method="c14n", exclusive=True)


def test_deployment_parses_to_the_documented_values() -> None:
    deployment = wire.parse(wire.Deployment, golden("deployment"))

    assert deployment.name == "7c4d0a5e2f6b4c1d9e8f7a6b5c4d3e2f"
    assert deployment.deployment_slot == "Production"
    assert deployment.private_id == "35e69bd2884d4b94ab745a3788646930"
    assert deployment.status == "RunningTransitioning"
    assert deployment.label_text == "web-42"
    assert deployment.configuration_text == CSCFG
    assert deployment.upgrade_status == wire.UpgradeStatus(
        upgrade_type="Auto", current_upgrade_domain_state="Before", current_upgrade_domain=0
    )
    assert deployment.upgrade_domain_count == 2
    assert deployment.locked is True
    assert deployment.rollback_allowed is True
    assert deployment.created_time == "2016-02-19T01:33:03Z"
    assert deployment.last_modified_time == "2016-02-19T01:41:14Z"
    assert deployment.extended_properties_dict == {"Owner": "ops", "CsoAppliedDigest": "sha256-0f3c"}
    assert deployment.sdk_version == "2.0.6493.2"
    assert [vip.address for vip in deployment.virtual_ips] == ["23.96.91.47"]
    assert deployment.virtual_ips[0].is_dns_programmed is True


def test_deployment_role_instances_and_roles() -> None:
    deployment = wire.parse(wire.Deployment, golden("deployment"))

    first, second = deployment.role_instance_list
    assert (first.role_name, first.instance_name, first.instance_status) == (
        "WebRole1",
        "WebRole1_IN_0",
        wire.READY_ROLE,
    )
    assert (first.instance_upgrade_domain, first.instance_fault_domain) == (0, 0)
    assert first.instance_size == "Small"
    assert first.ip_address == "100.73.144.119"
    assert first.power_state == "Started"
    assert first.instance_endpoints[0].public_port == 80
    assert first.instance_endpoints[0].vip == "23.96.91.47"
    assert second.instance_status in wire.UNKNOWN_STATES
    assert (second.instance_upgrade_domain, second.power_state) == (1, "Starting")
    assert second.instance_endpoints == []
    (role,) = deployment.role_list
    assert role.role_name == "WebRole1"
    assert role.os_version == "WA-GUEST-OS-2.47_201601-01"
    assert role.configuration_sets[0].input_endpoints[0].port == 80


def test_deployment_without_an_update_has_no_upgrade_status() -> None:
    tree = etree.fromstring(golden("deployment"))
    for node in tree.findall(f"{{{wire.NS}}}UpgradeStatus"):
        tree.remove(node)

    deployment = wire.parse(wire.Deployment, etree.tostring(tree))

    assert deployment.upgrade_status is None


def test_upgrade_deployment_request_matches_the_documented_body() -> None:
    body = wire.UpgradeDeployment.build(
        mode="Auto",
        package_url="https://acct.blob.core.windows.net/pkgs/svc.cspkg",
        configuration=CSCFG,
        label="web-42",
        role_to_upgrade="WebRole1",
        force=True,
        extended_properties={"Owner": "ops"},
        extension_configuration=wire.ExtensionConfiguration(
            all_roles=[wire.Extension(id="RDPExt", state="Enable")],
            named_roles=[wire.NamedRole(role_name="WebRole1", extensions=[wire.Extension(id="DiagExt")])],
        ),
    )

    assert canonical(body.to_bytes()) == canonical(golden("upgrade_deployment"))
    assert wire.parse(wire.UpgradeDeployment, golden("upgrade_deployment")) == body


def test_change_configuration_request_matches_the_documented_body() -> None:
    body = wire.ChangeConfiguration.build(
        configuration=CSCFG,
        treat_warnings_as_error=False,
        mode="Manual",
        extended_properties={"Owner": "ops"},
        extension_configuration=wire.ExtensionConfiguration(
            all_roles=[wire.Extension(id="RDPExt", state="Disable")]
        ),
    )

    assert canonical(body.to_bytes()) == canonical(golden("change_configuration"))
    assert wire.parse(wire.ChangeConfiguration, golden("change_configuration")) == body


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("walk_upgrade_domain", wire.WalkUpgradeDomain(upgrade_domain=0)),
        ("rollback_update_or_upgrade", wire.RollbackUpdateOrUpgrade(mode="Auto", force=False)),
    ],
)
def test_small_request_bodies_match_the_documented_bodies(name: str, model: wire.Document) -> None:
    assert canonical(model.to_bytes()) == canonical(golden(name))
    assert wire.parse(type(model), golden(name)) == model


@pytest.mark.parametrize(
    ("name", "status", "http_status", "error"),
    [
        ("operation_in_progress", wire.IN_PROGRESS, None, None),
        ("operation_succeeded", wire.SUCCEEDED, 200, None),
        (
            "operation_failed",
            wire.FAILED,
            409,
            wire.OperationError(
                code="ConflictError",
                message="Windows Azure is currently performing an operation on this deployment "
                "that requires exclusive access.",
            ),
        ),
    ],
)
def test_operation_status_documents(
    name: str, status: str, http_status: int | None, error: wire.OperationError | None
) -> None:
    operation = wire.parse(wire.Operation, golden(name))

    assert operation.id == wire.dashed_request_id("47993b1bcf4c7ea986f42e9923168c47")
    assert (operation.status, operation.http_status_code, operation.error) == (status, http_status, error)


def test_a_successful_operation_never_serializes_an_error_element() -> None:
    operation = wire.parse(wire.Operation, golden("operation_succeeded"))

    assert b"<Error" not in operation.to_bytes()
    assert canonical(operation.to_bytes()) == canonical(golden("operation_succeeded"))


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("error", "ResourceNotFound", "No deployments were found."),
        (
            "error_documented_sample",
            "ForbiddenError",
            "The server failed to authenticate the request. Verify that the certificate is valid "
            "and is associated with this subscription.",
        ),
    ],
)
def test_error_documents_with_and_without_namespace(name: str, code: str, message: str) -> None:
    error = wire.parse(wire.Error, golden(name))

    assert (error.code, error.message) == (code, message)


def test_subscription_operations_page() -> None:
    page = wire.parse(wire.SubscriptionOperationCollection, golden("subscription_operations"))

    assert page.continuation_token == "page-2"
    upgrade, reimage = page.subscription_operations
    assert upgrade.operation_id == "47993b1bcf4c7ea986f42e9923168c47"
    assert upgrade.operation_object_id.endswith("/services/hostedservices/contoso-web")
    assert upgrade.operation_name == "UpgradeDeployment"
    assert upgrade.parameters() == {"DeploymentSlot": "Production", "Mode": "Auto"}
    assert upgrade.operation_status.status == wire.SUCCEEDED
    assert upgrade.operation_status.http_status_code == 200
    assert upgrade.operation_caller is not None
    assert upgrade.operation_caller.client_ip == "203.0.113.7"
    assert upgrade.operation_started_time == "2016-02-19T01:41:14Z"
    assert upgrade.operation_kind == "UpgradeDeploymentOperation"
    assert reimage.parameters() == {"RoleInstanceName": "WebRole1_IN_0"}
    assert reimage.operation_status.status == wire.IN_PROGRESS


def test_subscription_operations_round_trip_keeps_the_a_prefix() -> None:
    page = wire.parse(wire.SubscriptionOperationCollection, golden("subscription_operations"))

    data = page.to_bytes()

    assert b"<a:Name>DeploymentSlot</a:Name>" in data
    assert wire.parse(wire.SubscriptionOperationCollection, data) == page
