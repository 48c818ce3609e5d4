"""Runs the sandbox's steps one after another and records, for each, expected vs observed.

A step is a title and a one-line explanation for the user, a sentence of what should happen,
and an action that edits resources like a user would (through the API), waits for the outcome
a user would look for, and says what it saw. This module gives the actions their tools (apply,
wait, look back at what changed) and does the bookkeeping around them: time taken and the
management operations that reached the emulator during the step.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from controller.sandbox import display as displays
from controller.sandbox import emulator_admin, kube, ledger, views
from controller.sandbox import tracker as tracking

Mutation = Callable[[kube.JsonObject], None]


class StepFailed(Exception):
    """The step cannot reach its expected outcome; the message says what was seen instead."""


class StepTimeout(StepFailed):
    """The scenario's time ran out while the step was waiting."""


@dataclass(frozen=True)
class Step:
    """One thing the scenario shows."""

    title: str
    explanation: str
    expected: str
    action: Callable[[Context], Awaitable[str]]


@dataclass
class StepResult:
    """What happened in one step."""

    number: int
    step: Step
    passed: bool
    observed: str
    seconds: float
    requests: list[ledger.LoggedRequest] = field(default_factory=list)
    skipped: bool = False

    @property
    def operations(self) -> Counter[str]:
        return ledger.counts(self.requests)


class Context:
    """What a step's action works with: the API, the emulator's admin side, and what was seen."""

    def __init__(
        self,
        *,
        client: kube.KubeClient,
        admin: emulator_admin.EmulatorAdmin,
        tracker: tracking.Tracker,
        display: displays.Display,
        manifests: dict[str, kube.JsonObject],
        deadline: float,
        timeout: float,
        soak_seconds: float,
    ) -> None:
        self.client = client
        self.admin = admin
        self.tracker = tracker
        self.display = display
        # The manifests as last applied, by "Kind/name": the user's files.
        self.manifests = manifests
        self.deadline = deadline
        self.timeout = timeout
        # How long to keep watching after an outcome, to catch an operation wrongly issued again.
        self.soak_seconds = soak_seconds
        self.step_number = 0
        self.step_started = 0.0
        self.first_sequence = 0

    def manifest(self, kind: str, name: str) -> kube.JsonObject:
        return copy.deepcopy(self.manifests[f"{kind}/{name}"])

    async def apply(self, manifest: kube.JsonObject, *, say: str | None = None) -> None:
        """`kubectl apply` of the manifest, remembered as the user's current file."""
        if say:
            self.display.note(say)
        await self.client.apply(manifest)
        self.manifests[f"{manifest['kind']}/{manifest['metadata']['name']}"] = copy.deepcopy(manifest)

    async def edit(
        self, kind: str, name: str, mutate: Mutation, *, say: str | None = None
    ) -> kube.JsonObject:
        """Change the user's file of an object, apply it, and return the new manifest."""
        manifest = self.manifest(kind, name)
        mutate(manifest)
        await self.apply(manifest, say=say)
        return manifest

    def view(self, name: str) -> views.ResourceView | None:
        return self.tracker.resources.get(name)

    async def wait(self, description: str, check: Callable[[], bool], *, watching: str | None = None) -> None:
        """Wait until `check()` holds; StepTimeout naming `description` (and how `watching` last
        looked) when the scenario's time runs out."""
        if not await self.tracker.wait_for(check, deadline=self.deadline):
            view = self.view(watching) if watching else None
            seen = f"; last seen: {displays.status_line(view)}" if view is not None else ""
            raise StepTimeout(f"gave up after --timeout {self.timeout:g}s waiting for {description}{seen}")

    async def requests(self) -> list[ledger.LoggedRequest]:
        """The mutating requests the emulator received since this step started."""
        return [
            dataclasses.replace(request, step=self.step_number)
            for request in await self.admin.requests(since=self.first_sequence)
        ]


# A refusal from either API during a step fails the step, with the API's words.
_API_ERRORS = (kube.KubeError, kube.KubeUnreachableError, emulator_admin.AdminError)


async def run(steps: Sequence[Step], context: Context) -> list[StepResult]:
    """Every step in order; after a failure the rest are reported as not run."""
    results: list[StepResult] = []
    for number, step in enumerate(steps, start=1):
        if results and not results[-1].passed:
            results.append(
                StepResult(number, step, False, "not run (an earlier step failed)", 0.0, skipped=True)
            )
            continue
        context.display.step_started(number, len(steps), step.title, step.explanation)
        result = await _run_step(number, step, context)
        context.display.step_finished(number, result.passed, result.observed, result.seconds)
        results.append(result)
    return results


async def _run_step(number: int, step: Step, context: Context) -> StepResult:
    context.step_number = number
    context.step_started = time.monotonic()
    try:
        context.first_sequence = await context.admin.last_sequence()
        observed, passed = await step.action(context), True
    except StepFailed as error:
        observed, passed = str(error), False
    except _API_ERRORS as error:
        observed, passed = f"{type(error).__name__}: {error}", False
    seconds = time.monotonic() - context.step_started
    try:
        requests = await context.requests()
    except emulator_admin.AdminError:
        requests = []  # the step's own outcome already says what went wrong
    return StepResult(number, step, passed, observed, seconds, requests)
