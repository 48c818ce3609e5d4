"""The one next step the planner chooses: a value the reconciler performs and records.

Mutating steps (`Upgrade`, `WalkUpgradeDomain`, `Reimage`, `Rollback`) become an intent in
`status.operation` before anything is sent. The others only shape status and the requeue:
`Wait` (something runs, come back soon), `Recover` (find out what happened to an intent),
`Stall` (the user must act), `Hold` (a write is due but policy forbids it), `Nothing` (in sync).
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.models.status import OperationKind


@dataclass(frozen=True)
class Upgrade:
    """Upgrade Deployment to the desired package, configuration, label and properties."""

    mode: str
    reasons: tuple[str, ...]
    kind = OperationKind.UPGRADE

    @property
    def target(self) -> str:
        return "deployment"

    def describe(self) -> str:
        return f"Upgrade deployment ({self.mode}): {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class WalkUpgradeDomain:
    """Walk the next upgrade domain of a Manual update."""

    upgrade_domain: int
    upgrade_domain_count: int
    kind = OperationKind.WALK_UPGRADE_DOMAIN

    @property
    def target(self) -> str:
        return f"domain {self.upgrade_domain}"

    def describe(self) -> str:
        return f"Walk upgrade domain {self.upgrade_domain} of {self.upgrade_domain_count}"


@dataclass(frozen=True)
class Reimage:
    """Reimage one role instance, once for this reimage generation."""

    instance: str
    reimage_generation: int
    upgrade_domain: int
    kind = OperationKind.REIMAGE

    @property
    def target(self) -> str:
        return self.instance

    def describe(self) -> str:
        return (
            f"Reimage {self.instance} (upgrade domain {self.upgrade_domain}, "
            f"generation {self.reimage_generation})"
        )


@dataclass(frozen=True)
class Rollback:
    """Roll back the update in progress (a revert of the spec, or a failed upgrade)."""

    mode: str
    force: bool
    reason: str  # "Revert" | "Failure"
    rolled_back_digest: str  # the spec digest of the update being rolled back
    kind = OperationKind.ROLLBACK

    @property
    def target(self) -> str:
        return "deployment"

    def describe(self) -> str:
        why = "the spec reverted" if self.reason == "Revert" else "the upgrade failed"
        return f"Roll back the update in progress ({self.mode}): {why}"


Mutation = Upgrade | WalkUpgradeDomain | Reimage | Rollback


@dataclass(frozen=True)
class Wait:
    """Nothing to send now: `reason` is running or pending; look again after `requeue_after`."""

    reason: str
    message: str
    requeue_after: float


@dataclass(frozen=True)
class Recover:
    """An intent was recorded but its outcome is unknown: find out before issuing anything."""

    intent_id: str


@dataclass(frozen=True)
class Stall:
    """The controller cannot proceed without the user; `reason`/`message` say why."""

    reason: str
    message: str


@dataclass(frozen=True)
class Hold:
    """A write is due but `reason` (Observing | Suspended) forbids it; `planned` lists it."""

    reason: str
    planned: tuple[str, ...]
    pending: Mutation | None = None


@dataclass(frozen=True)
class Nothing:
    """In sync: nothing to do until the next sync."""


Step = Upgrade | WalkUpgradeDomain | Reimage | Rollback | Wait | Recover | Stall | Hold | Nothing

MUTATIONS = (Upgrade, WalkUpgradeDomain, Reimage, Rollback)


def is_mutation(step: Step) -> bool:
    """True for the steps that send a mutating request to Azure."""
    return isinstance(step, MUTATIONS)
