"""What the sandbox reads back from the API: resources and events, reduced to what it shows.

The live table, the plain log and the scenario's expectations all look at the same few facts
of a `CloudServiceDeployment` (phase, conditions, domain progress, instances, the operation in
flight). Parsing them once, leniently, keeps those three in agreement and keeps a half-written
status (the controller may not have reached every field yet) from breaking the display.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

READY_ROLE = "ReadyRole"
# Instance states that mean "something is wrong", as opposed to "on its way".
BAD_STATES = frozenset(
    {
        "CyclingRole",
        "RestartingRole",
        "FailedStartingRole",
        "FailedStartingVM",
        "UnresponsiveRole",
        "Unresponsive",
    }
)


@dataclass(frozen=True)
class Condition:
    """One kstatus condition, as the controller wrote it."""

    type: str
    status: str
    reason: str = ""
    message: str = ""
    observed_generation: int | None = None

    @property
    def is_true(self) -> bool:
        return self.status == "True"


@dataclass(frozen=True)
class Instance:
    """One role instance as last observed by the controller."""

    name: str
    role: str
    status: str
    upgrade_domain: int


@dataclass(frozen=True)
class Operation:
    """The operation the controller has in flight."""

    kind: str
    target: str
    phase: str
    request_id: str
    intent_id: str


@dataclass(frozen=True)
class ResourceView:
    """A `CloudServiceDeployment` reduced to what the sandbox shows and checks."""

    name: str
    namespace: str
    service: str
    policy: str
    upgrade_mode: str
    generation: int
    observed_generation: int | None
    phase: str
    conditions: Mapping[str, Condition]
    domain_progress: str
    deployment_status: str
    label: str
    upgrade_domain_count: int
    instances: Sequence[Instance]
    operation: Operation | None
    plan: Sequence[str]
    history: Sequence[Mapping[str, Any]]
    reimage: Mapping[str, int]
    spec: Mapping[str, Any] = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def condition(self, kind: str) -> Condition | None:
        return self.conditions.get(kind)

    @property
    def ready(self) -> bool:
        condition = self.condition("Ready")
        return condition is not None and condition.is_true

    @property
    def stalled(self) -> Condition | None:
        condition = self.condition("Stalled")
        return condition if condition is not None and condition.is_true else None

    @property
    def caught_up(self) -> bool:
        """The controller has looked at the current spec (status speaks about this generation)."""
        return self.observed_generation is not None and self.observed_generation >= self.generation

    def instance_counts(self) -> dict[str, Counter[str]]:
        """Per role, how many instances are in each state."""
        counts: dict[str, Counter[str]] = {}
        for instance in self.instances:
            counts.setdefault(instance.role, Counter())[instance.status] += 1
        return counts

    def all_instances_ready(self) -> bool:
        return bool(self.instances) and all(i.status == READY_ROLE for i in self.instances)


@dataclass(frozen=True)
class EventView:
    """A Kubernetes Event about one of the resources."""

    uid: str
    timestamp: str
    object_name: str
    type: str
    reason: str
    message: str


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def parse_resource(obj: Mapping[str, Any]) -> ResourceView:
    """A view of a `CloudServiceDeployment` object; missing status fields read as empty."""
    metadata = _dict(obj.get("metadata"))
    spec = _dict(obj.get("spec"))
    status = _dict(obj.get("status"))
    deployment = _dict(status.get("deployment"))
    conditions = {
        str(item.get("type")): Condition(
            type=str(item.get("type")),
            status=str(item.get("status", "Unknown")),
            reason=str(item.get("reason") or ""),
            message=str(item.get("message") or ""),
            observed_generation=_int(item["observedGeneration"]) if "observedGeneration" in item else None,
        )
        for item in map(_dict, _list(status.get("conditions")))
        if item.get("type")
    }
    instances = [
        Instance(
            name=str(item.get("name", "")),
            role=str(item.get("role", "")),
            status=str(item.get("status", "")),
            upgrade_domain=_int(item.get("upgradeDomain")),
        )
        for item in map(_dict, _list(deployment.get("instances")))
    ]
    operation_body = _dict(status.get("operation"))
    operation = (
        Operation(
            kind=str(operation_body.get("kind", "")),
            target=str(operation_body.get("target", "")),
            phase=str(operation_body.get("phase", "")),
            request_id=str(operation_body.get("requestId") or ""),
            intent_id=str(operation_body.get("intentId") or ""),
        )
        if operation_body.get("kind")
        else None
    )
    observed = status.get("observedGeneration")
    return ResourceView(
        name=str(metadata.get("name", "")),
        namespace=str(metadata.get("namespace", "")),
        service=str(spec.get("serviceName", "")),
        policy=str(spec.get("reconcilePolicy") or "Manage"),
        upgrade_mode=str(_dict(spec.get("upgrade")).get("mode") or "Auto"),
        generation=_int(metadata.get("generation"), 1),
        observed_generation=_int(observed) if observed is not None else None,
        phase=str(status.get("phase") or "Pending"),
        conditions=conditions,
        domain_progress=str(status.get("domainProgress") or "-"),
        deployment_status=str(deployment.get("status") or ""),
        label=str(deployment.get("label") or ""),
        upgrade_domain_count=_int(deployment.get("upgradeDomainCount"), 0),
        instances=instances,
        operation=operation,
        plan=[str(line) for line in _list(status.get("plan"))],
        history=[_dict(item) for item in _list(status.get("history"))],
        reimage={str(k): _int(v) for k, v in _dict(status.get("reimage")).items()},
        spec=spec,
    )


def parse_event(obj: Mapping[str, Any]) -> EventView:
    """A view of a core/v1 Event (kopf writes the legacy fields)."""
    metadata = _dict(obj.get("metadata"))
    involved = _dict(obj.get("involvedObject") or obj.get("regarding"))
    timestamp = (
        obj.get("lastTimestamp")
        or obj.get("eventTime")
        or obj.get("firstTimestamp")
        or metadata.get("creationTimestamp")
        or ""
    )
    return EventView(
        uid=str(metadata.get("uid") or metadata.get("name") or id(obj)),
        timestamp=str(timestamp),
        object_name=str(involved.get("name", "")),
        type=str(obj.get("type") or "Normal"),
        reason=str(obj.get("reason") or ""),
        message=str(obj.get("message") or obj.get("note") or ""),
    )
