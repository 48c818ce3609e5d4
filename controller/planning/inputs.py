"""What the planner decides from: the desired state, the observed deployment, and nothing else.

These are plain frozen values, already reduced to what a decision needs (digests instead of
documents, decoded labels, one tuple of instances), so the planner and its table tests never
touch XML, Kubernetes objects or the clock. `reconcile.desired` and `reconcile.observe` build them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

READY_ROLE = "ReadyRole"
# Instance states that say the role is failing rather than on its way (reference §3): an upgrade
# that leaves instances here has failed once `faultGraceSeconds` have passed.
FAULT_STATES = frozenset(
    {"RestartingRole", "CyclingRole", "FailedStartingRole", "FailedStartingVM", "UnresponsiveRole"}
)
# Deployment states in which no update may be started (it would be refused or lost).
BUSY_DEPLOYMENT_STATES = frozenset(
    {"Starting", "Suspending", "Deploying", "Deleting", "SuspendedTransitioning"}
)
RUNNING = "Running"
MANUAL = "Manual"
BEFORE = "Before"


@dataclass(frozen=True)
class DomainGate:
    """`spec.upgrade.domainGate`: when the next upgrade domain may be walked."""

    require_ready_instances: bool = True
    pause_seconds: float = 0
    timeout_seconds: float = 1800


@dataclass(frozen=True)
class Digests:
    """Digests of the desired deployment content; `spec` covers all of them (`CsoAppliedDigest`)."""

    package: str
    configuration: str
    label: str
    extended_properties: str
    extensions: str
    spec: str


@dataclass(frozen=True)
class Tuning:
    """Controller-wide timing knobs (not part of a resource's spec)."""

    poll_seconds: float = 5.0  # how often an operation or rollout in progress is re-read, at first
    max_poll_seconds: float = 60.0  # ... and at most (the interval grows with the operation's age)
    fault_grace_seconds: float = 60.0  # how long instances may sit in a fault state after a walk


@dataclass(frozen=True)
class DesiredState:
    """The spec of one resource, resolved (Secrets and ConfigMaps read) and reduced to digests."""

    generation: int
    digests: Digests
    label: str
    extended_properties: Mapping[str, str] = field(default_factory=dict)
    upgrade_mode: str = "Auto"
    role_to_upgrade: str | None = None
    force: bool = False
    gate: DomainGate = field(default_factory=DomainGate)
    rollback_on_failure: bool = True
    rollback_mode: str = "Auto"
    rollback_force: bool = False
    reimage: Mapping[str, int] = field(default_factory=dict)
    observe_only: bool = False
    suspend: bool = False
    sync_interval_seconds: float = 300
    confirm_not_issued: str = ""  # value of the confirm-not-issued annotation, if any
    tuning: Tuning = field(default_factory=Tuning)


@dataclass(frozen=True)
class ObservedInstance:
    """A role instance from Get Deployment."""

    name: str
    role: str
    status: str
    upgrade_domain: int
    fault_domain: int = 0

    @property
    def ready(self) -> bool:
        return self.status == READY_ROLE

    @property
    def faulted(self) -> bool:
        return self.status in FAULT_STATES


@dataclass(frozen=True)
class ObservedUpgrade:
    """Get Deployment's UpgradeStatus: present only while an update is in progress."""

    type: str
    current_domain: int
    domain_state: str


@dataclass(frozen=True)
class ObservedDeployment:
    """A deployment as Get Deployment shows it, with the configuration already canonicalised."""

    name: str
    slot: str
    status: str
    label: str
    configuration_digest: str
    extended_properties: Mapping[str, str]  # the user's: without the controller's own `Cso*`
    applied_digest: str | None  # the `CsoAppliedDigest` extended property
    extensions_digest: str | None  # None when Get Deployment does not report extensions
    upgrade: ObservedUpgrade | None
    upgrade_domain_count: int
    rollback_allowed: bool
    locked: bool
    instances: tuple[ObservedInstance, ...] = ()

    def instance(self, name: str) -> ObservedInstance | None:
        return next((i for i in self.instances if i.name == name), None)

    @property
    def settled(self) -> bool:
        """No update runs, the deployment is Running and every instance is ReadyRole (§12)."""
        return (
            self.upgrade is None
            and self.status == RUNNING
            and bool(self.instances)
            and all(i.ready for i in self.instances)
        )


@dataclass(frozen=True)
class ObservedOperation:
    """Get Operation Status of the operation recorded in status."""

    request_id: str
    status: str  # InProgress | Succeeded | Failed | Lost (the service no longer knows it)
    http_status: int | None = None
    error_code: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class Observation:
    """Everything read from Azure in one pass; `deployment` is None when it does not exist."""

    deployment: ObservedDeployment | None
    operation: ObservedOperation | None = None
