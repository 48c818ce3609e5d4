"""Decide the ONE next step for a deployment from its state alone.

`plan(desired, observation, status, now)` is pure: no I/O, no clock, no randomness. It reads the
status as `progress.advance` left it (finished operations recorded, gate windows advanced), so
every rule here is a question about values. The order of the questions is the policy:

1. no deployment                        -> Stall DeploymentNotFound (creating one is out of scope)
2. an intent without a request id       -> Recover (find out before anything is issued)
3. an operation in progress             -> Wait
4. locked / busy deployment             -> Wait (Azure would answer 409)
5. an update in progress                -> Rollback (failed, or the spec reverted) | Walk | Wait
6. a failed or rolled-back spec         -> Stall until the spec changes
7. our rollout or reimage settling      -> Wait (an update is over only when all is ReadyRole)
8. drift                                -> Upgrade
9. a reimage generation pending         -> Reimage, one instance at a time
10. otherwise                           -> Nothing
Writes are then held back (`Hold`) under `suspend` or the Observe policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from controller.models.status import (
    HistoryEntry,
    OperationKind,
    OperationPhase,
    Status,
    format_time,
    truncate,
)
from controller.planning import drift, progress
from controller.planning.inputs import (
    BEFORE,
    BUSY_DEPLOYMENT_STATES,
    MANUAL,
    DesiredState,
    Observation,
    ObservedDeployment,
)
from controller.planning.steps import (
    Hold,
    Mutation,
    Nothing,
    Recover,
    Reimage,
    Rollback,
    Stall,
    Step,
    Upgrade,
    Wait,
    WalkUpgradeDomain,
    is_mutation,
)

# Reasons (condition reasons and `Wait`/`Stall` reasons): part of the user-facing contract.
DEPLOYMENT_NOT_FOUND = "DeploymentNotFound"
OPERATION_IN_PROGRESS = "OperationInProgress"
DEPLOYMENT_LOCKED = "DeploymentLocked"
DEPLOYMENT_BUSY = "DeploymentBusy"
UPDATE_IN_PROGRESS = "UpdateInProgress"
DOMAIN_GATE = "WaitingForDomainGate"
DOMAIN_GATE_PAUSE = "DomainGatePause"
INSTANCES_NOT_READY = "InstancesNotReady"
ROLLING_BACK = "RollingBack"
REIMAGE_SETTLING = "ReimageSettling"
REIMAGE_BLOCKED = "ReimageBlocked"
INSTANCE_NOT_FOUND = "InstanceNotFound"
UPGRADE_FAILED = "UpgradeFailed"
ROLLED_BACK = "RolledBack"
ROLLBACK_FAILED = "RollbackFailed"
REQUEST_REJECTED = "RequestRejected"
OBSERVING = "Observing"
SUSPENDED = "Suspended"
REVERT = "Revert"
FAILURE = "Failure"
REJECTED = "Rejected"  # history result of a request Azure refused for good

NOT_RETRIED = "The controller does not retry this spec: change the spec to proceed."


def plan(desired: DesiredState, observation: Observation, status: Status, now: datetime) -> Step:
    """The next step for this deployment."""
    now = truncate(now)
    deployment = observation.deployment
    if deployment is None:
        return Stall(
            DEPLOYMENT_NOT_FOUND,
            "Get Deployment found no deployment; this controller updates existing deployments and "
            "does not create them",
        )
    operation = status.operation
    unanswered = (OperationPhase.REQUESTING, OperationPhase.UNKNOWN)
    if operation is not None and not operation.request_id and operation.phase in unanswered:
        return Recover(operation.intent_id)
    # An Auto/Simultaneous upgrade's operation runs until its last domain: waiting for it would
    # let a failure or a GitOps revert play out to the end. Both are decided during the update.
    if (
        operation is not None
        and operation.phase is OperationPhase.IN_PROGRESS
        and not (_failing_upgrade(deployment, status) or _reverted_upgrade(desired, deployment, status))
    ):
        return Wait(
            OPERATION_IN_PROGRESS,
            f"{operation.kind} {operation.target} in progress (request {operation.request_id})",
            poll_interval(desired, status, now),
        )
    step = _decide(desired, deployment, status, now)
    if is_mutation(step):
        mutation: Mutation = step  # type: ignore[assignment]
        if desired.suspend:
            return Hold(SUSPENDED, planned(mutation, desired, deployment, status), mutation)
        if desired.observe_only:
            return Hold(OBSERVING, planned(mutation, desired, deployment, status), mutation)
    return step


def _failing_upgrade(deployment: ObservedDeployment, status: Status) -> bool:
    operation = status.operation
    return (
        operation is not None
        and operation.kind is OperationKind.UPGRADE
        and operation.spec_digest == status.stalled_spec_digest
        and deployment.upgrade is not None
    )


def _reverted_upgrade(desired: DesiredState, deployment: ObservedDeployment, status: Status) -> bool:
    """The spec went back to what was applied before the upgrade still rolling out."""
    operation = status.operation
    return (
        operation is not None
        and operation.kind is OperationKind.UPGRADE
        and deployment.upgrade is not None
        and status.applied is not None
        and desired.digests.spec == status.applied.spec_digest
        and operation.spec_digest != desired.digests.spec
    )


def poll_interval(desired: DesiredState, status: Status, now: datetime) -> float:
    """How soon to look again at something running: a tenth of how long it has run, bounded.

    A reimage is done in minutes, a large upgrade in an hour: polling both every few seconds
    would spend a subscription's request budget (shared by the fleet) on "still running".
    """
    tuning = desired.tuning
    operation = status.operation
    if operation is None or operation.requested_at is None:
        return tuning.poll_seconds
    running = max(0.0, (now - operation.requested_at).total_seconds())
    return min(max(tuning.poll_seconds, running / 10), max(tuning.max_poll_seconds, tuning.poll_seconds))


def planned(
    step: Mutation, desired: DesiredState, deployment: ObservedDeployment, status: Status
) -> tuple[str, ...]:
    """What the controller would do, in order, for `status.plan` (Observe policy, suspend)."""
    items = [step.describe()]
    if isinstance(step, Upgrade) and step.mode == MANUAL:
        last = max(deployment.upgrade_domain_count - 1, 0)
        items.append(f"Walk upgrade domains 0..{last}, gated by spec.upgrade.domainGate")
    for name, generation in sorted(desired.reimage.items()):
        pending = generation > status.reimage.get(name, 0)
        if pending and not (isinstance(step, Reimage) and step.instance == name):
            items.append(f"Reimage {name} (generation {generation})")
    return tuple(items)


def _decide(desired: DesiredState, deployment: ObservedDeployment, status: Status, now: datetime) -> Step:
    poll = desired.tuning.poll_seconds
    if deployment.locked:
        return Wait(DEPLOYMENT_LOCKED, "the deployment is locked by an operation in progress", poll)
    if deployment.status in BUSY_DEPLOYMENT_STATES:
        return Wait(DEPLOYMENT_BUSY, f"the deployment is {deployment.status}", poll)
    if deployment.upgrade is not None:
        return _during_update(desired, deployment, status, now)
    operation = status.operation
    if status.stalled_spec_digest and status.stalled_spec_digest == desired.digests.spec:
        if operation is not None and operation.kind is OperationKind.ROLLBACK and not deployment.settled:
            return Wait(ROLLING_BACK, "waiting for the rolled-back instances to be ReadyRole", poll)
        return stall_for(status)
    if operation is not None and operation.kind in progress.ROLLOUT_KINDS and not deployment.settled:
        reason = ROLLING_BACK if operation.kind is OperationKind.ROLLBACK else INSTANCES_NOT_READY
        return Wait(reason, _not_ready_message(deployment), poll)
    if operation is not None and operation.kind is OperationKind.REIMAGE:
        return Wait(
            REIMAGE_SETTLING, f"waiting for {operation.target} to be ReadyRole after its reimage", poll
        )
    reasons = drift.reasons(desired, deployment, status.applied)
    if reasons:
        return Upgrade(mode=desired.upgrade_mode, reasons=reasons)
    reimage = _next_reimage(desired, deployment, status)
    if reimage is not None:
        return reimage
    if not deployment.settled:
        return Wait(INSTANCES_NOT_READY, _not_ready_message(deployment), poll)
    return Nothing()


def _during_update(
    desired: DesiredState, deployment: ObservedDeployment, status: Status, now: datetime
) -> Step:
    upgrade = deployment.upgrade
    assert upgrade is not None
    operation = status.operation
    rolling_back = rolling_back_now(status)
    if operation is not None and operation.kind in (OperationKind.UPGRADE, OperationKind.WALK_UPGRADE_DOMAIN):
        rollout_digest = operation.spec_digest
    else:
        rollout_digest = deployment.applied_digest or ""
    if rollback_failed(status):
        return stall_for(status)
    stalled = status.stalled_spec_digest
    if stalled and stalled == rollout_digest and not rolling_back:
        if not desired.rollback_on_failure:
            return stall_for(status, "rollback.onFailure is false, so the update is left as it is")
        if not deployment.rollback_allowed:
            return stall_for(status, "Azure does not allow a rollback now (RollbackAllowed=false)")
        return Rollback(desired.rollback_mode, desired.rollback_force, FAILURE, rollout_digest)
    reverted = (
        status.applied is not None
        and desired.digests.spec == status.applied.spec_digest
        and rollout_digest != desired.digests.spec
    )
    if reverted and not rolling_back and deployment.rollback_allowed:
        return Rollback(desired.rollback_mode, desired.rollback_force, REVERT, rollout_digest)
    if upgrade.type == MANUAL and upgrade.domain_state == BEFORE:
        return _next_walk(desired, deployment, status, now)
    return Wait(
        ROLLING_BACK if rolling_back else UPDATE_IN_PROGRESS,
        f"{upgrade.type} update in progress: upgrade domain {upgrade.current_domain} of "
        f"{deployment.upgrade_domain_count} ({upgrade.domain_state})",
        poll_interval(desired, status, now),
    )


def _next_walk(desired: DesiredState, deployment: ObservedDeployment, status: Status, now: datetime) -> Step:
    upgrade = deployment.upgrade
    assert upgrade is not None
    domain = upgrade.current_domain
    walk = status.walk
    poll = desired.tuning.poll_seconds
    if walk is not None and walk.domain >= domain:
        return Wait(UPDATE_IN_PROGRESS, f"waiting for upgrade domain {walk.domain} to complete", poll)
    if walk is not None:
        gate = desired.gate
        if gate.require_ready_instances and walk.healthy_since is None:
            return Wait(
                DOMAIN_GATE,
                f"waiting for upgrade domain {walk.domain} to be ReadyRole before walking domain {domain}",
                poll,
            )
        since = walk.healthy_since if gate.require_ready_instances and walk.healthy_since else walk.walked_at
        until = since + timedelta(seconds=gate.pause_seconds)
        remaining = (until - now).total_seconds()
        if remaining > 0:
            # The message names the end of the pause, not the time left: it stays the same for
            # the whole pause, so waiting does not rewrite the status every poll.
            return Wait(
                DOMAIN_GATE_PAUSE,
                f"soaking upgrade domain {walk.domain} for {gate.pause_seconds:g}s, until "
                f"{format_time(until)}, before walking domain {domain}",
                min(remaining, max(poll, 1.0)),
            )
    return WalkUpgradeDomain(domain, deployment.upgrade_domain_count)


def _next_reimage(desired: DesiredState, deployment: ObservedDeployment, status: Status) -> Step | None:
    pending = {
        name: generation
        for name, generation in desired.reimage.items()
        if generation > status.reimage.get(name, 0)
    }
    if not pending:
        return None
    unknown = sorted(name for name in pending if deployment.instance(name) is None)
    if unknown:
        return Stall(
            INSTANCE_NOT_FOUND,
            f"spec.reimage names {', '.join(unknown)}, which the deployment does not have",
        )
    instances = {i.name: i for i in deployment.instances}
    troubled = {i.upgrade_domain for i in deployment.instances if not i.ready}
    # Domains that are already down go first; then by domain and name, so one domain's
    # instances are reimaged together and no second domain is ever taken down.
    name = min(
        pending, key=lambda n: (instances[n].upgrade_domain not in troubled, instances[n].upgrade_domain, n)
    )
    target = instances[name]
    others = sorted(
        i.name for i in deployment.instances if not i.ready and i.upgrade_domain != target.upgrade_domain
    )
    if others:
        return Wait(
            REIMAGE_BLOCKED,
            f"not reimaging {name} (upgrade domain {target.upgrade_domain}) while "
            f"{', '.join(others)} of another upgrade domain is not ReadyRole",
            desired.tuning.poll_seconds,
        )
    return Reimage(name, pending[name], target.upgrade_domain)


def rolling_back_now(status: Status) -> bool:
    """True while the update in progress is a rollback (the last of Upgrade/Rollback was a rollback)."""
    operation = status.operation
    if operation is not None and operation.kind is OperationKind.ROLLBACK:
        return operation.phase is not OperationPhase.FAILED
    if operation is None or operation.kind is not OperationKind.WALK_UPGRADE_DOMAIN:
        return False
    for entry in reversed(status.history):
        if entry.kind == OperationKind.ROLLBACK and entry.result == OperationPhase.SUCCEEDED:
            return True
        if entry.kind == OperationKind.UPGRADE and entry.result == OperationPhase.SUCCEEDED:
            return False
    return False


def rollback_failed(status: Status) -> bool:
    """True when the last rollout request (upgrade or rollback) was a rollback that failed or was refused."""
    settled_results = (OperationPhase.SUCCEEDED.value, OperationPhase.FAILED.value, REJECTED)
    for entry in reversed(status.history):
        if entry.kind in (OperationKind.UPGRADE, OperationKind.ROLLBACK) and entry.result in settled_results:
            return entry.kind == OperationKind.ROLLBACK and entry.result != OperationPhase.SUCCEEDED
    return False


def stall_for(status: Status, detail: str = "") -> Stall:
    """The Stall for a spec that failed, was rolled back or was refused, from the history."""
    failure = _last_failure(status.history)
    rolled_back = _rolled_back_after(status.history, failure)
    extra = f"; {detail}" if detail else ""
    if failure is None:
        return Stall(UPGRADE_FAILED, f"the upgrade to this spec failed{extra}. {NOT_RETRIED}")
    what = f"{failure.error_code or 'error'}: {failure.error_message}".rstrip(": ")
    if failure.kind == OperationKind.ROLLBACK:
        return Stall(ROLLBACK_FAILED, f"the rollback failed ({what}){extra}. {NOT_RETRIED}")
    if failure.result == REJECTED:
        return Stall(
            REQUEST_REJECTED, f"Azure refused the {failure.kind} request ({what}){extra}. {NOT_RETRIED}"
        )
    if rolled_back:
        return Stall(ROLLED_BACK, f"the upgrade failed ({what}) and was rolled back{extra}. {NOT_RETRIED}")
    return Stall(UPGRADE_FAILED, f"the upgrade failed ({what}){extra}. {NOT_RETRIED}")


def _last_failure(history: tuple[HistoryEntry, ...]) -> HistoryEntry | None:
    failed = (OperationPhase.FAILED.value, REJECTED)
    return next((entry for entry in reversed(history) if entry.result in failed), None)


def _rolled_back_after(history: tuple[HistoryEntry, ...], failure: HistoryEntry | None) -> bool:
    if failure is None:
        return False
    later = history[history.index(failure) + 1 :]
    return any(e.kind == OperationKind.ROLLBACK and e.result == OperationPhase.SUCCEEDED for e in later)


def _not_ready_message(deployment: ObservedDeployment) -> str:
    waiting = [i for i in deployment.instances if not i.ready]
    if not waiting:
        return f"waiting for the deployment to be Running (it is {deployment.status})"
    listing = ", ".join(f"{i.name} is {i.status}" for i in waiting[:5])
    more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
    return f"waiting for instances to be ReadyRole: {listing}{more}"
