"""The emulated fabric controller's updates: upgrades, configuration changes and rollbacks rolling
across upgrade domains once accepted.

The backend (`backend.py`) decides whether an update may happen; the fabric makes it happen:
Auto updates walk the domains by themselves, Manual ones one walk at a time, Simultaneous ones
all at once; instances step through their states and operation records finish. Observable
sequence of an update (reference §12):

    accept:   Locked, Status RunningTransitioning, UpgradeStatus {mode, Before, 0}, new Label
    domain n: UpgradeStatus {mode, During, n}; its instances restart on the new revision
    done n:   UpgradeStatus {mode, Before, n+1} (Auto waits upgradeDomainSeconds, Manual a walk)
    end:      UpgradeStatus removed, Status Running, operation Succeeded

Auto/Simultaneous operations succeed at the end; a Manual update's operation succeeds once it is
registered, and each walk is its own operation finishing with its domain. A failure (see
`behaviours.py`) halts the update where it is: RollbackAllowed stays true until a rollback or a
new update replaces it.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.emulator import behaviours, errors, progress, records, state, topology
from controller.emulator.progress import Action
from controller.emulator.timings import Timings

SUPERSEDED = errors.InjectedError(
    409,
    "ConflictError",
    "The operation was superseded by a later update, rollback or deletion of the deployment.",
)


class Fabric:
    """Time-driven behaviour of deployments, on top of the scheduler and instance sequences."""

    def __init__(
        self,
        scheduler: progress.Scheduler,
        steps: progress.InstanceSteps,
        operations: records.OperationLog,
        packages: behaviours.PackageBehaviours,
        timings: Callable[[], Timings],
    ) -> None:
        self._scheduler = scheduler
        self._steps = steps
        self._operations = operations
        self._packages = packages
        self._timings = timings

    # -- updates -------------------------------------------------------------------------------

    def start_update(self, deployment: state.Deployment, update: state.Update, now: float) -> None:
        """Accept an update (replacing any update in progress) and start rolling it."""
        self.supersede(deployment, now)
        deployment.revision = update.target
        self.reshape(deployment, now)
        deployment.update = update
        deployment.status = "SuspendedTransitioning" if deployment.suspended() else "RunningTransitioning"
        deployment.modified = now
        self._after_accept(deployment, now, lambda at: self._accepted(deployment, at))

    def walk(self, deployment: state.Deployment, domain: int, operation_id: str, now: float) -> None:
        """Start processing the next domain of a Manual update."""
        assert deployment.update is not None  # the backend checked a Manual update is pending
        deployment.update.walk_operation_id = operation_id
        self._after_accept(deployment, now, lambda at: self._process(deployment, domain, at))

    def _accepted(self, deployment: state.Deployment, at: float) -> None:
        update = deployment.update
        assert update is not None
        if update.mode == "Manual":
            self._operations.succeed(update.operation_id, at)  # registered: walks do the rest
        elif update.mode == "Simultaneous":
            self._process(deployment, None, at)
        else:
            self._process(deployment, 0, at)

    def _process(self, deployment: state.Deployment, domain: int | None, at: float) -> None:
        """Restart the affected instances of one domain (None: all domains at once)."""
        update = deployment.update
        assert update is not None
        update.domain, update.domain_state = domain or 0, "During"
        targets = [
            inst
            for inst in deployment.instances
            if inst.role in update.roles
            and inst.revision != update.target.number
            and (domain is None or inst.upgrade_domain == domain)
        ]
        update.processing = tuple(inst.name for inst in targets)
        states, final = self._restart_path(deployment, update.target)
        check = progress.guard(deployment, lambda when: self._check_domain(deployment, when))
        for inst in targets:
            inst.revision = update.target.number  # touched: no longer counts as "old version"
            self._steps.run(inst, states, final, at, on_settled=check)
        if not targets:
            self._domain_done(deployment, at)

    def _check_domain(self, deployment: state.Deployment, at: float) -> None:
        update = deployment.update
        if update is None or not update.processing:
            return
        instances = [deployment.instance(name) for name in update.processing]
        if all(inst is None or inst.settled for inst in instances):
            self._domain_done(deployment, at)

    def _domain_done(self, deployment: state.Deployment, at: float) -> None:
        update = deployment.update
        assert update is not None
        processed = [inst for inst in map(deployment.instance, update.processing) if inst is not None]
        update.processing = ()
        health = _health(processed)
        last = update.mode == "Simultaneous" or update.domain >= deployment.upgrade_domain_count() - 1
        if health == "failing":
            self._halt(deployment, self._packages.of(update.target.package_url).error(), at)
        elif update.mode == "Manual":
            self._operations.succeed(update.walk_operation_id, at)
            update.walk_operation_id = None
            self._next_domain(deployment, last, at)
        elif health == "cycling":
            self._await_health(deployment, processed, at)
        elif last:
            self._complete(deployment, at)
        else:
            self._next_domain(deployment, last, at)
            upcoming, pause = update.domain, self._timings().upgrade_domain_seconds
            self._scheduler.at(
                at + pause, progress.guard(deployment, lambda when: self._process(deployment, upcoming, when))
            )

    def _next_domain(self, deployment: state.Deployment, last: bool, at: float) -> None:
        update = deployment.update
        assert update is not None
        if last:
            self._complete(deployment, at)
        else:
            update.domain, update.domain_state = update.domain + 1, "Before"

    def _await_health(
        self, deployment: state.Deployment, processed: list[state.RoleInstance], at: float
    ) -> None:
        """Cycling instances: the fabric waits for them (they never recover), then gives up."""
        timeout = self._timings().health_timeout_seconds
        assert deployment.update is not None
        domain = deployment.update.domain
        names = ", ".join(
            f"{inst.name} ({inst.status})" for inst in processed if inst.status != state.READY_ROLE
        )
        error = errors.OperationTimedOut(
            f"Role instances in upgrade domain {domain} did not reach ReadyRole "
            f"within {timeout:g} seconds: {names}."
        )
        self._scheduler.at(
            at + timeout, progress.guard(deployment, lambda when: self._halt(deployment, error, when))
        )

    def _halt(self, deployment: state.Deployment, error: errors.EmulatorError, at: float) -> None:
        update = deployment.update
        assert update is not None
        update.halted = True
        self._operations.fail(update.walk_operation_id or update.operation_id, at, error)
        update.walk_operation_id = None

    def _complete(self, deployment: state.Deployment, at: float) -> None:
        update = deployment.update
        assert update is not None
        deployment.update = None
        deployment.baseline = update.target
        deployment.status = "Suspended" if deployment.suspended() else "Running"
        deployment.modified = at
        for inst in deployment.instances:
            inst.revision = update.target.number  # roles left out by RoleToUpgrade now belong to it too
        self._operations.succeed(update.operation_id, at)

    def supersede(self, deployment: state.Deployment, now: float) -> None:
        """Cancel the pending transitions of the update in progress and fail its operations."""
        deployment.epoch += 1
        previous = deployment.update
        if previous is not None:
            self._operations.fail(previous.walk_operation_id, now, SUPERSEDED)
            self._operations.fail(previous.operation_id, now, SUPERSEDED)
        deployment.update = None

    def reshape(self, deployment: state.Deployment, now: float) -> None:
        """Add and remove instances to match the configuration; new ones start right away."""
        removed, created = topology.reshape(deployment)
        for inst in removed:
            self._steps.cancel(inst)
        final = self._packages.of(deployment.revision.package_url).final_status()
        states, final = progress.creation(deployment, final)
        for inst in created:
            self._steps.run(inst, states, final, now)

    # -- helpers -------------------------------------------------------------------------------

    def _after_accept(self, deployment: state.Deployment, now: float, then: Action) -> None:
        """Hold the deployment Locked for the accepting phase, then continue with `then`."""
        accept = self._timings().accept_seconds
        deployment.locked_until = now + accept
        self._scheduler.at(now + accept, progress.guard(deployment, then))

    def _restart_path(
        self, deployment: state.Deployment, revision: state.Revision
    ) -> tuple[tuple[str, ...], str]:
        if deployment.suspended():
            return (), progress.STOPPED_VM  # a suspended deployment takes the new bits without starting
        return progress.RESTART, self._packages.of(revision.package_url).final_status()


def _health(instances: list[state.RoleInstance]) -> str:
    statuses = {inst.status for inst in instances}
    if behaviours.FAILED_STARTING_ROLE in statuses:
        return "failing"
    if behaviours.RESTARTING_ROLE in statuses:
        return "cycling"
    return "healthy"
