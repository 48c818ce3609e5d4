"""The emulator's backend state: subscriptions, hosted services, deployments and their instances.

Plain typed data and lookups, with no HTTP and no clock: the backend (`backend.py`) changes it,
the fabric (`fabric.py`) moves it along in time, and views (`ops/views.py`) render it. Lookups
raise the documented `ResourceNotFound` so every operation reports missing things the same way.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from typing import Literal

from controller.azure import wire
from controller.emulator import cscfg, errors

SLOTS = {"production": "Production", "staging": "Staging"}
DEFAULT_UPGRADE_DOMAINS = 5
MAX_UPGRADE_DOMAINS = 20
FAULT_DOMAINS = 2
READY_ROLE = "ReadyRole"

UpdateKind = Literal["Upgrade", "ChangeConfiguration", "Rollback"]


@dataclasses.dataclass(frozen=True)
class DeploymentRef:
    """A deployment of `service`, addressed by slot (by-slot URIs) or by name (by-name URIs)."""

    service: str
    slot: str | None = None
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class Revision:
    """Everything one Create/Upgrade/Change Configuration put in place, immutable so that a
    rollback restores exactly the package, configuration, label and properties of before."""

    number: int
    package_url: str
    configuration: cscfg.ServiceConfiguration
    label: str
    extended_properties: tuple[tuple[str, str], ...]
    extension_configuration: wire.ExtensionConfiguration | None

    def properties(self) -> dict[str, str]:
        return dict(self.extended_properties)


@dataclasses.dataclass
class RoleInstance:
    """One instance of a role; `revision` is the number of the revision whose bits it runs."""

    role: str
    index: int
    upgrade_domain: int
    fault_domain: int
    status: str
    power_state: str
    revision: int
    ip_address: str
    size: str = "Small"
    # Bumped whenever a new state sequence starts, so steps of a superseded sequence are ignored.
    sequence: int = 0
    settled: bool = True

    @property
    def name(self) -> str:
        return f"{self.role}_IN_{self.index}"


@dataclasses.dataclass
class Update:
    """An in-place update (upgrade, configuration change or rollback) moving across upgrade domains."""

    kind: UpdateKind
    mode: str  # Auto | Manual | Simultaneous
    target: Revision
    roles: frozenset[str]  # the roles whose instances move to `target`
    operation_id: str
    domain: int = 0
    domain_state: str = "Before"  # Before | During
    processing: tuple[str, ...] = ()  # instances of the domain being processed
    walk_operation_id: str | None = None
    halted: bool = False  # stopped by a failure; only a rollback or a new update moves it on


@dataclasses.dataclass
class Deployment:
    """A deployment in a slot of a hosted service."""

    subscription_id: str
    service_name: str
    name: str
    slot: str  # Production | Staging
    private_id: str
    revision: Revision  # what Get Deployment reports (the target while an update runs)
    baseline: Revision  # the last revision completely in place: what a rollback returns to
    status: str
    created: float
    modified: float
    instances: list[RoleInstance] = dataclasses.field(default_factory=list)
    domain_limit: int = DEFAULT_UPGRADE_DOMAINS  # upgradeDomainCount of the service definition
    sdk_version: str = "2.9.8899.26"
    update: Update | None = None
    locked_until: float = 0.0  # end of the accepting phase of the latest operation
    exclusive_operation: str | None = None  # an operation holding the deployment until it ends
    epoch: int = 0  # bumped when an update is superseded or the deployment deleted

    def instance(self, name: str) -> RoleInstance | None:
        return next((inst for inst in self.instances if inst.name.lower() == name.lower()), None)

    def upgrade_domain_count(self) -> int:
        """The upgrade domains in use: min(configured, largest role) — a 1-instance deployment has 1."""
        counts = [role.instance_count for role in self.revision.configuration.roles]
        return max(1, min(self.domain_limit, max(counts, default=1)))

    def suspended(self) -> bool:
        """Stopped or on its way there (an update of a suspended deployment keeps it stopped)."""
        return self.status in {"Suspended", "Suspending", "SuspendedTransitioning"}

    def locked(self, now: float) -> bool:
        return now < self.locked_until or self.exclusive_operation is not None

    def rollback_allowed(self) -> bool:
        """True while an update is in progress and some affected instance is not on the new
        version yet (or the update was halted by a failure); never during a rollback."""
        update = self.update
        if update is None or update.kind == "Rollback":
            return False
        if update.halted:
            return True
        return any(
            inst.role in update.roles and inst.revision != update.target.number for inst in self.instances
        )


@dataclasses.dataclass
class HostedService:
    """A hosted (cloud) service: a name, descriptive properties and up to two deployments."""

    subscription_id: str
    name: str
    label: str
    created: float
    modified: float
    description: str | None = None
    location: str | None = None
    affinity_group: str | None = None
    extended_properties: dict[str, str] = dataclasses.field(default_factory=dict)
    deployments: dict[str, Deployment] = dataclasses.field(default_factory=dict)  # by slot

    def object_id(self) -> str:
        """`/<sub>/services/hostedservices/<service>`: the OperationObjectId of its operations."""
        return f"/{self.subscription_id}/services/hostedservices/{self.name}"

    def deployment_in_slot(self, slot: str) -> Deployment:
        deployment = self.deployments.get(canonical_slot(slot))
        if deployment is None:
            raise errors.ResourceNotFound(errors.NO_DEPLOYMENTS_MESSAGE)
        return deployment

    def deployment_named(self, name: str) -> Deployment:
        for deployment in self.deployments.values():
            if deployment.name.lower() == name.lower():
                return deployment
        raise errors.ResourceNotFound(f"The deployment name '{name}' does not exist.")


@dataclasses.dataclass
class Subscription:
    """A subscription and the thumbprints of its management certificates."""

    id: str
    thumbprints: set[str] = dataclasses.field(default_factory=set)
    services: dict[str, HostedService] = dataclasses.field(default_factory=dict)  # by lower-case name


class EmulatorState:
    """All subscriptions, and the counters that make names unique."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, Subscription] = {}
        self._revisions = itertools.count(1)

    def next_revision_number(self) -> int:
        return next(self._revisions)

    def add_subscription(self, subscription_id: str) -> Subscription:
        return self.subscriptions.setdefault(subscription_id.lower(), Subscription(id=subscription_id))

    def subscription(self, subscription_id: str) -> Subscription | None:
        return self.subscriptions.get(subscription_id.lower())

    def service(self, subscription_id: str, name: str) -> HostedService:
        subscription = self.subscription(subscription_id)
        service = subscription.services.get(name.lower()) if subscription else None
        if service is None:
            raise errors.ResourceNotFound("The hosted service does not exist.")
        return service

    def deployment(self, subscription_id: str, ref: DeploymentRef) -> tuple[HostedService, Deployment]:
        service = self.service(subscription_id, ref.service)
        if ref.slot is not None:
            return service, service.deployment_in_slot(ref.slot)
        return service, service.deployment_named(ref.name or "")

    def service_name_taken(self, name: str) -> bool:
        """Hosted service names are DNS names, unique across all subscriptions."""
        return any(name.lower() in sub.services for sub in self.subscriptions.values())

    def deployments(self) -> Iterator[Deployment]:
        for subscription in self.subscriptions.values():
            for service in subscription.services.values():
                yield from service.deployments.values()

    def clear_services(self) -> None:
        """Forget every hosted service (reset); subscriptions and their certificates stay."""
        for subscription in self.subscriptions.values():
            subscription.services.clear()


def canonical_slot(slot: str) -> str:
    """`production`/`Production`/`PRODUCTION` -> `Production`; anything else is a bad request."""
    canonical = SLOTS.get(slot.lower())
    if canonical is None:
        raise errors.BadRequest(f"The deployment slot '{slot}' is not valid; use production or staging.")
    return canonical


def frozen_properties(properties: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Extended properties in the immutable, name-sorted form a Revision keeps."""
    return tuple(sorted(properties.items(), key=lambda item: item[0].lower()))
