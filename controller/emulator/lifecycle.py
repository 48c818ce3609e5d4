"""Whole-deployment and single-instance operations: create, delete, suspend/resume, reboot/reimage.

Unlike updates, these hold the deployment for their whole duration (`exclusive_operation`:
Get Deployment shows `Locked=true` and other writes get 409) until every instance involved has
settled; then the operation succeeds, or fails if an instance could not start (a failing package).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from controller.emulator import behaviours, progress, records, state, topology
from controller.emulator.progress import Action
from controller.emulator.timings import Timings

Supersede = Callable[[state.Deployment, float], None]


class Lifecycle:
    """Time-driven create/delete/status/instance operations."""

    def __init__(
        self,
        scheduler: progress.Scheduler,
        steps: progress.InstanceSteps,
        operations: records.OperationLog,
        packages: behaviours.PackageBehaviours,
        timings: Callable[[], Timings],
        supersede: Supersede,
    ) -> None:
        self._scheduler = scheduler
        self._steps = steps
        self._operations = operations
        self._packages = packages
        self._timings = timings
        self._supersede = supersede

    def deploy(self, deployment: state.Deployment, operation_id: str, now: float) -> None:
        """Create the instances of a new deployment; the operation ends when all have started."""
        states, final = progress.creation(deployment, self._final_status(deployment))
        deployment.instances = topology.declared_instances(deployment)
        self._exclusive(deployment, operation_id, deployment.instances, states, final, now)

    def change_status(
        self, deployment: state.Deployment, running: bool, operation_id: str, now: float
    ) -> None:
        """Update Deployment Status: stop (Suspending -> Suspended) or start (Starting -> Running)."""
        if running != deployment.suspended():
            self._operations.succeed(operation_id, now)  # already there: nothing to do
            return
        deployment.status, deployment.modified = ("Starting" if running else "Suspending"), now
        states: tuple[str, ...] = progress.START if running else progress.STOP
        final = self._final_status(deployment) if running else progress.STOPPED_VM
        settled_status = "Running" if running else "Suspended"

        def settled(at: float) -> None:
            deployment.status = settled_status

        self._exclusive(deployment, operation_id, deployment.instances, states, final, now, settled)

    def restart_instance(
        self,
        deployment: state.Deployment,
        instance: state.RoleInstance,
        reimage: bool,
        operation_id: str,
        now: float,
    ) -> None:
        """Reboot (same VM) or reimage/rebuild (fresh OS image: the role is created again)."""
        states = progress.REIMAGE if reimage else progress.RESTART
        self._exclusive(deployment, operation_id, [instance], states, self._final_status(deployment), now)

    def delete(
        self, service: state.HostedService, deployment: state.Deployment, operation_id: str, now: float
    ) -> None:
        """Delete Deployment: Status Deleting (Locked) during the accepting phase, then gone.
        Allowed while an update rolls; that update's operations fail."""
        self._supersede(deployment, now)
        deployment.status, deployment.exclusive_operation = "Deleting", operation_id

        def remove(at: float) -> None:
            if service.deployments.get(deployment.slot) is deployment:
                del service.deployments[deployment.slot]
            for inst in deployment.instances:
                self._steps.cancel(inst)
            self._operations.succeed(operation_id, at)

        self._scheduler.at(now + self._timings().accept_seconds, progress.guard(deployment, remove))

    def _exclusive(
        self,
        deployment: state.Deployment,
        operation_id: str,
        instances: Iterable[state.RoleInstance],
        states: tuple[str, ...],
        final: str,
        now: float,
        on_settled: Action | None = None,
    ) -> None:
        """Run instance sequences holding the deployment until all have settled."""
        targets = list(instances)
        deployment.exclusive_operation = operation_id
        deployment.locked_until = now + self._timings().accept_seconds

        def check(at: float) -> None:
            if deployment.exclusive_operation == operation_id and all(inst.settled for inst in targets):
                self._release(deployment, operation_id, targets, at, on_settled)

        guarded = progress.guard(deployment, check)
        for inst in targets:
            self._steps.run(inst, states, final, now, on_settled=guarded)
        if not targets:
            self._release(deployment, operation_id, targets, now, on_settled)

    def _release(
        self,
        deployment: state.Deployment,
        operation_id: str,
        instances: list[state.RoleInstance],
        at: float,
        on_settled: Action | None,
    ) -> None:
        deployment.exclusive_operation = None
        if on_settled is not None:
            on_settled(at)
        if any(inst.status == behaviours.FAILED_STARTING_ROLE for inst in instances):
            self._operations.fail(
                operation_id, at, self._packages.of(deployment.revision.package_url).error()
            )
        else:
            self._operations.succeed(operation_id, at)

    def _final_status(self, deployment: state.Deployment) -> str:
        return self._packages.of(deployment.revision.package_url).final_status()
