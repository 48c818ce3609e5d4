"""One reconcile pass of a CloudServiceDeployment: observe -> plan -> act -> record.

Every pass starts from the object as the API server has it now (never from an event) and from
Azure as it is now, so a pass after a crash, a restart or a missed event is like any other.

Exactly once, for every mutating step:

1. the intent (kind, target, intentId, phase Requesting, requestedAt, specDigest) is written to
   `status.operation`, guarded by the resourceVersion read at the start of the pass;
2. only then is the request sent;
3. the request id (phase InProgress) is written right after; events say it was issued.

A pass that finds an intent without a request id (a crash between 1 and 3, or an answer that
never came) asks `recovery` what happened before doing anything else, and issues again only
when the intent certainly never reached Azure.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from controller.azure import errors, redaction
from controller.azure.client import ServiceManagementClient
from controller.azure.refs import DeploymentRef
from controller.metrics import Metrics
from controller.models.spec import CloudServiceDeploymentSpec
from controller.models.status import (
    ConditionType,
    HistoryEntry,
    Operation,
    OperationPhase,
    Status,
    truncate,
)
from controller.planning import conditions, intents, planner, progress, steps
from controller.planning.inputs import DesiredState, Observation
from controller.reconcile import act, events, kube, observe, problems, recovery, sources, statusdiff
from controller.reconcile.clients import ClientPool
from controller.reconcile.config import ReconcileConfig
from controller.reconcile.desired import CONFIRM_NOT_ISSUED, desired_state

logger = logging.getLogger(__name__)

KOPF_STANZA = frozenset({"kopf"})  # kopf's own progress storage: never ours to delete
DEFAULT_SYNC_SECONDS = 300.0
CONFLICT_RETRY_SECONDS = 0.2
NOT_ISSUED = "NotIssued"
SUPERSEDED = "Superseded"  # history result of an operation a rollback replaced
ADOPTED = "Adopted"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What every reconcile needs; built once by the composition root (kopf's memo)."""

    kube: kube.KubeClient
    clients: ClientPool
    events: events.EventSink
    metrics: Metrics
    config: ReconcileConfig = field(default_factory=ReconcileConfig)
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True)
class Outcome:
    """How a pass ended and when to look again (None: the object is gone, stop)."""

    requeue_after: float | None
    result: str  # Nothing | Wait | Stall | Hold | Issued | Retrying | Gone | ...
    transient: bool = False
    phase: str | None = None


