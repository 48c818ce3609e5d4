"""What the scenario looks for: readings of the resources and of the emulator's request log.

Each helper answers one question a user would ask of `kubectl get csd` or of Azure's activity
log ("is it Ready at the new label?", "how many upgrades reached the service?"), so the steps
read as the story they tell.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from controller.sandbox import display, ledger, views
from controller.sandbox.scenario import StepFailed

FINISHED = frozenset({"Succeeded", "Failed"})
View = views.ResourceView | None


def idle(view: View) -> bool:
    """The controller has caught up with the spec and nothing is in flight."""
    return (
        view is not None
        and view.caught_up
        and (view.operation is None or view.operation.phase in FINISHED)
        and view.domain_progress in {"-", ""}
    )


def ready(view: View) -> bool:
    return idle(view) and view is not None and view.ready and view.phase == "Ready"


def ready_at(label: str) -> Callable[[View], bool]:
    return lambda view: ready(view) and view is not None and view.label == label


def summary(view: View) -> str:
    if view is None:
        return "not seen"
    return f"{view.phase} at {view.label or '?'} ({display.instances_plain(view)})"


def domains_seen(history: Sequence[views.ResourceView]) -> list[str]:
    seen: list[str] = []
    for view in history:
        if view.domain_progress not in {"-", ""} and (not seen or seen[-1] != view.domain_progress):
            seen.append(view.domain_progress)
    return seen


def instance_journey(history: Sequence[views.ResourceView], name: str) -> list[str]:
    journey: list[str] = []
    for view in history:
        for instance in view.instances:
            if instance.name == name and (not journey or journey[-1] != instance.status):
                journey.append(instance.status)
    return journey


def of_service(requests: Sequence[ledger.LoggedRequest], service: str) -> list[ledger.LoggedRequest]:
    return [request for request in requests if request.service.lower() == service.lower()]


def expect_counts(requests: Sequence[ledger.LoggedRequest], expected: dict[str, int], where: str) -> None:
    """StepFailed unless exactly these accepted operations (and no others) reached `where`."""
    actual = ledger.counts(requests)
    if actual != {kind: n for kind, n in expected.items() if n}:
        raise StepFailed(
            f"expected {ledger.format_counts(Counter(expected))} on {where},"
            f" the emulator received {ledger.format_counts(actual)}"
        )
