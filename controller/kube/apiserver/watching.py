"""
Watches: every committed change goes to the history of its resource and to its live watches.

The history is bounded, so that a watch can resume from a recent ``resourceVersion`` and one from
a forgotten version is told so (410 ``Expired``); each live watch filters the changes through its
selector, seeing objects enter and leave it as ADDED and DELETED.
"""

import asyncio
import collections
import dataclasses
from typing import Final

import kmock

from controller.kube.apiserver import errors, selectors
from controller.kube.apiserver.resources import Body


@dataclasses.dataclass(frozen=True)
class Change:
    revision: int
    type: str  # ADDED, MODIFIED, DELETED
    obj: Body  # as the event shows it (for DELETED: the last state, with the deletion's version)
    previous: Body | None  # before a MODIFIED: selectors see objects enter and leave

    def event_for(self, selector: selectors.Selector) -> Body | None:
        now = selector.matches(self.obj)
        before = self.previous is not None and selector.matches(self.previous)
        if self.type != "MODIFIED":
            event_type = self.type if now else None
        else:
            event_type = {(True, True): "MODIFIED", (False, True): "ADDED", (True, False): "DELETED"}.get(
                (before, now)
            )
        return None if event_type is None else {"type": event_type, "object": self.obj}


@dataclasses.dataclass
class History:
    """The last changes of one resource, so that watches can resume from a resourceVersion."""

    limit: int
    changes: collections.deque[Change] = dataclasses.field(default_factory=collections.deque)
    forgotten: int = 0  # the newest revision no longer kept

    def record(self, change: Change) -> None:
        if len(self.changes) >= self.limit:
            self.forgotten = self.changes.popleft().revision
        self.changes.append(change)

    def since(self, revision: int) -> list[Change] | None:
        """The changes after a revision, or None when some of them are forgotten."""
        if revision < self.forgotten:
            return None
        return [change for change in self.changes if change.revision > revision]


@dataclasses.dataclass(eq=False)
class Watch:
    selector: selectors.Selector
    queue: asyncio.Queue[Body | None] = dataclasses.field(default_factory=asyncio.Queue)

    def offer(self, change: Change) -> None:
        event = change.event_for(self.selector)
        if event is not None:
            self.queue.put_nowait(event)

    def close(self) -> None:
        self.queue.put_nowait(None)

    async def next_event(self, deadline: float) -> Body | None:
        """The next event, or None when the watch times out or the server stops."""
        try:
            async with asyncio.timeout_at(deadline):
                return await self.queue.get()
        except TimeoutError:
            return None


# The API server's minRequestTimeout: how long a watch lasts without timeoutSeconds.
_DEFAULT_WATCH_SECONDS: Final = 1800.0


def watch_deadline(request: kmock.Request) -> float:
    timeout = _number(request, "timeoutSeconds")
    return asyncio.get_running_loop().time() + (_DEFAULT_WATCH_SECONDS if timeout is None else timeout)


def watch_start(request: kmock.Request) -> int | None:
    """The revision a watch resumes after; None (or "0") starts with the current objects."""
    return _number(request, "resourceVersion") or None


def _number(request: kmock.Request, parameter: str) -> int | None:
    text = request.params.get(parameter)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise errors.BadRequest(f"{parameter}: Invalid value: {text!r}: must be an integer") from None
