"""One sandbox session: the pieces started in order, the scenario, the summary, `--keep`.

Every piece is entered on one `AsyncExitStack`, so whatever way the session ends (the
scenario's verdict, an error, a signal cancelling the task) they stop in reverse order: the
controller first (it must not write to an API that is going away), then the emulator and the
Kubernetes API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from rich.console import Console

from controller.emulator import server as emulator_server
from controller.kube import apiserver
from controller.reconcile.config import ReconcileConfig
from controller.sandbox import (
    controller_thread,
    emulator_admin,
    examples,
    kube,
    ledger,
    scenario,
    steps,
    summary,
)
from controller.sandbox import display as displays
from controller.sandbox import options as sandbox_options
from controller.sandbox import tracker as tracking
from controller.sandbox.options import LOG_FILE

logger = logging.getLogger(__name__)

CONTROLLER_START_SECONDS = 30.0
CONTROLLER_STOP_SECONDS = 10.0


def _crd() -> kube.JsonObject:
    try:
        document = yaml.safe_load(sandbox_options.CRD_PATH.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise sandbox_options.SandboxError(
            f"cannot read the CRD {sandbox_options.CRD_PATH}: {error}"
        ) from error
    if not isinstance(document, dict):
        raise sandbox_options.SandboxError(
            f"{sandbox_options.CRD_PATH} does not hold a CustomResourceDefinition"
        )
    return document


@dataclass
class Pieces:
    """Everything a running session has started."""

    kube_server: apiserver.KubeApiServer
    kubeconfig: Path
    client: kube.KubeClient
    tracker: tracking.Tracker
    display: displays.Display
    emulator: emulator_server.EmulatorServer
    admin: emulator_admin.EmulatorAdmin
    controller: controller_thread.ControllerThread


class Session:
    """Starts the pieces, runs the scenario, reports, and keeps running with `--keep`."""

    def __init__(
        self,
        options: sandbox_options.Options,
        console: Console,
        state_dir: Path,
        manifests: list[kube.JsonObject],
    ) -> None:
        self.options = options
        self.console = console
        self.state_dir = state_dir
        self.manifests = manifests
        resources = [m for m in manifests if m["kind"] == examples.CSD_KIND]
        self.namespace = str(resources[0]["metadata"]["namespace"])
        self.subscriptions = sorted({str(m["spec"]["subscriptionId"]) for m in resources})
        self.started_at = time.monotonic()
        # The scenario's outcome once reported: a Ctrl-C during --keep does not change it.
        self.result: sandbox_options.RunResult | None = None

    async def run(self) -> sandbox_options.RunResult:
        async with contextlib.AsyncExitStack() as stack:
            pieces = await self._start(stack)
            applied = await self._apply_examples(pieces)
            results = await self._scenario(pieces, applied)
            await pieces.display.stop()
            result = self.result = self._report(pieces, results)
            if self.options.keep:
                await self._keep(pieces)
            return result
        raise AssertionError("unreachable")  # pragma: no cover  # the stack returns or raises

    def _display(self, tracker: tracking.Tracker) -> displays.Display:
        if self.options.live:
            return displays.LiveDisplay(self.console, tracker)
        return displays.PlainDisplay(self.console, tracker, started_at=self.started_at)

    async def _start(self, stack: contextlib.AsyncExitStack) -> Pieces:
        """Kubernetes API, display, emulator (seeded), controller, watches: in this order."""
        kube_server = await stack.enter_async_context(apiserver.KubeApiServer(crds=[_crd()]).serve())
        kubeconfig = kube_server.kubeconfig(self.state_dir / "kubeconfig", namespace=self.namespace)
        client = kube.KubeClient(str(kube_server.url))
        stack.push_async_callback(client.aclose)
        tracker = tracking.Tracker(client, self.namespace)
        display = self._display(tracker)
        display.start()
        stack.push_async_callback(display.stop)
        display.note(
            f"Kubernetes API (emulated; validates with the CRD's schema and CEL rules): {kube_server.url}"
        )
        emulator = await stack.enter_async_context(
            emulator_server.EmulatorServer(
                self.state_dir / "emulator",
                "127.0.0.1",
                0,
                subscriptions=self.subscriptions,
                timings=self.options.timings(),
            )
        )
        display.note(f"Service Management emulator (HTTPS, management certificates): {emulator.url}")
        admin = emulator_admin.EmulatorAdmin(emulator.url, token=emulator.admin_token, ca_pem=emulator.ca_pem)
        stack.push_async_callback(admin.aclose)
        await self._seed(admin, display)
        # The namespaces exist before the controller starts, as in a cluster. (kopf also misses a
        # namespace created between its namespace listing and the watch that follows it.)
        for namespace in (m for m in self.manifests if m["kind"] == "Namespace"):
            await client.apply(namespace)
        controller = await self._start_controller(stack, kube_server)
        display.note(
            f"Controller running in this process (kopf, standalone), watching namespace {self.namespace}"
        )
        await tracker.start()
        stack.push_async_callback(tracker.stop)
        return Pieces(kube_server, kubeconfig, client, tracker, display, emulator, admin, controller)

    async def _seed(self, admin: emulator_admin.EmulatorAdmin, display: displays.Display) -> None:
        seeds = examples.seeds(self.manifests)
        try:
            await admin.seed(seeds)
        except emulator_admin.AdminError as error:
            raise sandbox_options.SandboxError(f"seeding the emulator failed: {error}") from error
        for seed in seeds:
            history = (
                "as the operator left it (CsoAppliedDigest recorded)"
                if seed.applied_digest
                else "as found in Azure: one release behind, never managed"
            )
            display.note(
                f"  seeded {seed.service} ({seed.slot or seed.deployment_name}): label {seed.label},"
                f" {examples.describe_roles(seed.configuration)}, running, {history}"
            )

    async def _start_controller(
        self, stack: contextlib.AsyncExitStack, kube_server: apiserver.KubeApiServer
    ) -> controller_thread.ControllerThread:
        speed = self.options.speed
        pace = ReconcileConfig(
            poll_seconds=self.options.poll_seconds(),
            fault_grace_seconds=max(1.0, 20.0 / speed),
            retry_base_seconds=max(0.1, 1.0 / speed),
            retry_max_seconds=max(1.0, 10.0 / speed),
        )
        controller = controller_thread.ControllerThread(
            server=str(kube_server.url), namespace=self.namespace, reconcile=pace
        )
        controller.start()

        async def stop_controller() -> None:
            if not await controller.stop(CONTROLLER_STOP_SECONDS):
                logger.warning("the controller did not stop within %.0fs", CONTROLLER_STOP_SECONDS)

        stack.push_async_callback(stop_controller)
        try:
            await controller.ready(CONTROLLER_START_SECONDS)
        except (RuntimeError, TimeoutError) as error:
            raise sandbox_options.SandboxError(str(error)) from error
        return controller

    async def _apply_examples(self, pieces: Pieces) -> list[kube.JsonObject]:
        """The examples, pointed at the emulator and applied; what changed is said on screen."""
        emulator, display = pieces.emulator, pieces.display
        management = {sub: emulator.management_pem(sub).decode("ascii") for sub in self.subscriptions}
        rewritten, notes = examples.rewrite_for_emulator(
            self.manifests,
            endpoint=emulator.url,
            ca_pem=emulator.ca_pem.decode("ascii"),
            management_pem=management,
        )
        rewritten, gate_notes = examples.scale_domain_gates(rewritten, speed=self.options.speed)
        applied_file = self.state_dir / "examples.yaml"
        applied_file.write_text(yaml.safe_dump_all(rewritten, sort_keys=False), encoding="utf-8")
        display.note(
            f"Applying {self.options.examples_dir}, pointed at the emulator (as applied: {applied_file}):"
        )
        for note in [*notes, *gate_notes]:
            display.note(f"  {note}")
        for manifest in rewritten:
            try:
                await pieces.client.apply(manifest)
            except kube.KubeError as error:
                name = f"{manifest['kind']} {manifest['metadata'].get('name')}"
                raise sandbox_options.SandboxError(
                    f"the API refused the example {name}: {error.message}"
                ) from error
        return rewritten

    async def _scenario(self, pieces: Pieces, applied: list[kube.JsonObject]) -> list[scenario.StepResult]:
        context = scenario.Context(
            client=pieces.client,
            admin=pieces.admin,
            tracker=pieces.tracker,
            display=pieces.display,
            manifests={f"{m['kind']}/{m['metadata']['name']}": m for m in applied},
            deadline=time.monotonic() + self.options.timeout,
            timeout=self.options.timeout,
            soak_seconds=max(0.3, 3 * self.options.poll_seconds()),
        )
        plan = steps.build(steps.Cast.of(applied))
        scenario_task = asyncio.create_task(scenario.run(plan, context), name="sandbox: scenario")
        # A controller that dies would leave the scenario waiting for its timeout: watch both.
        ended = asyncio.create_task(pieces.controller.ended(), name="sandbox: controller watch")
        try:
            done, _ = await asyncio.wait({scenario_task, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            if not scenario_task.done():
                scenario_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scenario_task
        if scenario_task not in done:
            raise sandbox_options.SandboxError(
                f"the controller stopped during the scenario: {pieces.controller.describe_end()}"
            )
        results = scenario_task.result()
        _attach_intents(results, pieces.tracker)
        return results

    def _report(self, pieces: Pieces, results: list[scenario.StepResult]) -> sandbox_options.RunResult:
        verdict = summary.verdict(
            results,
            total_seconds=time.monotonic() - self.started_at,
            failure_hint=f"What the controller did is in its log: {self.state_dir / LOG_FILE}",
        )
        for line in verdict.lines:
            pieces.display.print(line)
        outcome = sandbox_options.Outcome.CONVERGED if verdict.converged else sandbox_options.Outcome.FAILED
        return sandbox_options.RunResult(outcome, verdict.reason)

    async def _keep(self, pieces: Pieces) -> None:
        """Leave everything running, say how to use it, and follow the resources until stopped."""
        emulator, state, token = pieces.emulator, self.state_dir, self.state_dir / "emulator" / "admin-token"
        lines = [
            "",
            "The sandbox keeps running; everything below stays valid until you stop it.",
            f"  kubeconfig        {pieces.kubeconfig}",
            f"                    kubectl --kubeconfig {pieces.kubeconfig} get csd",
            f"  emulator URL      {emulator.url}",
            f"  emulator CA       {emulator.ca_path}",
            *(
                f"  management cert   {emulator.management_pem_path(sub)} (cert + key, subscription {sub})"
                for sub in self.subscriptions
            ),
            f"  admin token       {token}",
            f'                    curl --cacert {emulator.ca_path} -H "Authorization: Bearer $(cat {token})"'
            f" {emulator.url}/emulator/requests",
            f"  applied examples  {state / 'examples.yaml'} (edit, then kubectl apply -f)",
            f"  log               {state / LOG_FILE}",
            "Stop with Ctrl-C (or SIGTERM).",
        ]
        for line in lines:
            pieces.display.print(line)
        follower = self._display(pieces.tracker)
        follower.headline(
            "Kept running", "changes you make with kubectl show up here; Ctrl-C stops everything"
        )
        follower.start()
        try:
            with contextlib.suppress(Exception):
                await pieces.controller.ended()
        finally:
            await follower.stop()
        raise sandbox_options.SandboxError(f"the controller stopped: {pieces.controller.describe_end()}")


def _attach_intents(results: list[scenario.StepResult], tracker: tracking.Tracker) -> None:
    """Label each logged request with the controller's intent id for it, from the status history."""
    intents: dict[str, str] = {}
    for samples in tracker.samples.values():
        for sample in samples:
            operation = sample.view.operation
            if operation is not None and operation.request_id and operation.intent_id:
                intents[operation.request_id.replace("-", "").lower()] = operation.intent_id
    for result in results:
        result.requests = [
            ledger.with_intent(request, intents.get(request.request_id, "")) for request in result.requests
        ]
