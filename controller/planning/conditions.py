"""Phase, kstatus conditions, domain progress and plan: how a step reads to users and tools.

`Ready`, `Reconciling` and `Stalled` follow kstatus (what `kubectl wait`, Argo CD and Flux read):
exactly one story at a time — in sync (Ready), working on it (Reconciling), or blocked on the
user (Stalled). Every condition carries the generation it speaks about, and its
`lastTransitionTime` moves only when its status flips (reason and message may change freely).
"""

from __future__ import annotations

from datetime import datetime

from controller.models.status import (
    Condition,
    ConditionType,
    OperationKind,
    OperationPhase,
    Phase,
    Status,
    truncate,
)
from controller.planning import planner
from controller.planning.inputs import MANUAL
from controller.planning.steps import (
    Hold,
    Nothing,
    Recover,
    Reimage,
    Rollback,
    Stall,
    Step,
    Upgrade,
    Wait,
    WalkUpgradeDomain,
)

TRUE = "True"
FALSE = "False"
IN_SYNC = "InSync"
PROGRESSING = "Progressing"
RECOVERING = "Recovering"

_PHASE_OF_KIND = {
    OperationKind.UPGRADE: Phase.UPGRADING,
    OperationKind.WALK_UPGRADE_DOMAIN: Phase.WALKING_DOMAINS,
    OperationKind.REIMAGE: Phase.REIMAGING,
    OperationKind.ROLLBACK: Phase.ROLLING_BACK,
}


def describe(
    status: Status,
    step: Step,
    now: datetime,
    *,
    generation: int,
    suspend: bool = False,
    observe_only: bool = False,
) -> Status:
    """`status` with observedGeneration, phase, conditions, domainProgress and plan set for `step`."""
    now = truncate(now)
    ready, reconciling, stalled = _conditions(status, step)
    conditions = _set_conditions(status, (ready, reconciling, stalled), generation, now)
    return status.model_copy(
        update={
            "observed_generation": generation,
            "phase": phase(status, step, suspend=suspend, observe_only=observe_only),
            "conditions": conditions,
            "domain_progress": domain_progress(status),
            "plan": step.planned if isinstance(step, Hold) else (),
        }
    )


def describe_retrying(status: Status, reason: str, message: str, now: datetime, *, generation: int) -> Status:
    """A transient failure: Reconciling with the reason; Ready stays what was last known.

    The deployment could not be observed, so nothing says it changed: flipping Ready on every
    network blip would page people for nothing, and keeping it is what was last true.
    """
    now = truncate(now)
    previous = status.condition(ConditionType.READY)
    ready = (
        (previous.status, previous.reason, previous.message)
        if previous is not None
        else (FALSE, reason, message)
    )
    conditions = _set_conditions(
        status, (ready, (TRUE, reason, message), (FALSE, PROGRESSING, message)), generation, now
    )
    return status.model_copy(
        update={
            "observed_generation": generation,
            "conditions": conditions,
            "phase": status.phase or Phase.PENDING,
        }
    )


def _set_conditions(
    status: Status, triples: tuple[Triple, Triple, Triple], generation: int, now: datetime
) -> tuple[Condition, ...]:
    return tuple(
        _transition(status.condition(kind), kind, state, reason, message, generation, now)
        for kind, (state, reason, message) in zip(
            (ConditionType.READY, ConditionType.RECONCILING, ConditionType.STALLED), triples, strict=True
        )
    )


def phase(status: Status, step: Step, *, suspend: bool = False, observe_only: bool = False) -> Phase:
    """The one-word summary (`status.phase`, printer column PHASE)."""
    if suspend:
        return Phase.SUSPENDED
    if observe_only:
        return Phase.OBSERVING
    if isinstance(step, Stall):
        return Phase.FAILED
    if isinstance(step, Nothing):
        return Phase.READY
    if isinstance(step, Upgrade | WalkUpgradeDomain | Reimage | Rollback):
        return _PHASE_OF_KIND[step.kind]
    operation = status.operation
    deployment = status.deployment
    manual = deployment is not None and deployment.upgrade is not None and deployment.upgrade.type == MANUAL
    if (isinstance(step, Wait) and step.reason == planner.ROLLING_BACK) or planner.rolling_back_now(status):
        return Phase.ROLLING_BACK
    if operation is not None:
        if operation.kind is OperationKind.UPGRADE and manual and operation.phase is OperationPhase.SUCCEEDED:
            return Phase.WALKING_DOMAINS
        return _PHASE_OF_KIND[operation.kind]
    if deployment is not None and deployment.upgrade is not None:
        return Phase.WALKING_DOMAINS if manual else Phase.UPGRADING
    return Phase.PENDING


def domain_progress(status: Status) -> str:
    """`current/count` of the update in progress (printer column DOMAIN), `-` when none runs."""
    deployment = status.deployment
    if deployment is None or deployment.upgrade is None:
        return "-"
    return f"{deployment.upgrade.current_domain}/{deployment.upgrade_domain_count}"


Triple = tuple[str, str, str]


def _conditions(status: Status, step: Step) -> tuple[Triple, Triple, Triple]:
    """(status, reason, message) of Ready, Reconciling and Stalled."""
    if isinstance(step, Nothing):
        message = _in_sync_message(status)
        return (TRUE, IN_SYNC, message), (FALSE, IN_SYNC, message), (FALSE, IN_SYNC, message)
    if isinstance(step, Stall):
        return (
            (FALSE, step.reason, step.message),
            (FALSE, step.reason, step.message),
            (TRUE, step.reason, step.message),
        )
    if isinstance(step, Hold):
        message = f"{step.reason}: not writing; planned: {'; '.join(step.planned)}"
        return (FALSE, step.reason, message), (FALSE, step.reason, message), (FALSE, step.reason, message)
    if isinstance(step, Wait):
        reason, message = step.reason, step.message
    elif isinstance(step, Recover):
        reason = RECOVERING
        message = f"finding out whether intent {step.intent_id} reached Azure before issuing anything"
    else:
        reason, message = _PHASE_OF_KIND[step.kind].value, step.describe()
    return (FALSE, reason, message), (TRUE, reason, message), (FALSE, PROGRESSING, message)


def _in_sync_message(status: Status) -> str:
    deployment = status.deployment
    if deployment is None:
        return "the deployment matches the spec"
    return (
        f"the deployment matches the spec: {len(deployment.instances)} instances ReadyRole, "
        f"label {deployment.label!r}"
    )


def _transition(
    previous: Condition | None,
    kind: str,
    state: str,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> Condition:
    unchanged = (
        previous is not None and previous.status == state and previous.last_transition_time is not None
    )
    return Condition(
        type=kind,
        status=state,
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=previous.last_transition_time if unchanged and previous else now,
    )
