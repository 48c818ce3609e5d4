"""Fold one observation into the status: what happened since the last pass.

Before deciding, the controller brings its record up to date with what Azure says: an operation
that finished moves to history (and its effects are recorded: a reimage generation, a walked
domain, a failed spec), the domain gate's health window advances, a settled rollout is closed and
its digests become `applied`. Pure like the planner: values in, a new status and the notable
transitions (for Kubernetes events) out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.models.status import (
    Applied,
    DeploymentObservation,
    HistoryEntry,
    Instance,
    Operation,
    OperationKind,
    OperationPhase,
    Status,
    UpgradeProgress,
    Walk,
    truncate,
)
from controller.planning import drift
from controller.planning.inputs import (
    MANUAL,
    DesiredState,
    Observation,
    ObservedDeployment,
    ObservedInstance,
    ObservedOperation,
)

NORMAL = "Normal"
WARNING = "Warning"
ROLLOUT_KINDS = (OperationKind.UPGRADE, OperationKind.WALK_UPGRADE_DOMAIN, OperationKind.ROLLBACK)
# History results besides the operation statuses.
ABANDONED = "Abandoned"
LOST = "Lost"
# Error codes of failures the controller itself detects (no Azure code applies).
INSTANCES_FAILING = "InstancesFailing"
DOMAIN_GATE_TIMEOUT = "DomainGateTimeout"
INSTANCE_NOT_READY = "InstanceNotReady"


@dataclass(frozen=True)
class Note:
    """A transition worth a Kubernetes event."""

    type: str  # Normal | Warning
    reason: str
    message: str
    kind: str = ""  # the operation kind it is about, if any (for metrics)


@dataclass(frozen=True)
class Advanced:
    """The status brought up to date, and what happened on the way."""

    status: Status
    notes: tuple[Note, ...] = ()


def advance(desired: DesiredState, observation: Observation, status: Status, now: datetime) -> Advanced:
    """`status` updated with `observation`: finished operations, gate windows, settled rollouts."""
    now = truncate(now)
    notes: list[Note] = []
    status = status.model_copy(update={"observed_generation": desired.generation})
    status = _observe(observation, status, now)
    status = _confirmed_not_issued(desired, status, now, notes)
    status = _finish_operation(desired, observation.operation, status, now, notes)
    deployment = observation.deployment
    if deployment is not None:
        status = _track_gate(desired, deployment, status, now, notes)
        status = _settle(desired, deployment, status, now, notes)
    return Advanced(status=status, notes=tuple(notes))


def _observe(observation: Observation, status: Status, now: datetime) -> Status:
    deployment = observation.deployment
    if deployment is None:
        return status.model_copy(update={"deployment": None})
    upgrade = deployment.upgrade
    record = DeploymentObservation(
        name=deployment.name,
        slot=deployment.slot,
        status=deployment.status,
        label=deployment.label,
        upgrade_domain_count=deployment.upgrade_domain_count,
        rollback_allowed=deployment.rollback_allowed,
        locked=deployment.locked,
        observed_at=now,
        upgrade=None
        if upgrade is None
        else UpgradeProgress(
            type=upgrade.type, current_domain=upgrade.current_domain, domain_state=upgrade.domain_state
        ),
        instances=tuple(
            Instance(
                name=i.name,
                role=i.role,
                status=i.status,
                upgrade_domain=i.upgrade_domain,
                fault_domain=i.fault_domain,
            )
            for i in deployment.instances
        ),
    )
    return status.model_copy(update={"deployment": record})


def _confirmed_not_issued(desired: DesiredState, status: Status, now: datetime, notes: list[Note]) -> Status:
    # The escape hatch of an unknowable outcome: the user checked (e.g. in the portal) that the
    # request never reached Azure and says so by naming the intent in an annotation.
    operation = status.operation
    if (
        operation is None
        or operation.request_id
        or operation.phase not in (OperationPhase.REQUESTING, OperationPhase.UNKNOWN)
        or desired.confirm_not_issued != operation.intent_id
    ):
        return status
    notes.append(
        Note(
            NORMAL,
            "IntentAbandoned",
            f"{operation.kind} {operation.target}: confirmed not issued by the user",
        )
    )
    entry = HistoryEntry.of(operation, ABANDONED, now, message="confirmed not issued (annotation)")
    return status.with_history(entry).model_copy(update={"operation": None})


def _finish_operation(
    desired: DesiredState,
    observed: ObservedOperation | None,
    status: Status,
    now: datetime,
    notes: list[Note],
) -> Status:
    operation = status.operation
    if (
        operation is None
        or operation.phase is not OperationPhase.IN_PROGRESS
        or observed is None
        or observed.request_id != operation.request_id
        or observed.status == OperationPhase.IN_PROGRESS
    ):
        return status
    succeeded = observed.status != OperationPhase.FAILED
    phase = OperationPhase.SUCCEEDED if succeeded else OperationPhase.FAILED
    finished = operation.model_copy(update={"phase": phase})
    update: dict[str, object] = {"operation": finished}
    if observed.status == LOST:
        entry = HistoryEntry.of(operation, LOST, now, message="the service no longer reports this operation")
        notes.append(
            Note(
                NORMAL, "OperationFinished", f"{_what(operation)}: status no longer available", operation.kind
            )
        )
    elif succeeded:
        entry = HistoryEntry.of(operation, OperationPhase.SUCCEEDED, now)
        notes.append(Note(NORMAL, "OperationSucceeded", f"{_what(operation)} succeeded", operation.kind))
    else:
        entry = HistoryEntry.of(
            operation, OperationPhase.FAILED, now, code=observed.error_code, message=observed.error_message
        )
        notes.append(
            Note(
                WARNING,
                "OperationFailed",
                f"{_what(operation)} failed: {observed.error_code or 'error'}: {observed.error_message}",
                operation.kind,
            )
        )
    if operation.kind is OperationKind.REIMAGE and operation.reimage_generation is not None:
        # Recorded whatever the result: a failed reimage is retried by raising the generation,
        # not by hammering the API with the same request.
        update["reimage"] = {**status.reimage, operation.target: operation.reimage_generation}
    elif operation.kind is OperationKind.WALK_UPGRADE_DOMAIN and succeeded:
        update["walk"] = Walk(domain=operation.upgrade_domain or 0, walked_at=operation.requested_at or now)
    if not succeeded and operation.kind in (OperationKind.UPGRADE, OperationKind.WALK_UPGRADE_DOMAIN):
        update["stalled_spec_digest"] = operation.spec_digest
    elif not succeeded and operation.kind is OperationKind.ROLLBACK:
        update["stalled_spec_digest"] = desired.digests.spec
    return status.with_history(entry).model_copy(update=update)


def _track_gate(
    desired: DesiredState, deployment: ObservedDeployment, status: Status, now: datetime, notes: list[Note]
) -> Status:
    """Advance the domain gate's health window; fail the upgrade when it runs out."""
    operation = status.operation
    if (
        operation is None
        or operation.kind not in (OperationKind.UPGRADE, OperationKind.WALK_UPGRADE_DOMAIN)
        or operation.spec_digest == status.stalled_spec_digest
        or not (operation.phase is OperationPhase.SUCCEEDED or _auto_rollout_running(operation, deployment))
    ):
        return status
    window = _window(desired, deployment, operation, status.walk, now)
    if window is None:
        return status
    walk, gated = window
    if all(i.ready for i in gated):
        walk = walk.model_copy(update={"healthy_since": walk.healthy_since or now})
        return status.model_copy(update={"walk": walk})
    if walk.healthy_since is not None and operation.kind is OperationKind.UPGRADE:
        # Auto: the platform moves on by itself, so a domain turning unhealthy opens a new window.
        walk = walk.model_copy(update={"walked_at": now})
    walk = walk.model_copy(update={"healthy_since": None})
    status = status.model_copy(update={"walk": walk})
    if not desired.gate.require_ready_instances:
        return status
    failure = _gate_failure(desired, walk, gated, now)
    if failure is None:
        return status
    code, message = failure
    notes.append(Note(WARNING, "UpgradeFailed", message))
    entry = HistoryEntry(
        kind=OperationKind.UPGRADE,
        target=f"domain {walk.domain}",
        request_id=operation.request_id,
        result=OperationPhase.FAILED,
        error_code=code,
        error_message=message,
        requested_at=operation.requested_at,
        finished_at=now,
    )
    return status.with_history(entry).model_copy(update={"stalled_spec_digest": operation.spec_digest})


