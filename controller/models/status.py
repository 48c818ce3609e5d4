"""The status of a `CloudServiceDeployment`: the one shape the controller writes and readers trust.

The shape is pinned by `docs/contracts.md` and the CRD's status schema (which prunes anything
else), so every field here has a twin there. Models parse leniently (a status written by an older
controller, or by hand, still loads) and serialize to camelCase JSON with absent fields left out:
`to_json()` is what goes to the API server, `from_object()` is what came back.

Timestamps are timezone-aware `datetime`s in memory and RFC 3339 strings on the wire: conditions
with second precision like every Kubernetes condition (`metav1.Time`), the controller's own
bookkeeping (operations, domain gates, history) with milliseconds, since gates count seconds.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, field_validator
from pydantic.alias_generators import to_camel

HISTORY_LIMIT = 10


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision (domain gates count in seconds, not minutes)."""
    moment = value.astimezone(UTC)
    if moment.microsecond == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def format_condition_time(value: datetime) -> str:
    """RFC 3339 in UTC with second precision, like every Kubernetes condition (`metav1.Time`)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def truncate(value: datetime) -> datetime:
    """`value` as it reads back after a round trip through the API (whole milliseconds, UTC)."""
    moment = value.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


Timestamp = Annotated[datetime, PlainSerializer(format_time, return_type=str)]
ConditionTime = Annotated[datetime, PlainSerializer(format_condition_time, return_type=str)]


class Phase(enum.StrEnum):
    """What the controller is doing with the deployment (`status.phase`, printer column PHASE)."""

    PENDING = "Pending"
    READY = "Ready"
    UPGRADING = "Upgrading"
    WALKING_DOMAINS = "WalkingDomains"
    REIMAGING = "Reimaging"
    ROLLING_BACK = "RollingBack"
    FAILED = "Failed"
    SUSPENDED = "Suspended"
    OBSERVING = "Observing"


class ConditionType(enum.StrEnum):
    """The kstatus condition types (`kstatus` reads Ready/Reconciling/Stalled)."""

    READY = "Ready"
    RECONCILING = "Reconciling"
    STALLED = "Stalled"


class OperationKind(enum.StrEnum):
    """The mutating operations the controller issues."""

    UPGRADE = "Upgrade"
    WALK_UPGRADE_DOMAIN = "WalkUpgradeDomain"
    REIMAGE = "Reimage"
    ROLLBACK = "Rollback"


class OperationPhase(enum.StrEnum):
    """Where an operation stands: recorded, accepted, finished, or lost track of."""

    REQUESTING = "Requesting"  # intent recorded, the call may or may not have gone out
    IN_PROGRESS = "InProgress"  # the service accepted it: `requestId` is known
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"  # the call went out, nobody said whether it was taken

    @property
    def finished(self) -> bool:
        return self in (OperationPhase.SUCCEEDED, OperationPhase.FAILED)


def _prune(value: Any) -> Any:
    # Empty strings, lists and mappings mean "nothing": leaving them out keeps the stored status
    # short, and a field that empties is then deleted by the merge patch. 0 and false stay.
    if isinstance(value, dict):
        pruned = {key: _prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in ("", [], {})}
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


class StatusModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are ignored when reading."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, use_enum_values=False
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON object the API server stores: absent and empty fields left out."""
        result: dict[str, Any] = _prune(self.model_dump(mode="json", by_alias=True, exclude_none=True))
        return result


class Condition(StatusModel):
    """A kstatus condition; `last_transition_time` changes only when `status` changes."""

    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    observed_generation: int | None = None
    last_transition_time: ConditionTime | None = None


class Instance(StatusModel):
    """A role instance as last observed."""

    name: str
    role: str = ""
    status: str = ""
    upgrade_domain: int = 0
    fault_domain: int = 0


class UpgradeProgress(StatusModel):
    """An update in progress, as Get Deployment's UpgradeStatus reports it."""

    type: str
    current_domain: int
    domain_state: str


class DeploymentObservation(StatusModel):
    """The deployment as last observed (Get Deployment), reduced to what users act on."""

    name: str = ""
    slot: str = ""
    status: str = ""
    label: str = ""
    upgrade_domain_count: int = 0
    rollback_allowed: bool = False
    locked: bool = False
    observed_at: Timestamp | None = None
    upgrade: UpgradeProgress | None = None
    instances: tuple[Instance, ...] = ()


