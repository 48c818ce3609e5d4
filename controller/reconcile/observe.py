"""Read the deployment (and the operation in flight) and reduce it to planner input.

The operation status is read before the deployment: if the operation finishes in between, the
deployment read afterwards already shows its effect, so "Succeeded" never pairs with a stale
deployment.
"""

from __future__ import annotations

from controller.azure import errors, redaction, wire
from controller.azure.client import ServiceManagementClient
from controller.azure.refs import DeploymentRef
from controller.models.spec import APPLIED_DIGEST_PROPERTY, RESERVED_PROPERTY_PREFIX
from controller.models.status import Operation, OperationPhase
from controller.planning.inputs import (
    Observation,
    ObservedDeployment,
    ObservedInstance,
    ObservedOperation,
    ObservedUpgrade,
)
from controller.planning.progress import LOST
from controller.reconcile import canonical, digests


async def observe(
    client: ServiceManagementClient, ref: DeploymentRef, operation: Operation | None
) -> Observation:
    """Get Operation Status of the operation in flight (if any), then Get Deployment."""
    observed_operation = None
    if operation is not None and operation.request_id and operation.phase is OperationPhase.IN_PROGRESS:
        observed_operation = await operation_status(client, operation.request_id)
    try:
        deployment = await client.get_deployment(ref=ref)
    except errors.NotFoundError:
        return Observation(deployment=None, operation=observed_operation)
    return Observation(deployment=observed_deployment(deployment), operation=observed_operation)


async def operation_status(client: ServiceManagementClient, request_id: str) -> ObservedOperation:
    """Get Operation Status, reduced; an operation the service forgot reads as `Lost`."""
    try:
        result = await client.get_operation_status(request_id=request_id)
    except errors.NotFoundError:
        return ObservedOperation(request_id=request_id, status=LOST)
    error = result.error
    return ObservedOperation(
        request_id=request_id,
        status=result.status,
        http_status=result.http_status_code,
        error_code=error.code if error else "",
        error_message=redaction.redact_text(error.message) if error else "",  # Azure may echo a SAS URL
    )


def observed_deployment(deployment: wire.Deployment) -> ObservedDeployment:
    """Get Deployment's answer as the planner sees it."""
    properties = deployment.extended_properties_dict
    user_properties = {
        name: value for name, value in properties.items() if not name.startswith(RESERVED_PROPERTY_PREFIX)
    }
    upgrade = deployment.upgrade_status
    extensions = deployment.extension_configuration
    return ObservedDeployment(
        name=deployment.name,
        slot=deployment.deployment_slot,
        status=deployment.status,
        label=_label(deployment),
        configuration_digest=_configuration_digest(deployment),
        extended_properties=user_properties,
        applied_digest=properties.get(APPLIED_DIGEST_PROPERTY),
        extensions_digest=None
        if extensions is None
        else digests.extensions_digest(digests.normalize_observed_extensions(extensions)),
        upgrade=None
        if upgrade is None
        else ObservedUpgrade(
            type=upgrade.upgrade_type,
            current_domain=upgrade.current_upgrade_domain,
            domain_state=upgrade.current_upgrade_domain_state,
        ),
        upgrade_domain_count=deployment.upgrade_domain_count,
        rollback_allowed=deployment.rollback_allowed,
        locked=deployment.locked,
        instances=tuple(
            ObservedInstance(
                name=i.instance_name,
                role=i.role_name,
                status=i.instance_status,
                upgrade_domain=i.instance_upgrade_domain,
                fault_domain=i.instance_fault_domain,
            )
            for i in sorted(deployment.role_instance_list, key=lambda i: (i.role_name, i.instance_name))
        ),
    )


def _label(deployment: wire.Deployment) -> str:
    try:
        return deployment.label_text
    except wire.MalformedXml:
        return deployment.label  # not base64: show what came, it differs from any desired label


def _configuration_digest(deployment: wire.Deployment) -> str:
    try:
        text = deployment.configuration_text
    except wire.MalformedXml:
        text = deployment.configuration
    return canonical.observed_configuration_digest(text)
