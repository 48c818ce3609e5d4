"""One handler per remote operation, grouped by resource, and the table naming them.

A handler reads like a sentence: parse the body, validate it into a backend spec, call the
backend, render the answer. No web framework types: handlers take a `routing.Call` and return a
`routing.Reply`, so they can be exercised without a server.
"""

from __future__ import annotations

from controller.emulator import errors
from controller.emulator.backend import Backend
from controller.emulator.names import OperationName
from controller.emulator.ops import deployments, hostedservices, operations, roleinstances
from controller.emulator.routing import Call, Handler, Reply


def not_implemented(call: Call, emulator: Backend) -> Reply:
    """A real operation of the API that the emulator does not serve."""
    raise errors.NotImplementedByEmulator()


HANDLERS: dict[OperationName, Handler] = {
    OperationName.CREATE_HOSTED_SERVICE: hostedservices.create_hosted_service,
    OperationName.GET_HOSTED_SERVICE_PROPERTIES: hostedservices.get_hosted_service_properties,
    OperationName.DELETE_HOSTED_SERVICE: hostedservices.delete_hosted_service,
    OperationName.CREATE_DEPLOYMENT: deployments.create_deployment,
    OperationName.GET_DEPLOYMENT: deployments.get_deployment,
    OperationName.DELETE_DEPLOYMENT: deployments.delete_deployment,
    OperationName.UPGRADE_DEPLOYMENT: deployments.upgrade_deployment,
    OperationName.CHANGE_DEPLOYMENT_CONFIGURATION: deployments.change_deployment_configuration,
    OperationName.WALK_UPGRADE_DOMAIN: deployments.walk_upgrade_domain,
    OperationName.ROLLBACK_UPDATE_OR_UPGRADE: deployments.rollback_update_or_upgrade,
    OperationName.UPDATE_DEPLOYMENT_STATUS: deployments.update_deployment_status,
    OperationName.REBOOT_ROLE_INSTANCE: roleinstances.reboot_role_instance,
    OperationName.REIMAGE_ROLE_INSTANCE: roleinstances.reimage_role_instance,
    OperationName.REBUILD_ROLE_INSTANCE: roleinstances.rebuild_role_instance,
    OperationName.GET_OPERATION_STATUS: operations.get_operation_status,
    OperationName.LIST_SUBSCRIPTION_OPERATIONS: operations.list_subscription_operations,
    OperationName.NOT_IMPLEMENTED: not_implemented,
}