def _auto_rollout_running(operation: Operation, deployment: ObservedDeployment) -> bool:
    # An Auto/Simultaneous upgrade's operation only finishes with the whole rollout: its domains
    # are watched while it runs, so a failing package is caught without waiting for Azure.
    upgrade = deployment.upgrade
    return (
        operation.kind is OperationKind.UPGRADE
        and operation.phase is OperationPhase.IN_PROGRESS
        and upgrade is not None
        and upgrade.type != MANUAL
    )


def _window(
    desired: DesiredState,
    deployment: ObservedDeployment,
    operation: Operation,
    walk: Walk | None,
    now: datetime,
) -> tuple[Walk, list[ObservedInstance]] | None:
    """The gate's window and the instances it watches, or None when no domain is gated."""
    role = desired.role_to_upgrade
    in_scope = [i for i in deployment.instances if role is None or i.role == role]
    upgrade = deployment.upgrade
    if operation.kind is OperationKind.WALK_UPGRADE_DOMAIN:
        domain = operation.upgrade_domain or 0
        if walk is None or walk.domain != domain:
            walk = Walk(domain=domain, walked_at=operation.requested_at or now)
        return walk, [i for i in in_scope if i.upgrade_domain == domain]
    if upgrade is not None and upgrade.type == MANUAL:
        return None  # a Manual update registered: nothing moves until the first walk
    if upgrade is None:
        domain = max(deployment.upgrade_domain_count - 1, 0)
        updated = in_scope
    else:
        domain = upgrade.current_domain
        updated = [i for i in in_scope if i.upgrade_domain < upgrade.current_domain]
    walk = Walk(domain=domain, walked_at=now) if walk is None else walk.model_copy(update={"domain": domain})
    return walk, updated


