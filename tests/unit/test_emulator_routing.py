"""The route table: both URI forms, optional trailing slash, case rules, and the errors of bad URIs."""

from __future__ import annotations

import pytest

from controller.emulator import errors, routing, versions
from controller.emulator.names import OperationName

SUB = "9f0c6a0e-0000-4000-8000-000000000001"
SERVICE = f"/{SUB}/services/hostedservices/svc"


@pytest.mark.parametrize(
    ("method", "path", "query", "operation"),
    [
        ("POST", f"/{SUB}/services/hostedservices", {}, OperationName.CREATE_HOSTED_SERVICE),
        ("GET", SERVICE, {"embed-detail": "true"}, OperationName.GET_HOSTED_SERVICE_PROPERTIES),
        ("DELETE", SERVICE, {}, OperationName.DELETE_HOSTED_SERVICE),
        ("DELETE", SERVICE, {"comp": "media"}, OperationName.DELETE_HOSTED_SERVICE),
        ("POST", f"{SERVICE}/deploymentslots/production", {}, OperationName.CREATE_DEPLOYMENT),
        ("GET", f"{SERVICE}/deploymentslots/Production", {}, OperationName.GET_DEPLOYMENT),
        ("GET", f"{SERVICE}/deployments/web-1", {}, OperationName.GET_DEPLOYMENT),
        ("DELETE", f"{SERVICE}/deployments/web-1", {}, OperationName.DELETE_DEPLOYMENT),
        ("POST", f"{SERVICE}/deployments/web-1/", {"comp": "upgrade"}, OperationName.UPGRADE_DEPLOYMENT),
        ("POST", f"{SERVICE}/deployments/web-1", {"comp": "upgrade"}, OperationName.UPGRADE_DEPLOYMENT),
        (
            "POST",
            f"{SERVICE}/deploymentslots/staging/",
            {"comp": "config"},
            OperationName.CHANGE_DEPLOYMENT_CONFIGURATION,
        ),
        (
            "POST",
            f"{SERVICE}/deployments/web-1",
            {"comp": "WalkUpgradeDomain"},
            OperationName.WALK_UPGRADE_DOMAIN,
        ),
        (
            "POST",
            f"{SERVICE}/deploymentslots/production/",
            {"comp": "rollback"},
            OperationName.ROLLBACK_UPDATE_OR_UPGRADE,
        ),
        ("POST", f"{SERVICE}/deployments/web-1/", {"comp": "status"}, OperationName.UPDATE_DEPLOYMENT_STATUS),
        (
            "POST",
            f"{SERVICE}/deployments/web-1/roleinstances/W_IN_0",
            {"comp": "reboot"},
            OperationName.REBOOT_ROLE_INSTANCE,
        ),
        (
            "POST",
            f"{SERVICE}/deploymentslots/production/roleinstances/W_IN_0/",
            {"comp": "reimage"},
            OperationName.REIMAGE_ROLE_INSTANCE,
        ),
        (
            "POST",
            f"{SERVICE}/deployments/web-1/roleinstances/W_IN_0",
            {"comp": "rebuild", "resources": "allLocalDrives"},
            OperationName.REBUILD_ROLE_INSTANCE,
        ),
        (
            "GET",
            f"/{SUB}/operations/47993b1bcf4c7ea986f42e9923168c47",
            {},
            OperationName.GET_OPERATION_STATUS,
        ),
        ("GET", f"/{SUB}/operations", {}, OperationName.LIST_SUBSCRIPTION_OPERATIONS),
        (
            "GET",
            f"/{SUB}/Services/HostedServices/svc/DeploymentSlots/PRODUCTION",
            {},
            OperationName.GET_DEPLOYMENT,
        ),
    ],
)
def test_each_operation_resolves_in_both_uri_forms(
    method: str, path: str, query: dict[str, str], operation: OperationName
) -> None:
    assert routing.resolve(method, path, query).operation == operation


def test_targets_carry_the_canonical_slot_or_the_name_and_the_instance() -> None:
    by_slot = routing.resolve(
        "POST", f"{SERVICE}/deploymentslots/PRODUCTION/roleinstances/W_IN_1", {"comp": "reboot"}
    )
    assert by_slot.target == routing.Target(SUB, service="svc", slot="Production", instance="W_IN_1")
    by_name = routing.resolve("GET", f"{SERVICE}/deployments/Web-1", {})
    assert by_name.target.deployment_name == "Web-1"
    assert by_name.target.aliases() == frozenset({"svc", "web-1", "svc/web-1"})


@pytest.mark.parametrize(
    ("method", "path", "query", "error"),
    [
        ("PUT", f"{SERVICE}/deploymentslots/production", {}, errors.InvalidHttpVerb),
        ("PATCH", f"/{SUB}/operations", {}, errors.InvalidHttpVerb),
        ("GET", f"{SERVICE}/deploymentslots/production/roleinstances/W_IN_0", {}, errors.InvalidHttpVerb),
        (
            "POST",
            f"{SERVICE}/deploymentslots/production",
            {"comp": "upgrad"},
            errors.MissingOrInvalidRequiredQueryParameter,
        ),
        ("POST", f"{SERVICE}/deployments/web-1", {}, errors.MissingOrInvalidRequiredQueryParameter),
        (
            "POST",
            f"{SERVICE}/deployments/web-1/roleinstances/W_IN_0",
            {},
            errors.MissingOrInvalidRequiredQueryParameter,
        ),
        (
            "POST",
            f"{SERVICE}/deployments/web-1/roleinstances/W_IN_0",
            {"comp": "rebuild"},
            errors.MissingOrInvalidRequiredQueryParameter,
        ),
        ("GET", f"{SERVICE}/deploymentslots/preview", {}, errors.BadRequest),
        ("GET", f"/{SUB}/services/storageservices", {}, errors.ResourceNotFound),
        ("GET", f"{SERVICE}/deploymentslots", {}, errors.ResourceNotFound),
        ("GET", f"{SERVICE}//deployments/x", {}, errors.ResourceNotFound),
        ("GET", "/", {}, errors.ResourceNotFound),
    ],
)
def test_bad_requests_get_the_documented_error(
    method: str, path: str, query: dict[str, str], error: type[errors.EmulatorError]
) -> None:
    with pytest.raises(error):
        routing.resolve(method, path, query)


def test_operations_carry_their_minimum_versions() -> None:
    rollback = routing.resolve("POST", f"{SERVICE}/deployments/d/", {"comp": "rollback"})
    rebuild = routing.resolve(
        "POST", f"{SERVICE}/deployments/d/roleinstances/i", {"comp": "rebuild", "resources": "allLocalDrives"}
    )
    assert rollback.min_version == versions.V2011_10_01
    assert rebuild.min_version == versions.V2013_06_01


def test_real_operations_the_emulator_lacks_are_named_as_such() -> None:
    assert routing.resolve("GET", f"/{SUB}", {}).operation == OperationName.NOT_IMPLEMENTED
    assert routing.resolve("PUT", SERVICE, {}).operation == OperationName.NOT_IMPLEMENTED
