"""Create Hosted Service, Get Hosted Service Properties, Delete Hosted Service.

Enough of the hosted service API to seed deployments through the real API (the legacy SDK's
create_hosted_service works unchanged) and to list a service's deployments with embed-detail.
"""

from __future__ import annotations

from controller.azure import wire
from controller.emulator import backend, errors, validation
from controller.emulator.ops import common, views
from controller.emulator.routing import Call, Reply


def create_hosted_service(call: Call, emulator: backend.Backend) -> Reply:
    """Synchronous: 201 Created (the service answers 201 and the legacy SDK reads the request id)."""
    request = common.body(wire.CreateHostedService, call)
    if (request.location is None) == (request.affinity_group is None):
        raise errors.BadRequest("Specify exactly one of Location or AffinityGroup.")
    properties = common.extended_properties(
        request.extended_properties, call, validation.MAX_PROPERTIES_PER_CREATE
    )
    spec = backend.HostedServiceSpec(
        name=validation.service_name(request.service_name),
        label=validation.label(request.label),
        description=validation.description(request.description),
        location=request.location,
        affinity_group=request.affinity_group,
        extended_properties=common.created_properties(properties),
    )
    emulator.create_hosted_service(call.caller, spec)
    return Reply(201)


def get_hosted_service_properties(call: Call, emulator: backend.Backend) -> Reply:
    service = emulator.hosted_service(call.caller.subscription_id, call.target.service or "")
    embed_detail = call.query.get("embed-detail", "").lower() == "true"
    document = views.hosted_service(
        service,
        base_url=call.base_url,
        embed_detail=embed_detail,
        version=call.version,
        now=emulator.now,
    )
    return Reply(200, document.to_bytes())


def delete_hosted_service(call: Call, emulator: backend.Backend) -> Reply:
    """200 when synchronous; with comp=media (deployments and disks too) asynchronous: 202."""
    with_media = call.query.get("comp", "").lower() == "media"
    emulator.delete_hosted_service(call.caller, call.target.service or "", with_deployments=with_media)
    return Reply(202 if with_media else 200)