def _gate_failure(
    desired: DesiredState, walk: Walk, gated: list[ObservedInstance], now: datetime
) -> tuple[str, str] | None:
    elapsed = (now - walk.walked_at).total_seconds()
    faulted = [i for i in gated if i.faulted]
    if faulted and elapsed >= desired.tuning.fault_grace_seconds:
        listing = ", ".join(f"{i.name} is {i.status}" for i in faulted)
        return INSTANCES_FAILING, f"upgrade domain {walk.domain} is failing after the update: {listing}"
    if elapsed >= desired.gate.timeout_seconds:
        waiting = ", ".join(f"{i.name} is {i.status}" for i in gated if not i.ready)
        return (
            DOMAIN_GATE_TIMEOUT,
            f"upgrade domain {walk.domain} not ReadyRole {desired.gate.timeout_seconds:g}s after the update "
            f"reached it: {waiting}",
        )
    return None


def _settle(
    desired: DesiredState, deployment: ObservedDeployment, status: Status, now: datetime, notes: list[Note]
) -> Status:
    """Close what is over: a settled rollout or reimage, the applied digests, a stale stall."""
    operation = status.operation
    update: dict[str, object] = {}
    if operation is not None and operation.phase.finished:
        # A failed rollout has nothing left to settle once no update runs: keeping it would
        # block the next spec behind instances that will never be ReadyRole.
        failed = operation.phase is OperationPhase.FAILED or (
            operation.kind is not OperationKind.ROLLBACK
            and operation.spec_digest == status.stalled_spec_digest
        )
        over = deployment.settled or (failed and deployment.upgrade is None)
        if operation.kind in ROLLOUT_KINDS and over:
            update.update(operation=None, walk=None)
        elif operation.kind is OperationKind.REIMAGE:
            instance = deployment.instance(operation.target)
            waited = (now - (operation.requested_at or now)).total_seconds()
            if instance is None or instance.ready:
                update["operation"] = None
            elif waited >= desired.gate.timeout_seconds:
                update["operation"] = None
                notes.append(
                    Note(
                        WARNING,
                        INSTANCE_NOT_READY,
                        f"{operation.target} still {instance.status} {waited:.0f}s after its reimage",
                    )
                )
    status = status.model_copy(update=update)
    if (
        status.operation is None
        and deployment.settled
        and not drift.reasons(desired, deployment, status.applied)
    ):
        status = _record_applied(desired, status, now)
    stalled = status.stalled_spec_digest
    if (
        stalled
        and stalled != desired.digests.spec
        and deployment.upgrade is None
        and status.operation is None
    ):
        # The spec moved on: the failed one is no longer what the user asks for.
        status = status.model_copy(update={"stalled_spec_digest": ""})
    return status


def _record_applied(desired: DesiredState, status: Status, now: datetime) -> Status:
    digests = desired.digests
    if status.applied is not None and status.applied.spec_digest == digests.spec:
        return status
    applied = Applied(
        package_digest=digests.package,
        configuration_digest=digests.configuration,
        label_digest=digests.label,
        extended_properties_digest=digests.extended_properties,
        extensions_digest=digests.extensions,
        spec_digest=digests.spec,
        generation=desired.generation,
        applied_at=now,
    )
    return status.model_copy(update={"applied": applied})


def _what(operation: Operation) -> str:
    request = f" (request {operation.request_id})" if operation.request_id else ""
    return f"{operation.kind} {operation.target}{request}"
