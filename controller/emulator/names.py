"""The names of the remote operations.

One vocabulary for the route table, the operation records (the `OperationName` of List
Subscription Operations, fixed in docs/contracts.md), fault-injection rules and the request log.
"""

from __future__ import annotations

from enum import StrEnum


class OperationName(StrEnum):
    """A remote operation of the Service Management API that the emulator serves."""

    CREATE_HOSTED_SERVICE = "CreateHostedService"
    GET_HOSTED_SERVICE_PROPERTIES = "GetHostedServiceProperties"
    DELETE_HOSTED_SERVICE = "DeleteHostedService"
    CREATE_DEPLOYMENT = "CreateDeployment"
    GET_DEPLOYMENT = "GetDeployment"
    DELETE_DEPLOYMENT = "DeleteDeployment"
    UPGRADE_DEPLOYMENT = "UpgradeDeployment"
    CHANGE_DEPLOYMENT_CONFIGURATION = "ChangeDeploymentConfiguration"
    WALK_UPGRADE_DOMAIN = "WalkUpgradeDomain"
    ROLLBACK_UPDATE_OR_UPGRADE = "RollbackDeploymentUpdateOrUpgrade"
    UPDATE_DEPLOYMENT_STATUS = "UpdateDeploymentStatus"
    REBOOT_ROLE_INSTANCE = "RebootRoleInstance"
    REIMAGE_ROLE_INSTANCE = "ReimageRoleInstance"
    REBUILD_ROLE_INSTANCE = "RebuildRoleInstance"
    GET_OPERATION_STATUS = "GetOperationStatus"
    LIST_SUBSCRIPTION_OPERATIONS = "ListSubscriptionOperations"
    # Real operations the emulator knows the address of but does not implement (501).
    NOT_IMPLEMENTED = "NotImplemented"


READ_ONLY = frozenset(
    {
        OperationName.GET_HOSTED_SERVICE_PROPERTIES,
        OperationName.GET_DEPLOYMENT,
        OperationName.GET_OPERATION_STATUS,
        OperationName.LIST_SUBSCRIPTION_OPERATIONS,
    }
)
