"""Follows the resources and their events through watches, as `kubectl get -w` would.

The scenario waits on what the user would see (a phase, a condition, a domain), and some of it
is brief: a rollback of a small deployment may pass in a fraction of a second. Watching, rather
than polling, sees every status the controller writes, so each step can ask "did this happen
since I started?" instead of hoping to sample it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from controller.sandbox import kube, views

CSD_API_VERSION = "classic.cloudservices.io/v1alpha1"
CSD_KIND = "CloudServiceDeployment"
RECONNECT_DELAY = 0.2


@dataclass(frozen=True)
class Sample:
    """A resource as seen at one moment (only kept when something shown changed)."""

    at: float
    view: views.ResourceView


def _signature(view: views.ResourceView) -> tuple[object, ...]:
    stalled = view.stalled
    ready = view.condition("Ready")
    return (
        view.generation,
        view.observed_generation,
        view.phase,
        view.domain_progress,
        view.operation,
        ready.status if ready else None,
        ready.reason if ready else None,
        stalled.reason if stalled else None,
        tuple((i.name, i.status) for i in view.instances),
        view.label,
        tuple(view.plan),
    )


class Tracker:
    """The latest view of each resource, the history of what changed, and recent events."""

    def __init__(self, client: kube.KubeClient, namespace: str, *, max_events: int = 200) -> None:
        self._client = client
        self._namespace = namespace
        self.resources: dict[str, views.ResourceView] = {}
        self.samples: dict[str, list[Sample]] = {}
        self.events: deque[views.EventView] = deque(maxlen=max_events)
        self._seen_events: set[str] = set()
        self._changed = asyncio.Condition()
        self._listeners: list[Callable[[str, views.ResourceView | views.EventView], None]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def subscribe(self, listener: Callable[[str, views.ResourceView | views.EventView], None]) -> None:
        """Call `listener(name, view)` on every shown change of a resource and every new event."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[str, views.ResourceView | views.EventView], None]) -> None:
        self._listeners.remove(listener)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._follow(CSD_KIND, CSD_API_VERSION), name="sandbox: watch resources"),
            asyncio.create_task(self._follow("Event", "v1"), name="sandbox: watch events"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def history(self, name: str, since: float = 0.0) -> list[views.ResourceView]:
        """What `name` looked like at each change since the monotonic time `since`."""
        return [sample.view for sample in self.samples.get(name, []) if sample.at >= since]

    async def wait_for(self, check: Callable[[], bool], *, deadline: float) -> bool:
        """Wait until `check()` holds (re-checked at every change) or the monotonic deadline passes."""
        async with self._changed:
            while not check():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=remaining)
        return True

    async def _follow(self, kind: str, api_version: str) -> None:
        # A watch that ends (server restart, timeout) is simply re-opened: it replays the objects
        # as they are, and the signature check keeps replays from showing up as changes.
        while True:
            try:
                async for event_type, obj in self._client.watch(api_version, kind, self._namespace):
                    await self._record(kind, event_type, obj)
            except (kube.KubeError, kube.KubeUnreachableError, ValueError):
                pass
            await asyncio.sleep(RECONNECT_DELAY)

    async def _record(self, kind: str, event_type: str, obj: kube.JsonObject) -> None:
        if kind == "Event":
            event = views.parse_event(obj)
            if event_type == "DELETED" or event.uid in self._seen_events:
                return
            self._seen_events.add(event.uid)
            self.events.append(event)
            self._notify(event.object_name, event)
        else:
            view = views.parse_resource(obj)
            if event_type == "DELETED":
                self.resources.pop(view.name, None)
            else:
                previous = self.resources.get(view.name)
                self.resources[view.name] = view
                if previous is None or _signature(previous) != _signature(view):
                    self.samples.setdefault(view.name, []).append(Sample(time.monotonic(), view))
                    self._notify(view.name, view)
        async with self._changed:
            self._changed.notify_all()

    def _notify(self, name: str, view: views.ResourceView | views.EventView) -> None:
        for listener in self._listeners:
            listener(name, view)
