"""The desired state of one resource: its spec with the references resolved, as planner input."""

from __future__ import annotations

from collections.abc import Mapping

from controller.models.spec import CloudServiceDeploymentSpec
from controller.planning.inputs import DesiredState, DomainGate, Tuning
from controller.reconcile import digests
from controller.reconcile.config import ReconcileConfig
from controller.reconcile.sources import Sources

# Set to a stuck intent's id to tell the controller that request never reached Azure.
CONFIRM_NOT_ISSUED = "classic.cloudservices.io/confirm-not-issued"


def desired_state(
    spec: CloudServiceDeploymentSpec,
    sources: Sources,
    *,
    generation: int,
    annotations: Mapping[str, str],
    config: ReconcileConfig,
) -> DesiredState:
    """The planner's view of `spec`; `canonical.InvalidConfiguration` for a malformed .cscfg."""
    gate = spec.upgrade.gate
    return DesiredState(
        generation=generation,
        digests=digests.desired_digests(
            package_url=sources.package_url,
            configuration=sources.configuration,
            label=spec.label,
            extended_properties=spec.extended_properties,
            extension_configuration=spec.extension_configuration,
        ),
        label=spec.label,
        extended_properties=dict(spec.extended_properties),
        upgrade_mode=spec.upgrade.mode,
        role_to_upgrade=spec.upgrade.role_to_upgrade,
        force=spec.upgrade.force,
        gate=DomainGate(
            require_ready_instances=gate.require_ready_instances,
            pause_seconds=gate.pause_seconds,
            timeout_seconds=gate.timeout_seconds,
        ),
        rollback_on_failure=spec.rollback.on_failure,
        rollback_mode=spec.rollback.mode,
        rollback_force=spec.rollback.force,
        reimage=dict(spec.reimage),
        observe_only=spec.observe_only,
        suspend=spec.suspend,
        sync_interval_seconds=spec.sync_interval_seconds,
        confirm_not_issued=annotations.get(CONFIRM_NOT_ISSUED, "").strip(),
        tuning=Tuning(
            poll_seconds=config.poll_seconds,
            max_poll_seconds=config.max_poll_seconds,
            fault_grace_seconds=config.fault_grace_seconds,
        ),
    )
