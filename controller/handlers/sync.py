"""The per-object sync loop: the one place a reconcile runs, and when it runs next.

kopf timers have one interval per handler, but `syncIntervalSeconds` is per resource and an
operation in flight wants polling every few seconds, a transient failure a growing backoff. So
each object gets a kopf daemon that loops: wait until due (or kicked), reconcile, schedule the
next pass from the outcome (with jitter). The create/update/resume handlers only kick it. One
loop per object also means two reconciles of one object never overlap — which exactly-once
relies on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import dataclass, field
from typing import Any

from controller.azure import redaction
from controller.reconcile import kube, reconciler

logger = logging.getLogger(__name__)


@dataclass
class Schedule:
    """When the object is due; a kick makes it due now, even mid-pass."""

    due: float = math.inf
    kicked: bool = False
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def kick(self, *, delay: float = 0.0) -> None:
        """Reconcile within `delay` seconds (now by default)."""
        loop = asyncio.get_running_loop()
        self.due = min(self.due, loop.time() + delay)
        self.kicked = self.kicked or delay == 0.0
        self.wakeup.set()

    def after(self, seconds: float) -> None:
        """Schedule the next pass `seconds` from now, unless a kick came during this one."""
        loop = asyncio.get_running_loop()
        if self.kicked:
            self.kicked = False
            self.due = loop.time()
        else:
            self.due = loop.time() + seconds

    async def wait(self, stopped: Any) -> None:
        """Return when due, or when `stopped` (kopf's daemon stopper) is set."""
        loop = asyncio.get_running_loop()
        while not stopped:
            delay = self.due - loop.time()
            if delay <= 0:
                return
            self.wakeup.clear()
            waiters = {
                asyncio.ensure_future(self.wakeup.wait()),
                asyncio.ensure_future(stopped.wait()),
            }
            try:
                await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)


def schedule_of(memo: Any, *, spread: float = 0.0, rng: random.Random | None = None) -> Schedule:
    """The object's schedule, kept in its own kopf memo (created on first use).

    A new schedule is due within `spread` seconds, so a restarted controller does not
    reconcile its whole fleet in the same instant; a kick makes it due at once.
    """
    schedule = memo.get("schedule")
    if schedule is None:
        offset = (rng or random.Random()).uniform(0, spread) if spread > 0 else 0.0
        schedule = Schedule(due=asyncio.get_running_loop().time() + offset)
        memo["schedule"] = schedule
    return schedule  # type: ignore[no-any-return]


async def run(
    runtime: reconciler.Runtime,
    ref: kube.ObjectRef,
    schedule: Schedule,
    stopped: Any,
    *,
    rng: random.Random,
) -> None:
    """Reconcile `ref` whenever due until the object is gone or the operator stops."""
    failures = 0
    while not stopped:
        await schedule.wait(stopped)
        if stopped:
            return
        schedule.kicked = False
        schedule.due = math.inf
        try:
            outcome = await reconciler.reconcile(runtime, ref, failures=failures)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # A bug, not an Azure or Kubernetes problem (those are classified inside): keep the
            # loop alive, say what happened without a traceback unless debugging.
            failures += 1
            logger.error(
                "%s: reconcile failed: %s", ref, redaction.redact_text(f"{type(exc).__name__}: {exc}")
            )
            logger.debug("%s: reconcile failure details", ref, exc_info=True)
            schedule.after(runtime.config.backoff(failures, rng))
            continue
        if outcome.requeue_after is None:
            return
        failures = failures + 1 if outcome.transient else 0
        schedule.after(outcome.requeue_after)
