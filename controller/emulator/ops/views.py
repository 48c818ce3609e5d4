"""Rendering backend state as wire documents, element by element as the service emits them.

Responses honour the request's x-ms-version: elements introduced after it are left out, and
`RestartingRole` is reported as `CyclingRole` to versions <= 2014-02-01, the versions whose
clients still know that state (reference §3).
"""

from __future__ import annotations

import hashlib

from controller.azure import wire
from controller.emulator import behaviours, records, state, versions
from controller.emulator.clock import timestamp


def deployment(deployment: state.Deployment, *, version: versions.ApiVersion, now: float) -> wire.Deployment:
    """Get Deployment's body."""
    revision = deployment.revision
    new_elements = version >= versions.V2012_03_01
    return wire.Deployment(
        name=deployment.name,
        deployment_slot=deployment.slot,
        private_id=deployment.private_id,
        status=deployment.status,
        label=wire.b64encode_text(revision.label),
        url=_url(deployment),
        configuration=wire.b64encode_text(revision.configuration.text),
        role_instance_list=[_instance(inst, deployment, version) for inst in deployment.instances],
        upgrade_status=_upgrade_status(deployment.update),
        upgrade_domain_count=deployment.upgrade_domain_count(),
        role_list=[_role(role.name, revision) for role in revision.configuration.roles],
        sdk_version=deployment.sdk_version,
        locked=deployment.locked(now),
        rollback_allowed=deployment.rollback_allowed(),
        created_time=timestamp(deployment.created),
        last_modified_time=timestamp(deployment.modified),
        extended_properties=wire.dict_to_properties(dict(revision.properties())),
        extension_configuration=revision.extension_configuration if version >= versions.V2013_03_01 else None,
        virtual_ips=[_virtual_ip(deployment)] if new_elements else [],
    )


def hosted_service(
    service: state.HostedService,
    *,
    base_url: str,
    embed_detail: bool,
    version: versions.ApiVersion,
    now: float,
) -> wire.HostedService:
    """Get Hosted Service Properties' body (with its deployments when `embed-detail=true`)."""
    properties = wire.HostedServiceProperties(
        description=service.description,
        affinity_group=service.affinity_group,
        location=service.location,
        label=wire.b64encode_text(service.label),
        status="Created",
        date_created=timestamp(service.created),
        date_last_modified=timestamp(service.modified),
        extended_properties=wire.dict_to_properties(dict(service.extended_properties)),
    )
    deployments = sorted(service.deployments.values(), key=lambda dep: dep.slot)
    return wire.HostedService(
        url=f"{base_url}{service.object_id()}",
        service_name=service.name,
        hosted_service_properties=properties,
        deployments=[deployment(dep, version=version, now=now) for dep in deployments]
        if embed_detail
        else [],
    )


def operation(record: records.OperationRecord) -> wire.Operation:
    """Get Operation Status' body: InProgress carries only ID and Status; no empty Error, ever."""
    return wire.Operation(
        id=wire.dashed_request_id(record.id),
        status=record.status,
        http_status_code=record.http_status_code,
        error=_error(record),
    )


def subscription_operation(record: records.OperationRecord) -> wire.SubscriptionOperation:
    """One entry of List Subscription Operations."""
    return wire.SubscriptionOperation(
        operation_id=record.id,
        operation_object_id=record.object_id,
        operation_name=record.name,
        operation_parameters=[
            wire.OperationParameter(name=name, value=value) for name, value in record.parameters
        ],
        operation_caller=wire.OperationCaller(
            used_service_management_api=True,
            subscription_certificate_thumbprint=record.thumbprint,
            client_ip=record.client_ip,
        ),
        operation_status=wire.OperationStatus(
            id=wire.dashed_request_id(record.id),
            status=record.status,
            http_status_code=record.http_status_code,
            error=_error(record),
        ),
        operation_started_time=timestamp(record.started),
        operation_completed_time=timestamp(record.completed) if record.completed is not None else None,
    )


def _error(record: records.OperationRecord) -> wire.OperationError | None:
    if record.status != records.FAILED or record.error_code is None:
        return None
    return wire.OperationError(code=record.error_code, message=record.error_message or "")


def _instance(
    inst: state.RoleInstance, deployment: state.Deployment, version: versions.ApiVersion
) -> wire.RoleInstance:
    status = inst.status
    if status == behaviours.RESTARTING_ROLE and version <= versions.V2014_02_01:
        status = "CyclingRole"
    return wire.RoleInstance(
        role_name=inst.role,
        instance_name=inst.name,
        instance_status=status,
        instance_upgrade_domain=inst.upgrade_domain,
        instance_fault_domain=inst.fault_domain,
        instance_size=inst.size,
        instance_state_details="",
        ip_address=inst.ip_address if version >= versions.V2012_03_01 else None,
        power_state=inst.power_state,
        host_name=_host_name(deployment, inst),
    )


def _host_name(deployment: state.Deployment, inst: state.RoleInstance) -> str:
    """A stable, unique-looking host name (`RD` + 12 hex digits, the service's PaaS form)."""
    digest = hashlib.sha1(f"{deployment.private_id}/{inst.name}".encode(), usedforsecurity=False).hexdigest()
    return f"RD{digest[:12].upper()}"


def _upgrade_status(update: state.Update | None) -> wire.UpgradeStatus | None:
    if update is None:
        return None  # absent when no update is in progress (reference §3)
    return wire.UpgradeStatus(
        upgrade_type=update.mode,
        current_upgrade_domain_state=update.domain_state,
        current_upgrade_domain=update.domain,
    )


def _role(name: str, revision: state.Revision) -> wire.Role:
    return wire.Role(
        role_name=name,
        os_version=revision.configuration.os_version,
        configuration_sets=[wire.ConfigurationSet()],
    )


def _url(deployment: state.Deployment) -> str:
    host = deployment.service_name if deployment.slot == "Production" else deployment.private_id
    return f"http://{host}.cloudapp.net/"


def _virtual_ip(deployment: state.Deployment) -> wire.VirtualIP:
    """A stable public address per service and slot (documentation range, never routable)."""
    digest = hashlib.sha256(f"{deployment.service_name}/{deployment.slot}".lower().encode()).digest()
    return wire.VirtualIP(
        address=f"198.51.{digest[0] % 100}.{digest[1] % 250 + 2}",
        is_dns_programmed=True,
        name=f"{deployment.service_name}ContractContract",
    )
