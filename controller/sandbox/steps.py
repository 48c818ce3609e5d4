"""The sandbox's scenario: what a new user is shown, one step at a time.

Each step edits the example resources the way a user would (a new release, a bumped reimage
generation, a revert), waits for what a user would look for in `kubectl get csd`, checks the
management operations that reached the emulator, and says what it saw. The steps name the
examples by the part they play (the Auto one, the Manual one, the Observe one), found in the
applied files rather than hard-coded.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from controller.sandbox import examples, kube, ledger
from controller.sandbox.expectations import (
    domains_seen,
    expect_counts,
    idle,
    instance_journey,
    of_service,
    ready,
    ready_at,
    summary,
)
from controller.sandbox.releases import CSD, new_release, next_label, package_secrets
from controller.sandbox.scenario import Context, Step, StepFailed

REIMAGED_INSTANCE = "WebRole1_IN_1"


@dataclass(frozen=True)
class Cast:
    """Which example plays which part."""

    auto: str  # Manage, Auto mode: the reimage and the bad package
    manual: str  # Manage, Manual mode with a domain gate: the walked upgrade and the GitOps revert
    observe: str  # Observe policy: a plan, never a write

    @classmethod
    def of(cls, manifests: Sequence[kube.JsonObject]) -> Cast:
        resources = [m for m in manifests if m["kind"] == CSD]

        def pick(check: Callable[[kube.JsonObject], bool], part: str) -> str:
            for resource in resources:
                if check(resource["spec"]):
                    return str(resource["metadata"]["name"])
            raise examples.ExamplesError(f"no example resource can play {part}")

        def managed(spec: kube.JsonObject) -> bool:
            return bool(spec.get("reconcilePolicy", "Manage") == "Manage")

        def mode(spec: kube.JsonObject) -> str:
            return str((spec.get("upgrade") or {}).get("mode", "Auto"))

        return cls(
            auto=pick(lambda s: managed(s) and mode(s) == "Auto", "the Auto-mode resource"),
            manual=pick(lambda s: managed(s) and mode(s) == "Manual", "the Manual-mode resource"),
            observe=pick(lambda s: s.get("reconcilePolicy") == "Observe", "the Observe resource"),
        )


def _service(context: Context, name: str) -> str:
    return str(context.manifest(CSD, name)["spec"]["serviceName"])


async def converge(context: Context, cast: Cast) -> str:
    def converged() -> bool:
        observe = context.view(cast.observe)
        observing = (
            idle(observe) and observe is not None and observe.phase == "Observing" and bool(observe.plan)
        )
        return ready(context.view(cast.auto)) and ready(context.view(cast.manual)) and observing

    names = ", ".join((cast.auto, cast.manual, cast.observe))
    await context.wait(f"{names} to converge", converged, watching=cast.manual)
    writes = [r for r in of_service(await context.requests(), _service(context, cast.observe)) if r.accepted]
    if writes:
        raise StepFailed(f"the Observe resource {cast.observe} wrote to Azure: {writes[0].describe()}")
    observe = context.view(cast.observe)
    plan = "; ".join(observe.plan) if observe is not None else ""
    auto, manual = summary(context.view(cast.auto)), summary(context.view(cast.manual))
    return f"{cast.auto} {auto}; {cast.manual} {manual}; {cast.observe} Observing, plan: {plan}"


async def invalid(context: Context, cast: Cast) -> str:
    manifest = context.manifest(CSD, cast.auto)
    metadata = manifest["metadata"] = {
        "name": f"{cast.auto}-typo",
        "namespace": manifest["metadata"]["namespace"],
    }
    manifest["spec"]["deploymentName"] = "contoso-web-blue"
    context.display.note(
        f"  apply {metadata['name']}: a copy of {cast.auto} with both slot and deploymentName"
    )
    try:
        await context.client.create(manifest)
    except kube.InvalidError as error:
        rejection = error
    else:
        raise StepFailed("the API server accepted a resource with both slot and deploymentName")
    texts = [rejection.message, *(cause.field for cause in rejection.causes)]
    if not any("slot" in text or "deploymentName" in text for text in texts):
        raise StepFailed(f"rejected, but the message names neither field: {rejection.message}")
    if await context.client.get(manifest["apiVersion"], CSD, metadata["namespace"], metadata["name"]):
        raise StepFailed(f"rejected with {rejection.message}, yet {metadata['name']} exists")
    return f"{rejection.status} {rejection.reason}: {rejection.message}"


async def walked_upgrade(context: Context, cast: Cast) -> str:
    name = cast.manual
    label = next_label(str(context.manifest(CSD, name)["spec"]["label"]))
    await new_release(context, name, label=label)
    await context.wait(
        f"{name} to finish walking the upgrade domains (Ready at {label})",
        lambda: ready_at(label)(context.view(name)),
        watching=name,
    )
    service = _service(context, name)
    requests = of_service(await context.requests(), service)
    walks = [r.target for r in requests if r.operation == ledger.WALK and r.accepted]
    expect_counts(requests, {ledger.UPGRADE: 1, ledger.WALK: len(walks)}, service)
    view = context.view(name)
    expected = [f"domain {domain}" for domain in range(view.upgrade_domain_count if view else 0)]
    if walks != expected:
        raise StepFailed(f"walked {', '.join(walks) or 'nothing'}; expected {', '.join(expected)} in order")
    seen = domains_seen(context.tracker.history(name, since=context.step_started))
    walked = ", ".join(walk.removeprefix("domain ") for walk in walks)
    return (
        f"1 upgrade, then walked {walked} one at a time (DOMAIN: {' -> '.join(seen) or '-'}); {summary(view)}"
    )


async def reimage(context: Context, cast: Cast) -> str:
    name = cast.auto
    generation = int((context.manifest(CSD, name)["spec"].get("reimage") or {}).get(REIMAGED_INSTANCE, 0)) + 1

    def bump(manifest: kube.JsonObject) -> None:
        manifest["spec"].setdefault("reimage", {})[REIMAGED_INSTANCE] = generation

    def reimaged() -> bool:
        view = context.view(name)
        return ready(view) and view is not None and view.reimage.get(REIMAGED_INSTANCE, 0) >= generation

    await context.edit(CSD, name, bump, say=f"  apply {name}: spec.reimage.{REIMAGED_INSTANCE}: {generation}")
    await context.wait(f"{REIMAGED_INSTANCE} to be reimaged and Ready", reimaged, watching=name)
    # Exactly once: give the controller a few more passes in which it could (wrongly) issue it again.
    await asyncio.sleep(context.soak_seconds)
    service = _service(context, name)
    expect_counts(of_service(await context.requests(), service), {ledger.REIMAGE: 1}, service)
    journey = instance_journey(context.tracker.history(name, since=context.step_started), REIMAGED_INSTANCE)
    went = (
        f"the instance went {' -> '.join(journey)}"
        if len(journey) > 1
        else "the instance was ReadyRole again by the controller's next look"
    )
    return f"ReimageRoleInstance {REIMAGED_INSTANCE} issued once; {went}; status.reimage records {generation}"


async def bad_package(context: Context, cast: Cast) -> str:
    name = cast.auto
    good = context.manifest(CSD, name)
    good_label = str(good["spec"]["label"])
    label = next_label(good_label)
    context.display.note(
        f"  the emulator is told that the package of {label} fails to start on the instances"
    )
    await new_release(context, name, label=label, behaviour="failing")

    def stalled_back() -> bool:
        view = context.view(name)
        return idle(view) and view is not None and view.stalled is not None and view.label == good_label

    await context.wait(f"{name} to roll back and report Stalled", stalled_back, watching=name)
    await asyncio.sleep(context.soak_seconds)  # long enough to see that the failed spec is not retried
    service = _service(context, name)
    expect_counts(
        of_service(await context.requests(), service), {ledger.UPGRADE: 1, ledger.ROLLBACK: 1}, service
    )
    view = context.view(name)
    stalled = view.stalled if view is not None else None
    reason = f"Stalled ({stalled.reason}): {stalled.message}" if stalled is not None else "not Stalled"
    # The user's fix is a revert of the file: the spec changes, so the controller proceeds.
    await context.apply(good, say=f"  apply {name}: back to {good_label} (a Git revert of the bad release)")
    await context.wait(
        f"{name} to be Ready again at {good_label}",
        lambda: ready_at(good_label)(context.view(name)),
        watching=name,
    )
    return (
        f"upgrade to {label} failed, rolled back automatically to {good_label}, not retried; {reason};"
        f" after reverting the file: {summary(context.view(name))}"
    )


async def gitops_revert(context: Context, cast: Cast) -> str:
    name = cast.manual
    previous = context.manifest(CSD, name)
    previous_files = [*package_secrets(context, previous), previous]
    previous_label = str(previous["spec"]["label"])
    label = next_label(previous_label)
    await new_release(context, name, label=label)

    def upgrading() -> bool:
        view = context.view(name)
        operation = view.operation if view is not None and view.caught_up else None
        return (
            operation is not None
            and operation.kind in {"Upgrade", "WalkUpgradeDomain"}
            and bool(operation.request_id)
        )

    await context.wait(f"{name} to start upgrading to {label}", upgrading, watching=name)
    view = context.view(name)
    where = f"{view.operation.kind} {view.operation.target}" if view and view.operation else "?"
    for manifest in previous_files:
        kind = "" if manifest["kind"] == CSD else f"{manifest['kind']} "
        say = f"  apply {kind}{manifest['metadata']['name']}: the previous file ({previous_label})"
        await context.apply(manifest, say=say)
    await context.wait(
        f"{name} to roll back to {previous_label}",
        lambda: ready_at(previous_label)(context.view(name)),
        watching=name,
    )
    service = _service(context, name)
    requests = of_service(await context.requests(), service)
    walks = sum(1 for r in requests if r.operation == ledger.WALK and r.accepted)
    expect_counts(requests, {ledger.UPGRADE: 1, ledger.WALK: walks, ledger.ROLLBACK: 1}, service)
    walked = f", {walks} domain(s) walked by then" if walks else ""
    return (
        f"upgrade to {label} in flight ({where}) when the previous files came back{walked};"
        f" 1 Rollback, no second upgrade; {summary(context.view(name))}"
    )


def build(cast: Cast) -> list[Step]:
    """The scenario, in order."""
    return [
        Step(
            "The examples converge",
            f"{cast.auto} and {cast.manual} are managed: their deployments already match the spec, so the"
            f" controller only observes and reports Ready. {cast.observe} is Observe-only: it never writes"
            " to Azure and shows in status.plan what it would do.",
            f"{cast.auto} and {cast.manual} Ready; {cast.observe} Observing with a plan, never writing",
            functools.partial(converge, cast=cast),
        ),
        Step(
            "Bad input gets a clear error",
            "The CRD's schema and CEL rules run in the API server: a resource naming both a slot and a"
            " deploymentName is refused at `kubectl apply`, with a message naming the fields.",
            "422 Invalid naming slot/deploymentName; nothing created",
            functools.partial(invalid, cast=cast),
        ),
        Step(
            "An upgrade walks the upgrade domains",
            f"{cast.manual} is in Manual mode: after Upgrade Deployment the controller walks one upgrade"
            " domain at a time, and the next only once the last is healthy again (spec.upgrade.domainGate).",
            "1 UpgradeDeployment, then WalkUpgradeDomain 0, 1, 2, ... once each, in order; Ready, new label",
            functools.partial(walked_upgrade, cast=cast),
        ),
        Step(
            "A reimage of one instance, exactly once",
            f"Raising spec.reimage.{REIMAGED_INSTANCE} asks for one reimage of that instance; the"
            " controller records the generation it applied, so the reimage is never repeated.",
            f"1 ReimageRoleInstance {REIMAGED_INSTANCE}; status.reimage records it; Ready",
            functools.partial(reimage, cast=cast),
        ),
        Step(
            "A bad package is rolled back",
            "The next release's package fails to start. With rollback.onFailure the controller rolls the"
            " upgrade back and reports Stalled with Azure's reason; it does not retry that spec until it"
            " changes.",
            "1 UpgradeDeployment (fails), 1 Rollback, Stalled with the reason; Ready once the file reverts",
            functools.partial(bad_package, cast=cast),
        ),
        Step(
            "A GitOps revert during an upgrade",
            f"A new release of {cast.manual} is applied and, while it is being rolled out, the previous"
            " files are applied again (a Git revert). The spec is back to what was deployed before the"
            " upgrade, so the controller rolls the upgrade back instead of starting a second one.",
            "1 UpgradeDeployment, 1 Rollback, no second upgrade; Ready at the previous label",
            functools.partial(gitops_revert, cast=cast),
        ),
    ]
