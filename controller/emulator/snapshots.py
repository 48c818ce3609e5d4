"""JSON views of the emulator's state for the admin API (plain, decoded values; camelCase).

Package URLs are shown without their query: a SAS signature is a credential, and admin output
ends up in test logs and terminals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.azure.wire.common import url_without_query
from controller.emulator import certs, control, records, state
from controller.emulator.clock import timestamp


def everything(ctl: control.Control) -> dict[str, Any]:
    """GET /emulator/state."""
    now = ctl.backend.advance()
    subscriptions = []
    for subscription in ctl.backend.state.subscriptions.values():
        entry = subscription_json(subscription.id, ctl.certificates.get(subscription.id.lower(), []))
        entry["hostedServices"] = [hosted_service(service, now) for service in subscription.services.values()]
        subscriptions.append(entry)
    return {
        "subscriptions": subscriptions,
        "timings": ctl.backend.timings.to_json(),
        "clock": clock(ctl),
        "packages": [
            {"packageUrl": url, **behaviour.to_json()} for url, behaviour in ctl.backend.packages.items()
        ],
        "operationsPageSize": ctl.backend.page_size,
    }


def subscriptions(ctl: control.Control) -> list[dict[str, Any]]:
    return [
        subscription_json(sub.id, ctl.certificates.get(sub.id.lower(), []))
        for sub in ctl.backend.state.subscriptions.values()
    ]


def subscription_json(
    subscription_id: str, certificates: list[certs.ManagementCertificate]
) -> dict[str, Any]:
    return {
        "subscriptionId": subscription_id,
        "certificates": [{"thumbprint": cert.thumbprint, "path": str(cert.path)} for cert in certificates],
    }


def hosted_service(service: state.HostedService, now: float) -> dict[str, Any]:
    return {
        "subscriptionId": service.subscription_id,
        "name": service.name,
        "label": service.label,
        "location": service.location,
        "extendedProperties": service.extended_properties,
        "deployments": [deployment(dep, now) for dep in service.deployments.values()],
    }


def deployment(dep: state.Deployment, now: float) -> dict[str, Any]:
    update = dep.update
    return {
        "name": dep.name,
        "slot": dep.slot,
        "status": dep.status,
        "label": dep.revision.label,
        "packageUrl": url_without_query(dep.revision.package_url),  # a SAS signature stays secret
        "configuration": dep.revision.configuration.text,
        "extendedProperties": dep.revision.properties(),
        "locked": dep.locked(now),
        "rollbackAllowed": dep.rollback_allowed(),
        "upgradeDomainCount": dep.upgrade_domain_count(),
        "revision": dep.revision.number,
        "baselineRevision": dep.baseline.number,
        "update": None
        if update is None
        else {
            "kind": update.kind,
            "mode": update.mode,
            "domain": update.domain,
            "domainState": update.domain_state,
            "halted": update.halted,
            "operationId": update.operation_id,
            "walkOperationId": update.walk_operation_id,
        },
        "instances": [
            {
                "name": inst.name,
                "role": inst.role,
                "status": inst.status,
                "powerState": inst.power_state,
                "upgradeDomain": inst.upgrade_domain,
                "faultDomain": inst.fault_domain,
                "revision": inst.revision,
            }
            for inst in dep.instances
        ],
    }


def operation(record: records.OperationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "subscriptionId": record.subscription_id,
        "name": record.name,
        "objectId": record.object_id,
        "parameters": dict(record.parameters),
        "status": record.status,
        "httpStatusCode": record.http_status_code,
        "errorCode": record.error_code,
        "errorMessage": record.error_message,
        "started": timestamp(record.started),
        "completed": timestamp(record.completed) if record.completed is not None else None,
    }


def operation_matches(record: records.OperationRecord, filters: Mapping[str, str]) -> bool:
    wanted = {
        "subscription": record.subscription_id.lower(),
        "operation": record.name.lower(),
        "status": record.status.lower(),
    }
    return all(wanted[key] == value.lower() for key, value in filters.items() if key in wanted)


def clock(ctl: control.Control) -> dict[str, Any]:
    return {"now": timestamp(ctl.backend.clock.now()), "frozen": ctl.backend.clock.frozen}
