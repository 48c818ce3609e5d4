"""What a sandbox run is asked to do, how it can end, and the pace of its guided tour.

Kept apart from the runner so the session, the scenario and the command line share these
values without importing each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from controller import assets
from controller.emulator.timings import Timings

CRD_PATH = assets.crd_path()
LOG_FILE = "sandbox.log"
# The pace of the guided tour at --speed 1: a full run in under a minute, slow enough to see
# each upgrade domain and instance state go by. --speed divides every duration.
BASE_TIMINGS = Timings(
    accept_seconds=0.4, instance_step_seconds=0.4, upgrade_domain_seconds=0.8, health_timeout_seconds=10.0
)
# How often the controller re-reads an operation or update in progress, at --speed 1.
BASE_POLL_SECONDS = 0.5


class SandboxError(Exception):
    """The sandbox could not start or broke down (as opposed to a scenario step not passing)."""


class Outcome(enum.Enum):
    CONVERGED = "converged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class RunResult:
    """How the run ended, in one sentence for the last line of output."""

    outcome: Outcome
    message: str = ""


@dataclass(frozen=True)
class Options:
    """The command line, resolved."""

    keep: bool
    speed: float
    state_dir: Path | None
    live: bool
    timeout: float
    examples_dir: Path

    def timings(self) -> Timings:
        """The emulator's durations at this speed."""
        base = BASE_TIMINGS
        return Timings(
            accept_seconds=base.accept_seconds / self.speed,
            instance_step_seconds=base.instance_step_seconds / self.speed,
            upgrade_domain_seconds=base.upgrade_domain_seconds / self.speed,
            health_timeout_seconds=base.health_timeout_seconds / self.speed,
        )

    def poll_seconds(self) -> float:
        return max(0.05, BASE_POLL_SECONDS / self.speed)