async def reconcile(runtime: Runtime, ref: kube.ObjectRef, *, failures: int = 0) -> Outcome:
    """One pass for `ref`; `failures` counts the consecutive transient failures before it."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = Outcome(None, "Error", transient=True)
    try:
        outcome = await _reconcile(runtime, ref, failures)
        return outcome
    finally:
        runtime.metrics.reconciled(outcome.result, loop.time() - started)
        runtime.metrics.set_phase(str(ref), outcome.phase)


async def _reconcile(runtime: Runtime, ref: kube.ObjectRef, failures: int) -> Outcome:
    try:
        obj = await runtime.kube.get_object(ref)
    except kube.KubeNotFound:
        return Outcome(None, "Gone")
    except kube.KubeError as exc:
        logger.warning("%s: cannot read the resource: %s", ref, exc)
        return Outcome(runtime.config.backoff(failures + 1, runtime.rng), "Retrying", transient=True)
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return Outcome(None, "Gone")
    return await Pass(runtime, ref, obj, failures).run()


class Pass:
    """The state of one reconcile pass over one object."""

    def __init__(self, runtime: Runtime, ref: kube.ObjectRef, obj: dict[str, Any], failures: int) -> None:
        self.runtime = runtime
        self.config = runtime.config
        self.ref = ref
        self.obj = obj
        self.failures = failures
        metadata = obj.get("metadata") or {}
        self.generation = int(metadata.get("generation") or 1)
        self.annotations: dict[str, str] = dict(metadata.get("annotations") or {})
        self.resource_version: str | None = metadata.get("resourceVersion")
        raw = obj.get("status")
        self.stored: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        self.now = truncate(runtime.clock())
        self.suspend = False
        self.observe_only = False
        self.sync_seconds = DEFAULT_SYNC_SECONDS
        self.transitions: list[tuple[str, str, str]] = []

    # -- the pass ---------------------------------------------------------------------------

    async def run(self) -> Outcome:
        status = Status.from_object(self.stored)
        try:
            spec = CloudServiceDeploymentSpec.model_validate(self.obj.get("spec") or {})
        except ValidationError as exc:
            message = f"the spec does not parse: {exc.errors()[0].get('msg', 'invalid')}"
            return await self.failed(status, problems.Problem(False, problems.INVALID_SPEC, message))
        self.suspend, self.observe_only = spec.suspend, spec.observe_only
        self.sync_seconds = float(spec.sync_interval_seconds)
        try:
            resolved = await sources.read_sources(self.runtime.kube, self.ref.namespace, spec)
            desired = desired_state(
                spec, resolved, generation=self.generation, annotations=self.annotations, config=self.config
            )
            client = self.runtime.clients.get(
                endpoint=spec.endpoint, subscription_id=spec.subscription_id, sources=resolved
            )
            target = DeploymentRef(service=spec.service_name, slot=spec.slot, name=spec.deployment_name)
            observation = await observe.observe(client, target, status.operation)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self.failed(status, problems.classify(exc))
        context = Context(spec, resolved, desired, client, target, observation)
        return await self.decide(context, status)

    async def decide(self, ctx: Context, status: Status) -> Outcome:
        advanced = progress.advance(ctx.desired, ctx.observation, status, self.now)
        status, notes = advanced.status, list(advanced.notes)
        step: steps.Step = steps.Nothing()
        for _ in range(3):  # a recovery that settles the intent plans again
            step = planner.plan(ctx.desired, ctx.observation, status, self.now)
            if not isinstance(step, steps.Recover):
                break
            status, resolved_step, again = await self.recover(ctx, status, notes)
            if not again:
                step = resolved_step
                break
        if steps.is_mutation(step):
            return await self.act(ctx, status, step, notes)  # type: ignore[arg-type]
        return await self.record(status, step, notes)

    # -- recovery ---------------------------------------------------------------------------

    async def recover(
        self, ctx: Context, status: Status, notes: list[progress.Note]
    ) -> tuple[Status, steps.Step, bool]:
        """Settle an intent of unknown outcome: (status, step, plan again?)."""
        intent = status.operation
        assert intent is not None
        try:
            finding = await recovery.investigate(
                ctx.client,
                ctx.target,
                intent,
                deployment=ctx.observation.deployment,
                status=status,
                margin=timedelta(seconds=self.config.recovery_margin_seconds),
                now=self.now,
            )
        except errors.AzureError as exc:
            problem = problems.classify(exc)
            wait = steps.Wait(problem.reason, f"recovering intent {intent.intent_id}: {problem.message}", 0)
            return status, wait, False
        what = f"{intent.kind} {intent.target} (intent {intent.intent_id})"
        if finding.verdict is recovery.Verdict.ISSUED and finding.request_id:
            adopted = intent.model_copy(
                update={"request_id": finding.request_id, "phase": OperationPhase.IN_PROGRESS}
            )
            notes.append(
                progress.Note(
                    events.NORMAL, "IntentAdopted", f"{what} was issued as request {finding.request_id}"
                )
            )
            wait = steps.Wait(
                planner.OPERATION_IN_PROGRESS, f"following {what}: request {finding.request_id}", 0
            )
            return status.model_copy(update={"operation": adopted}), wait, False
        if finding.verdict is recovery.Verdict.ISSUED:
            landed = intent.model_copy(update={"phase": OperationPhase.SUCCEEDED})
            notes.append(
                progress.Note(events.NORMAL, "IntentAdopted", f"{what} was carried out: {finding.evidence}")
            )
            entry = HistoryEntry.of(intent, ADOPTED, self.now, message=finding.evidence)
            return status.with_history(entry).model_copy(update={"operation": landed}), steps.Nothing(), True
        if finding.verdict is recovery.Verdict.NOT_ISSUED and intent.requested_at is not None:
            age = (self.now - intent.requested_at).total_seconds()
            if age < self.config.in_flight_seconds:
                remaining = self.config.in_flight_seconds - age
                message = f"{what} not found yet; it may still be in flight ({remaining:.0f}s left to wait)"
                return status, steps.Wait(problems.OUTCOME_UNKNOWN, message, remaining), False
        if finding.verdict is recovery.Verdict.NOT_ISSUED:
            notes.append(
                progress.Note(events.NORMAL, "IntentNotIssued", f"{what} never reached Azure: deciding again")
            )
            entry = HistoryEntry.of(intent, NOT_ISSUED, self.now, message=finding.evidence)
            return status.with_history(entry).model_copy(update={"operation": None}), steps.Nothing(), True
        unknown = intent.model_copy(update={"phase": OperationPhase.UNKNOWN})
        message = (
            f"cannot tell whether {what} reached Azure ({finding.evidence}). Check the deployment's "
            f"operations (e.g. in the portal); if it was not issued, annotate the resource with "
            f"{CONFIRM_NOT_ISSUED}={intent.intent_id} to let the controller issue it"
        )
        stall = steps.Stall(problems.OUTCOME_UNKNOWN, message)
        return status.model_copy(update={"operation": unknown}), stall, False

    # -- acting -----------------------------------------------------------------------------

    async def act(
        self, ctx: Context, status: Status, step: steps.Mutation, notes: list[progress.Note]
    ) -> Outcome:
        intent = intents.intent_for(step, ctx.desired, status, self.now)
        superseded = status.operation
        if superseded is not None and superseded.phase is OperationPhase.IN_PROGRESS:
            # A rollback issued while the upgrade's own operation still runs: Azure ends that
            # operation (superseded); history keeps the record of what was replaced.
            status = status.with_history(HistoryEntry.of(superseded, SUPERSEDED, self.now))
        update: dict[str, object] = {"operation": intent}
        if isinstance(step, steps.Upgrade | steps.Rollback):
            update["walk"] = None
        pending = status.model_copy(update=update)
        try:
            await self.write(pending, step, guard=True)  # the intent, before anything is sent
        except kube.KubeConflict:
            return Outcome(CONFLICT_RETRY_SECONDS, "Conflict", phase=self.phase_of(status))
        except kube.KubeError as exc:
            return self.kube_retry(exc, status)
        self.post_notes(notes)
        self.post_transitions()
        self.runtime.metrics.issued(step.kind)
        try:
            request_id = await act.issue(
                ctx.client,
                ctx.target,
                step,
                desired=ctx.desired,
                sources=ctx.sources,
                extension_configuration=ctx.spec.extension_configuration,
                deployment=ctx.observation.deployment,
            )
        except errors.OutcomeUnknownError as exc:
            unknown = pending.model_copy(
                update={"operation": intent.model_copy(update={"phase": OperationPhase.UNKNOWN})}
            )
            self.event(
                events.WARNING, "OutcomeUnknown", f"{step.describe()}: {exc}; finding out before retrying"
            )
            wait = steps.Wait(problems.OUTCOME_UNKNOWN, str(exc), 0)
            return await self.record(unknown, wait, [], requeue=self.config.poll_seconds)
        except errors.AzureError as exc:
            return await self.refused(ctx, pending, step, intent, exc)
        accepted = intent.model_copy(update={"request_id": request_id, "phase": OperationPhase.IN_PROGRESS})
        self.event(events.NORMAL, f"{step.kind}Requested", f"{step.describe()} (request {request_id})")
        final = pending.model_copy(update={"operation": accepted})
        # Described as the passes that follow will see it (in progress), so they write nothing.
        following = planner.plan(ctx.desired, ctx.observation, final, self.now)
        return await self.record(final, following, [], requeue=self.config.poll_seconds, result="Issued")

    async def refused(
        self, ctx: Context, pending: Status, step: steps.Mutation, intent: Operation, exc: errors.AzureError
    ) -> Outcome:
        """The request was answered with an error: it was not taken, the intent is dropped."""
        problem = problems.classify(exc)
        cleared = pending.model_copy(update={"operation": None})
        if problem.transient:
            backoff = self.config.backoff(self.failures + 1, self.runtime.rng)
            if problem.retry_after:
                backoff = max(backoff, problem.retry_after)
            wait = steps.Wait(problem.reason, f"{step.describe()}: {problem.message}", backoff)
            return await self.record(cleared, wait, [], requeue=backoff, transient=True)
        self.runtime.metrics.failed(step.kind)
        code, message = problem.reason, problem.message
        if isinstance(exc, errors.ApiError):
            code, message = exc.code or problem.reason, redaction.redact_text(exc.message)
        entry = HistoryEntry.of(intent, planner.REJECTED, self.now, code=code, message=message)
        update: dict[str, object] = {}
        if isinstance(step, steps.Reimage):
            update["reimage"] = {**cleared.reimage, step.instance: step.reimage_generation}
        elif isinstance(step, steps.WalkUpgradeDomain):
            update["stalled_spec_digest"] = intent.spec_digest
        else:
            update["stalled_spec_digest"] = ctx.desired.digests.spec
        refused = cleared.with_history(entry).model_copy(update=update)
        self.event(events.WARNING, "RequestRejected", f"{step.describe()}: {problem.message}")
        after = planner.plan(ctx.desired, ctx.observation, refused, self.now)
        if steps.is_mutation(after) or isinstance(after, steps.Recover):
            after = steps.Wait(planner.REQUEST_REJECTED, f"{step.describe()}: {problem.message}", 0)
        return await self.record(refused, after, [])

    # -- recording --------------------------------------------------------------------------

    async def record(
        self,
        status: Status,
        step: steps.Step,
        notes: list[progress.Note],
        *,
        requeue: float | None = None,
        transient: bool = False,
        result: str | None = None,
    ) -> Outcome:
        try:
            described = await self.write(status, step)
        except kube.KubeError as exc:
            return self.kube_retry(exc, status)
        self.post_notes(notes)
        self.post_transitions()
        if requeue is None:
            requeue = self.requeue_for(step)
        return Outcome(
            requeue,
            result or type(step).__name__,
            transient=transient,
            phase=described.phase.value if described.phase else None,
        )

    async def write(self, status: Status, step: steps.Step, *, guard: bool = False) -> Status:
        """Describe `status` for `step` and patch it if anything changed; the described status."""
        described = conditions.describe(
            status,
            step,
            self.now,
            generation=self.generation,
            suspend=self.suspend,
            observe_only=self.observe_only,
        )
        await self.patch(described, guard=guard)
        return described

    async def patch(self, status: Status, *, guard: bool = False) -> None:
        new = _redacted(status.to_json())
        patch = statusdiff.status_patch(self.stored, new, keep=KOPF_STANZA)
        if patch is None:
            return
        self.transitions += self.announce_transitions(Status.from_object(self.stored), status)
        updated = await self.runtime.kube.patch_status(
            self.ref, patch, resource_version=self.resource_version if guard else None
        )
        self.runtime.metrics.status_patched()
        self.stored = {**{k: v for k, v in self.stored.items() if k in KOPF_STANZA}, **new}
        self.resource_version = (updated.get("metadata") or {}).get("resourceVersion", self.resource_version)

    async def failed(self, status: Status, problem: problems.Problem) -> Outcome:
        """A problem before planning: Stalled (permanent) or retrying (transient)."""
        if problem.transient:
            backoff = self.config.backoff(self.failures + 1, self.runtime.rng)
            if problem.retry_after:
                backoff = max(backoff, problem.retry_after)
            retrying = conditions.describe_retrying(
                status, problem.reason, problem.message, self.now, generation=self.generation
            )
            logger.info("%s: %s: %s (retrying in %.1fs)", self.ref, problem.reason, problem.message, backoff)
            try:
                await self.patch(retrying)
            except kube.KubeError as exc:
                return self.kube_retry(exc, status)
            self.post_transitions()
            return Outcome(backoff, "Retrying", transient=True, phase=self.phase_of(retrying))
        stall = steps.Stall(problem.reason, problem.message)
        return await self.record(status, stall, [])

    # -- helpers ----------------------------------------------------------------------------

    def requeue_for(self, step: steps.Step) -> float:
        rng = self.runtime.rng
        if isinstance(step, steps.Wait):
            return self.config.jittered(step.requeue_after, rng)
        return self.config.jittered(self.sync_seconds, rng)

    def kube_retry(self, exc: kube.KubeError, status: Status) -> Outcome:
        logger.warning("%s: writing the status failed: %s", self.ref, exc)
        backoff = self.config.backoff(self.failures + 1, self.runtime.rng)
        return Outcome(backoff, "Retrying", transient=True, phase=self.phase_of(status))

    @staticmethod
    def phase_of(status: Status) -> str | None:
        return status.phase.value if status.phase else None

    def post_transitions(self) -> None:
        pending, self.transitions = self.transitions, []
        for type_, reason, message in pending:
            self.event(type_, reason, message)

    @staticmethod
    def announce_transitions(old: Status, new: Status) -> list[tuple[str, str, str]]:
        """Events for a resource becoming Stalled or Ready."""
        found: list[tuple[str, str, str]] = []
        before_stalled = old.condition(ConditionType.STALLED)
        after_stalled = new.condition(ConditionType.STALLED)
        newly_stalled = after_stalled is not None and after_stalled.status == "True"
        if newly_stalled and before_stalled is not None and before_stalled.status == "True":
            newly_stalled = after_stalled is not None and before_stalled.reason != after_stalled.reason
        if newly_stalled and after_stalled is not None:
            found.append((events.WARNING, after_stalled.reason, f"Stalled: {after_stalled.message}"))
        before_ready = old.condition(ConditionType.READY)
        after_ready = new.condition(ConditionType.READY)
        was_ready = before_ready is not None and before_ready.status == "True"
        if after_ready is not None and after_ready.status == "True" and not was_ready:
            found.append((events.NORMAL, "Ready", after_ready.message))
        return found

    def post_notes(self, notes: list[progress.Note]) -> None:
        for note in notes:
            if note.reason == "OperationSucceeded" and note.kind:
                self.runtime.metrics.succeeded(note.kind)
            elif note.reason == "OperationFailed" and note.kind:
                self.runtime.metrics.failed(note.kind)
            self.event(note.type, note.reason, note.message)

    def event(self, type_: str, reason: str, message: str) -> None:
        try:
            events.post(self.runtime.events, self.obj, type_, reason, message)
        except Exception:  # an event is a courtesy: never let it break a reconcile
            logger.exception("%s: posting an event failed", self.ref)


@dataclass(frozen=True)
class Context:
    """Everything one pass resolved before deciding."""

    spec: CloudServiceDeploymentSpec
    sources: sources.Sources
    desired: DesiredState
    client: ServiceManagementClient
    target: DeploymentRef
    observation: Observation


def _redacted(value: Any) -> Any:
    """Every string of a status redacted: the last guard before anything is written."""
    if isinstance(value, str):
        return redaction.redact_text(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


__all__ = ["Outcome", "Runtime", "reconcile"]
