"""The emulator's notion of time: wall-clock time that tests (and the admin API) can move forward.

All progression is computed against this clock, so time travel (`advance`) and a frozen clock
make every state transition deterministic without anyone sleeping.
"""

from __future__ import annotations

import datetime
import time


class Clock:
    """Seconds since the epoch, plus an offset; optionally frozen so only `advance` moves it."""

    def __init__(self, *, frozen: bool = False, start: float | None = None) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None
        if frozen:
            self._frozen_at = time.time() if start is None else start
        elif start is not None:
            self._offset = start - time.time()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> float:
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move time forward (never backward: progression only runs forward)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset += seconds

    def freeze(self, frozen: bool) -> None:
        """Stop (or restart) the clock at the current instant."""
        now = self.now()
        if frozen:
            self._frozen_at = now
        else:
            self._frozen_at = None
            self._offset = now - time.time()


def timestamp(moment: float) -> str:
    """The wire form of a time: `2016-02-19T01:33:03Z` (reference §1)."""
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
