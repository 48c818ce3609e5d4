"""Deployment operations: create, get, delete, upgrade, change configuration, walk, rollback, status.

Each handler parses its body, applies the version-gated element rules and value rules, hands a
validated spec to the backend and answers: 202 for asynchronous operations (what the service
sends, whatever some doc pages say), 200 for Get and for Rollback (reference §1, §7).
"""

from __future__ import annotations

from controller.azure import wire
from controller.emulator import backend, errors, validation, versions
from controller.emulator.ops import common, views
from controller.emulator.routing import Call, Reply


def create_deployment(call: Call, emulator: backend.Backend) -> Reply:
    request = common.body(wire.CreateDeployment, call)
    properties = common.extended_properties(
        request.extended_properties, call, validation.MAX_PROPERTIES_PER_CREATE
    )
    spec = backend.DeploymentSpec(
        name=validation.deployment_name(request.name),
        package_url=validation.package_url(request.package_url),
        configuration=validation.configuration(request.configuration),
        label=validation.label(request.label),
        start=bool(request.start_deployment),
        extended_properties=common.created_properties(properties),
        extension_configuration=common.extension_configuration(request.extension_configuration, call),
    )
    emulator.create_deployment(call.caller, call.target.service or "", call.target.slot or "", spec)
    return Reply(202)


def get_deployment(call: Call, emulator: backend.Backend) -> Reply:
    deployment = emulator.deployment(call.caller.subscription_id, call.target.deployment_ref())
    document = views.deployment(deployment, version=call.version, now=emulator.now)
    return Reply(200, document.to_bytes())


def delete_deployment(call: Call, emulator: backend.Backend) -> Reply:
    emulator.delete_deployment(call.caller, call.target.deployment_ref())
    return Reply(202)


def upgrade_deployment(call: Call, emulator: backend.Backend) -> Reply:
    request = common.body(wire.UpgradeDeployment, call)
    mode = common.choice(request.mode, common.UPDATE_MODES, "Mode")
    if mode == "Simultaneous":
        versions.require_element(call.version, versions.V2012_12_01, "Mode=Simultaneous")
    if request.force is None and call.version >= versions.V2011_10_01:
        raise errors.BadRequest("The Force element is required.")
    spec = backend.UpdateSpec(
        mode=mode,
        configuration=validation.configuration(request.configuration),
        package_url=validation.package_url(request.package_url),
        label=validation.label(request.label),
        role_to_upgrade=request.role_to_upgrade or None,
        force=bool(request.force),
        property_changes=common.extended_properties(
            request.extended_properties, call, validation.MAX_PROPERTIES_PER_UPDATE
        ),
        extension_configuration=common.extension_configuration(request.extension_configuration, call),
    )
    emulator.upgrade_deployment(call.caller, call.target.deployment_ref(), spec)
    return Reply(202)


def change_deployment_configuration(call: Call, emulator: backend.Backend) -> Reply:
    request = common.body(wire.ChangeConfiguration, call)
    if request.treat_warnings_as_error is not None:
        versions.require_element(call.version, versions.V2011_04_01, "TreatWarningsAsError")
    spec = backend.UpdateSpec(
        mode=_change_mode(request, call),
        configuration=validation.configuration(request.configuration),
        property_changes=common.extended_properties(
            request.extended_properties, call, validation.MAX_PROPERTIES_PER_UPDATE
        ),
        extension_configuration=common.extension_configuration(request.extension_configuration, call),
    )
    emulator.change_deployment_configuration(call.caller, call.target.deployment_ref(), spec)
    return Reply(202)


def _change_mode(request: wire.ChangeConfiguration, call: Call) -> str:
    """Mode is optional (default Auto), from 2011-08-01; Simultaneous from 2013-03-01."""
    if request.mode is None:
        return "Auto"
    versions.require_element(call.version, versions.V2011_08_01, "Mode")
    mode = common.choice(request.mode, common.UPDATE_MODES, "Mode")
    if mode == "Simultaneous":
        versions.require_element(call.version, versions.V2013_03_01, "Mode=Simultaneous")
    return mode


def walk_upgrade_domain(call: Call, emulator: backend.Backend) -> Reply:
    request = common.body(wire.WalkUpgradeDomain, call)
    if request.upgrade_domain < 0:
        raise errors.BadRequest("UpgradeDomain must be a zero-based upgrade domain number.")
    emulator.walk_upgrade_domain(call.caller, call.target.deployment_ref(), request.upgrade_domain)
    return Reply(202)


def rollback_update_or_upgrade(call: Call, emulator: backend.Backend) -> Reply:
    """200 OK, not 202: the one asynchronous operation documented and implemented that way."""
    request = common.body(wire.RollbackUpdateOrUpgrade, call)
    mode = common.choice(request.mode, common.ROLLBACK_MODES, "Mode")
    emulator.rollback_update_or_upgrade(
        call.caller, call.target.deployment_ref(), mode=mode, force=request.force
    )
    return Reply(200)


def update_deployment_status(call: Call, emulator: backend.Backend) -> Reply:
    request = common.body(wire.UpdateDeploymentStatus, call)
    status = common.choice(request.status, ("Running", "Suspended"), "Status")
    emulator.update_deployment_status(call.caller, call.target.deployment_ref(), running=status == "Running")
    return Reply(202)
