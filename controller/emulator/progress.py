"""State progression on the clock: a timer queue and the instance state sequences.

Progression is a lazy discrete-event simulation. Nothing runs in the background: operations put
timed transitions on the `Scheduler`, and before every request the backend runs every transition
that is due by the clock's current time, in (due time, insertion) order, each with its own due
time as "now". So the observable state is a function of the requests received and the clock:
deterministic (a frozen clock makes it exact), cheap (no task wakes up while nobody looks), and
instant when timings are 0 (every transition is due by the next request). Timestamps such as
OperationCompletedTime are the due times, not the time somebody happened to look.

A transition that belongs to something superseded (an update replaced by a rollback, an instance
restarted again) checks a token it captured (`Deployment.epoch`, `RoleInstance.sequence`) and
does nothing.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from controller.emulator import state
from controller.emulator.timings import Timings

Action = Callable[[float], None]

# Instance state sequences (reference §12); the final state depends on the package's behaviour.
# An in-place update or a reboot restarts the role on the same VM.
RESTART = ("StoppingRole", "StoppedVM", "StartingVM", "StartingRole", "BusyRole")
# Reimage and rebuild lay down a fresh OS image, so the role is created again.
REIMAGE = ("StoppingRole", "StoppedVM", "StartingVM", "CreatingRole", "StartingRole", "BusyRole")
# A new instance; right after deploy the wire shows RoleStateUnknown with PowerState Starting.
CREATE = ("RoleStateUnknown", "CreatingVM", "StartingVM", "CreatingRole", "StartingRole", "BusyRole")
# Created but not started (StartDeployment=false), and Suspend / Resume of a deployment.
CREATE_STOPPED = ("RoleStateUnknown", "CreatingVM", "StartingVM", "CreatingRole", "StoppingRole")
STOP = ("StoppingRole",)
START = ("StartingVM", "StartingRole", "BusyRole")
STOPPED_VM = "StoppedVM"

POWER_STATES = {
    "RoleStateUnknown": "Starting",
    "CreatingVM": "Starting",
    "StartingVM": "Starting",
    "CreatingRole": "Starting",
    "StartingRole": "Starting",
    "BusyRole": "Started",
    "ReadyRole": "Started",
    "RestartingRole": "Started",
    "FailedStartingRole": "Started",
    "StoppingRole": "Stopping",
    "StoppedVM": "Stopped",
}


def guard(deployment: state.Deployment, action: Action) -> Action:
    """`action`, unless the deployment moved on (superseded update, deletion) in the meantime."""
    epoch = deployment.epoch

    def run(at: float) -> None:
        if deployment.epoch == epoch:
            action(at)

    return run


def creation(deployment: state.Deployment, final: str) -> tuple[tuple[str, ...], str]:
    """The sequence of a new instance: started (ending in `final`) unless the deployment is suspended."""
    if deployment.suspended():
        return CREATE_STOPPED, STOPPED_VM
    return CREATE, final


class Scheduler:
    """Timed transitions, run in order when the clock passes their due time."""

    # A transition chain that never ends with 0 timings would hang a request; fail loudly instead.
    MAX_TRANSITIONS_PER_RUN = 1_000_000

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, Action]] = []
        self._order = itertools.count()

    def at(self, due: float, action: Action) -> None:
        heapq.heappush(self._queue, (due, next(self._order), action))

    def run_until(self, now: float) -> None:
        for _ in range(self.MAX_TRANSITIONS_PER_RUN):
            if not self._queue or self._queue[0][0] > now:
                return
            due, _, action = heapq.heappop(self._queue)
            action(due)
        raise RuntimeError("state progression did not settle: a transition chain keeps rescheduling itself")

    def clear(self) -> None:
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)


def set_status(instance: state.RoleInstance, status: str) -> None:
    instance.status = status
    instance.power_state = POWER_STATES.get(status, "Unknown")


class InstanceSteps:
    """Moves instances through a state sequence, one `instanceStepSeconds` per state."""

    def __init__(self, scheduler: Scheduler, timings: Callable[[], Timings]) -> None:
        self._scheduler = scheduler
        self._timings = timings

    def run(
        self,
        instance: state.RoleInstance,
        states: tuple[str, ...],
        final: str,
        now: float,
        on_settled: Action | None = None,
    ) -> None:
        """Start `states` now, end in `final`, then call `on_settled` with the settle time."""
        instance.sequence += 1
        instance.settled = False
        token = instance.sequence
        path = (*states, final)

        def step(position: int, at: float) -> None:
            if instance.sequence != token:
                return  # a newer sequence took over this instance
            set_status(instance, path[position])
            if position + 1 < len(path):
                delay = self._timings().instance_step_seconds
                self._scheduler.at(at + delay, lambda due: step(position + 1, due))
                return
            instance.settled = True
            if on_settled is not None:
                on_settled(at)

        step(0, now)

    def cancel(self, instance: state.RoleInstance) -> None:
        """Forget any sequence in flight for the instance (it keeps its current state)."""
        instance.sequence += 1
        instance.settled = True
