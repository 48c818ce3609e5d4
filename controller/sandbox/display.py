"""How the sandbox shows its progress: a live table on a terminal, a plain log everywhere else.

Both displays receive the same calls (a step starts, a resource changed, an event arrived, a
note) so the scenario never cares where it is shown. The live one redraws from the tracker's
latest views a few times a second; the plain one prints a line per change, which is what a CI
log or `| tee` needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from controller.sandbox import tracker as tracking
from controller.sandbox import views

REFRESH_SECONDS = 0.25
EVENTS_SHOWN = 6

# Instance state -> (symbol, style). Anything not listed is "on its way" (yellow).
_INSTANCE_LOOK = {
    views.READY_ROLE: ("●", "green"),
    "StoppedVM": ("○", "dim"),
    "StoppedRole": ("○", "dim"),
    "Stopped": ("○", "dim"),
}
_BAD_LOOK = ("✖", "bold red")
_BUSY_LOOK = ("◐", "yellow")
_PHASE_STYLE = {
    "Ready": "green",
    "Observing": "cyan",
    "Failed": "bold red",
    "Suspended": "magenta",
    "Pending": "dim",
}


def instance_look(status: str) -> tuple[str, str]:
    if status in _INSTANCE_LOOK:
        return _INSTANCE_LOOK[status]
    if status in views.BAD_STATES:
        return _BAD_LOOK
    return _BUSY_LOOK


def instances_text(view: views.ResourceView) -> Text:
    """Coloured dots per role, ordered by upgrade domain (so a walk moves left to right)."""
    text = Text()
    roles: dict[str, list[views.Instance]] = {}
    for instance in sorted(view.instances, key=lambda i: (i.upgrade_domain, i.name)):
        roles.setdefault(instance.role, []).append(instance)
    for role, instances in roles.items():
        if text:
            text.append("  ")
        text.append(f"{role} ")
        for instance in instances:
            symbol, style = instance_look(instance.status)
            text.append(symbol, style=style)
    return text


def instances_plain(view: views.ResourceView) -> str:
    """`WebRole1 4/5 ready (1 Busy)` per role: the plain-log form of the dots."""
    parts = []
    for role, counts in view.instance_counts().items():
        total = sum(counts.values())
        ready = counts.get(views.READY_ROLE, 0)
        others = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()) if state != views.READY_ROLE)
        parts.append(f"{role} {ready}/{total} ready" + (f" ({others})" if others else ""))
    return "; ".join(parts) or "-"


def operation_plain(view: views.ResourceView) -> str:
    operation = view.operation
    if operation is None or operation.phase in {"Succeeded", "Failed"}:
        return "-"
    return f"{operation.kind} {operation.target} ({operation.phase})"


def conditions_plain(view: views.ResourceView) -> str:
    stalled = view.stalled
    if stalled is not None:
        return f"Stalled: {stalled.reason}"
    ready = view.condition("Ready")
    if ready is None:
        return "-"
    return "Ready" if ready.is_true else f"not Ready: {ready.reason}"


def status_line(view: views.ResourceView) -> str:
    """One line per resource change in the plain log."""
    line = (
        f"{view.name:<4} phase={view.phase:<14} {conditions_plain(view):<28} domain={view.domain_progress:<4}"
        f" label={view.label or '-':<8} op={operation_plain(view)} | {instances_plain(view)}"
    )
    stalled = view.stalled
    if stalled is not None and stalled.message:
        line += f"\n       stalled because: {stalled.message}"
    if view.plan and view.policy == "Observe":
        line += "\n       plan: " + " | ".join(view.plan)
    return line


class Display(Protocol):
    """What the scenario and the runner tell the user."""

    def start(self) -> None: ...
    async def stop(self) -> None: ...
    def note(self, text: str) -> None: ...
    def headline(self, title: str, text: str) -> None: ...
    def step_started(self, number: int, total: int, title: str, explanation: str) -> None: ...
    def step_finished(self, number: int, passed: bool, observed: str, seconds: float) -> None: ...
    def print(self, renderable: RenderableType | str) -> None: ...


class PlainDisplay:
    """A line per change, prefixed with the time since start: for CI logs and pipes."""

    def __init__(self, console: Console, tracker: tracking.Tracker, *, started_at: float) -> None:
        self._console = console
        self._tracker = tracker
        self._started_at = started_at  # the session's start: times keep counting across displays
        self._following = False

    def start(self) -> None:
        self._tracker.subscribe(self._changed)
        self._following = True

    async def stop(self) -> None:
        if self._following:
            self._tracker.unsubscribe(self._changed)
            self._following = False

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self._started_at
        self._console.print(f"[{elapsed:6.1f}s] {text}", markup=False, highlight=False)

    def note(self, text: str) -> None:
        self._line(text)

    def headline(self, title: str, text: str) -> None:
        self._line(f"==> {title}: {text}")

    def step_started(self, number: int, total: int, title: str, explanation: str) -> None:
        self._line(f"==> Step {number}/{total}: {title}")
        self._line(f"    {explanation}")

    def step_finished(self, number: int, passed: bool, observed: str, seconds: float) -> None:
        verdict = "PASS" if passed else "FAIL"
        self._line(f"<== Step {number} {verdict} in {seconds:.1f}s: {observed}")

    def print(self, renderable: RenderableType | str) -> None:
        if isinstance(renderable, str):
            self._console.print(renderable, markup=False, highlight=False)
        else:
            self._console.print(renderable)

    def _changed(self, name: str, view: views.ResourceView | views.EventView) -> None:
        if isinstance(view, views.EventView):
            self._line(f"    event {view.object_name} {view.type} {view.reason}: {view.message}")
        else:
            self._line(f"    {status_line(view)}")


class LiveDisplay:
    """A `rich.live.Live` table of the resources, the step in progress and the last events."""

    def __init__(self, console: Console, tracker: tracking.Tracker) -> None:
        self._console = console
        self._tracker = tracker
        self._live = Live(console=console, auto_refresh=False, transient=False)
        self._title = "starting"
        self._explanation = ""
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._live.start()
        self._refresher = asyncio.create_task(self._refresh_forever(), name="sandbox: live display")

    async def stop(self) -> None:
        if self._refresher is None:
            return  # not started, or already stopped
        self._refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._refresher
        self._refresher = None
        self._live.update(self._render(), refresh=True)  # the final state stays on screen
        self._live.stop()

    def note(self, text: str) -> None:
        self._live.console.print(Text(text))

    def headline(self, title: str, text: str) -> None:
        self._title, self._explanation = title, text

    def step_started(self, number: int, total: int, title: str, explanation: str) -> None:
        self._title = f"Step {number}/{total}: {title}"
        self._explanation = explanation
        self._live.console.print(Text.assemble(("▶ ", "bold"), (self._title, "bold"), f"\n  {explanation}"))

    def step_finished(self, number: int, passed: bool, observed: str, seconds: float) -> None:
        verdict = ("✔ passed", "green") if passed else ("✘ failed", "bold red")
        self._live.console.print(Text.assemble("  ", verdict, f" in {seconds:.1f}s: {observed}"))

    def print(self, renderable: RenderableType | str) -> None:
        self._live.console.print(renderable)

    async def _refresh_forever(self) -> None:
        # Rendering happens on the event loop (not in rich's refresh thread) so it never reads
        # the tracker's dictionaries while a watch is updating them.
        while True:
            self._live.update(self._render(), refresh=True)
            await asyncio.sleep(REFRESH_SECONDS)

    def _render(self) -> RenderableType:
        header = Panel(Text(self._explanation), title=escape(self._title), title_align="left")
        return Group(header, resource_table(list(self._tracker.resources.values())), self._events())

    def _events(self) -> RenderableType:
        events = list(self._tracker.events)[-EVENTS_SHOWN:]
        table = Table(title="Last events", title_justify="left", show_header=False, box=None, expand=False)
        table.add_column(style="dim")
        table.add_column(style="bold")
        table.add_column()
        table.add_column()
        for event in events:
            style = "yellow" if event.type == "Warning" else ""
            table.add_row(
                event.timestamp[11:19], event.object_name, Text(event.reason, style=style), event.message
            )
        return table


def resource_table(resources: Sequence[views.ResourceView]) -> Table:
    table = Table(expand=False)
    for column in (
        "RESOURCE",
        "POLICY/MODE",
        "PHASE",
        "CONDITIONS",
        "DOMAIN",
        "INSTANCES",
        "OPERATION",
        "LABEL",
    ):
        table.add_column(column, no_wrap=column in {"RESOURCE", "PHASE", "DOMAIN", "INSTANCES"})
    for view in sorted(resources, key=lambda v: v.name):
        stalled = view.stalled
        if stalled is not None:
            conditions = Text(f"Stalled: {stalled.reason}\n{stalled.message}", style="red")
        else:
            conditions = Text(conditions_plain(view), style="green" if view.ready else "yellow")
        operation = operation_plain(view)
        if view.policy == "Observe" and view.plan:
            operation = "plan: " + "; ".join(view.plan)
        table.add_row(
            view.name,
            f"{view.policy}/{view.upgrade_mode}",
            Text(view.phase, style=_PHASE_STYLE.get(view.phase, "bold yellow")),
            conditions,
            view.domain_progress,
            instances_text(view),
            operation,
            view.label or "-",
        )
    return table