class Applied(StatusModel):
    """Digests of what the controller last rolled out to completion (never a URL or a secret)."""

    package_digest: str = ""
    configuration_digest: str = ""
    label_digest: str = ""
    extended_properties_digest: str = ""
    extensions_digest: str = ""
    spec_digest: str = ""
    generation: int | None = None
    applied_at: Timestamp | None = None


class Operation(StatusModel):
    """The operation in flight, or the last one until the next replaces it.

    Recorded with phase `Requesting` *before* the call (the intent), updated with the request id
    right after: what makes a restart resume instead of re-issuing.
    """

    kind: OperationKind
    target: str
    intent_id: str
    request_id: str = ""
    phase: OperationPhase = OperationPhase.REQUESTING
    requested_at: Timestamp | None = None
    spec_digest: str = ""
    generation: int | None = None
    upgrade_domain: int | None = None
    reimage_generation: int | None = None


class Walk(StatusModel):
    """Domain gate bookkeeping of an update in progress.

    `domain` is the last domain walked (Manual) or being updated (Auto/Simultaneous);
    `walked_at` starts the window in which it must become healthy (`timeoutSeconds`);
    `healthy_since` is when all its instances were first seen `ReadyRole` (pause counts from it).
    """

    domain: int
    walked_at: Timestamp
    healthy_since: Timestamp | None = None


class HistoryEntry(StatusModel):
    """A finished (or abandoned) operation."""

    kind: str
    target: str = ""
    request_id: str = ""
    result: str = ""  # Succeeded | Failed | Rejected | Abandoned | Superseded
    error_code: str = ""
    error_message: str = ""
    requested_at: Timestamp | None = None
    finished_at: Timestamp | None = None

    @classmethod
    def of(
        cls, operation: Operation, result: str, finished_at: datetime, *, code: str = "", message: str = ""
    ) -> HistoryEntry:
        """The history record of `operation`, finished (or given up) at `finished_at`."""
        return cls(
            kind=operation.kind,
            target=operation.target,
            request_id=operation.request_id,
            result=result,
            error_code=code,
            error_message=message,
            requested_at=operation.requested_at,
            finished_at=finished_at,
        )


class Status(StatusModel):
    """`status` of a CloudServiceDeployment."""

    observed_generation: int | None = None
    phase: Phase | None = None
    domain_progress: str = ""
    conditions: tuple[Condition, ...] = ()
    deployment: DeploymentObservation | None = None
    applied: Applied | None = None
    operation: Operation | None = None
    walk: Walk | None = None
    reimage: dict[str, int] = Field(default_factory=dict)
    stalled_spec_digest: str = ""
    plan: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = ()

    @field_validator("history")
    @classmethod
    def _bounded_history(cls, value: tuple[HistoryEntry, ...]) -> tuple[HistoryEntry, ...]:
        return value[-HISTORY_LIMIT:]

    @classmethod
    def from_object(cls, status: object) -> Status:
        """Parse `status` of an object; an unreadable status reads as empty (it is rebuilt)."""
        if not isinstance(status, dict):
            return cls()
        try:
            return cls.model_validate(status)
        except ValidationError:
            return cls._salvage(status)

    @classmethod
    def _salvage(cls, status: dict[str, Any]) -> Status:
        # Keep whatever fields still parse: losing `operation` to an unrelated bad field would
        # forget an operation in flight, which is exactly what the status exists to remember.
        fields: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            key = info.alias or name
            if key not in status:
                continue
            try:
                cls.model_validate({key: status[key]})
            except ValidationError:
                continue
            fields[key] = status[key]
        return cls.model_validate(fields)

    def condition(self, condition_type: str) -> Condition | None:
        """The condition of that type, if any."""
        return next((c for c in self.conditions if c.type == condition_type), None)

    def with_history(self, entry: HistoryEntry) -> Status:
        """This status with `entry` appended to a history bounded to the last ten."""
        return self.model_copy(update={"history": (*self.history, entry)[-HISTORY_LIMIT:]})
