"""Timing knobs of the reconcile loop, set once by the composition root (tests shrink them)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ReconcileConfig:
    """How often to look again, how to back off, and how far back recovery searches."""

    poll_seconds: float = 5.0  # an operation or update in progress is re-read this often at first,
    max_poll_seconds: float = 60.0  # and at most this seldom (a tenth of its age in between)
    fault_grace_seconds: float = 60.0  # instances may sit in a fault state this long after an update
    recovery_margin_seconds: float = 300.0  # List Subscription Operations from requestedAt minus this
    # A request sent less than this long ago may still be on its way (client timeout 60 s, plus
    # margin): until then, not finding it proves nothing, so recovery waits instead of re-issuing.
    in_flight_seconds: float = 90.0
    retry_base_seconds: float = 2.0  # first backoff after a transient failure
    retry_max_seconds: float = 300.0  # longest backoff
    jitter: float = 0.1  # +-10% on every requeue, so a fleet does not march in step

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff after `failures` consecutive transient failures."""
        ceiling = min(self.retry_max_seconds, self.retry_base_seconds * 2 ** max(0, failures - 1))
        return rng.uniform(ceiling / 2, ceiling)

    def jittered(self, seconds: float, rng: random.Random) -> float:
        """`seconds` spread by +-`jitter`."""
        return max(0.0, seconds * rng.uniform(1 - self.jitter, 1 + self.jitter))
