"""Turn a mutating step into the intent recorded in `status.operation` before the call.

The intent id names one attempt: a hash of what is done (kind, target, spec digest, generation,
domain or reimage generation) and when it was decided. The time is part of it so that an old
`confirm-not-issued` annotation can never vouch for a later intent that looks the same.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from controller.models.status import Operation, OperationKind, OperationPhase, Status, truncate
from controller.planning.inputs import DesiredState
from controller.planning.steps import Mutation, Reimage, Rollback, WalkUpgradeDomain

INTENT_ID_LENGTH = 16


def intent_for(step: Mutation, desired: DesiredState, status: Status, now: datetime) -> Operation:
    """The `status.operation` that records `step` as about to be requested."""
    now = truncate(now)
    spec_digest = desired.digests.spec
    upgrade_domain = None
    reimage_generation = None
    if isinstance(step, WalkUpgradeDomain):
        upgrade_domain = step.upgrade_domain
        # A walk belongs to the update it advances, not to whatever the spec says now.
        previous = status.operation
        if previous is not None and previous.kind in (
            OperationKind.UPGRADE,
            OperationKind.WALK_UPGRADE_DOMAIN,
        ):
            spec_digest = previous.spec_digest
    elif isinstance(step, Reimage):
        reimage_generation = step.reimage_generation
    elif isinstance(step, Rollback):
        spec_digest = step.rolled_back_digest
    parts = [
        str(step.kind),
        step.target,
        spec_digest,
        str(desired.generation),
        str(upgrade_domain if upgrade_domain is not None else ""),
        str(reimage_generation if reimage_generation is not None else ""),
        now.isoformat(),
    ]
    intent_id = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:INTENT_ID_LENGTH]
    return Operation(
        kind=step.kind,
        target=step.target,
        intent_id=intent_id,
        request_id="",
        phase=OperationPhase.REQUESTING,
        requested_at=now,
        spec_digest=spec_digest,
        generation=desired.generation,
        upgrade_domain=upgrade_domain,
        reimage_generation=reimage_generation,
    )
