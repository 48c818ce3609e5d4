"""The emulator's controls (seed, faults, package behaviour, timings, clock, reset), without HTTP.

The admin API (`admin.py`) is a thin JSON layer over this class, and in-process users (tests,
the sandbox) may call it directly through `EmulatorServer.control`. Inputs are pydantic models
with the admin API's camelCase field names, so both paths validate the same way.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from controller.emulator import (
    backend,
    behaviours,
    certs,
    cscfg,
    errors,
    faults,
    progress,
    requestlog,
    state,
    topology,
)
from controller.emulator.timings import Timings

DEFAULT_LOCATION = "West US"


class _Input(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class DeploymentSeed(_Input):
    """A deployment created directly in its steady state (no operation, instances ready)."""

    slot: str = "Production"
    name: str | None = None  # default: 32 hex characters, like the service's generated names
    package_url: str
    configuration: str  # the .cscfg XML itself, not base64
    label: str | None = None  # default: the deployment name
    status: Literal["Running", "Suspended"] = "Running"
    extended_properties: dict[str, str] = Field(default_factory=dict)
    upgrade_domain_count: int = Field(
        default=state.DEFAULT_UPGRADE_DOMAINS, ge=1, le=state.MAX_UPGRADE_DOMAINS
    )
    instance_size: str = "Small"
    sdk_version: str | None = None


class HostedServiceSeed(_Input):
    """A hosted service and its deployments."""

    subscription_id: str | None = None  # default: the only (or first) subscription
    name: str
    label: str | None = None
    description: str | None = None
    location: str | None = DEFAULT_LOCATION
    extended_properties: dict[str, str] = Field(default_factory=dict)
    deployments: list[DeploymentSeed] = Field(default_factory=list)


class Seed(_Input):
    """POST /emulator/seed."""

    subscriptions: list[str] = Field(default_factory=list)
    hosted_services: list[HostedServiceSeed] = Field(default_factory=list)


class SubscriptionInput(_Input):
    """POST /emulator/subscriptions: generate a management certificate, or also register one."""

    subscription_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9-]+$")
    certificate_pem: str | None = None


class FaultInput(_Input):
    """POST /emulator/faults."""

    operation: str = faults.ANY_OPERATION
    kind: faults.FaultKind
    target: str | None = None
    status: int = Field(default=500, ge=100, le=599)
    code: str = "InternalError"
    message: str = "The server encountered an internal error. Please retry the request."
    latency_seconds: float = Field(default=0.0, ge=0.0, le=600.0)
    retry_after_seconds: int | None = Field(default=None, ge=0, le=3600)
    times: int | None = Field(default=None, ge=1)
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    seed: int | None = None


class PackageInput(_Input):
    """PUT /emulator/packages."""

    package_url: str
    behaviour: behaviours.Kind
    error_status: int = Field(default=400, ge=400, le=599)
    error_code: str = "BadRequest"
    error_message: str | None = None


class ClockInput(_Input):
    """POST /emulator/clock."""

    advance_seconds: float = Field(default=0.0, ge=0.0)
    frozen: bool | None = None


class SettingsInput(_Input):
    """PUT /emulator/settings."""

    operations_page_size: int = Field(ge=1, le=1000)


class Control:
    """Everything the admin API can do, against one backend."""

    def __init__(
        self,
        emulator: backend.Backend,
        *,
        state_dir: Path,
        authority: certs.Authority,
        trust: Callable[[bytes], None],
        timings: Timings,
    ) -> None:
        self.backend = emulator
        self.faults = faults.FaultRegistry()
        self.requests = requestlog.RequestLog()
        self.certificates: dict[str, list[certs.ManagementCertificate]] = {}
        self._state_dir = state_dir
        self._authority = authority
        self._trust = trust
        self._initial_timings = timings

    # -- subscriptions -------------------------------------------------------------------------

    def add_subscription(self, request: SubscriptionInput) -> list[certs.ManagementCertificate]:
        """Register a subscription with a generated certificate (management/<sub>.pem), plus an
        uploaded one when given (its holder keeps the key; kept until the emulator stops)."""
        generated = certs.management_certificate(self._state_dir, self._authority, request.subscription_id)
        self._register(generated)
        if request.certificate_pem is not None:
            try:
                uploaded = certs.uploaded_certificate(
                    request.certificate_pem.encode(), generated.subscription_id, generated.path
                )
            except ValueError as exc:
                raise errors.BadRequest(f"certificatePem is not a PEM certificate: {exc}") from None
            self._register(uploaded)
        return self.certificates[request.subscription_id.lower()]

    def _register(self, certificate: certs.ManagementCertificate) -> None:
        subscription = self.backend.state.add_subscription(certificate.subscription_id)
        subscription.thumbprints.add(certificate.thumbprint)
        known = self.certificates.setdefault(subscription.id.lower(), [])
        if certificate.thumbprint not in {cert.thumbprint for cert in known}:
            known.append(certificate)
            self._trust(certificate.certificate_pem)

    # -- seeding -------------------------------------------------------------------------------

    def seed(self, request: Seed) -> list[state.HostedService]:
        """Create subscriptions, hosted services and steady deployments in one call."""
        for subscription_id in request.subscriptions:
            self.add_subscription(SubscriptionInput(subscription_id=subscription_id))
        return [self._seed_service(service) for service in request.hosted_services]

    def _seed_service(self, request: HostedServiceSeed) -> state.HostedService:
        subscription = self._seed_subscription(request.subscription_id)
        now = self.backend.advance()
        service = subscription.services.get(request.name.lower())
        if service is None:
            if self.backend.state.service_name_taken(request.name):
                raise errors.ConflictError(f"The hosted service name '{request.name}' is taken.")
            service = state.HostedService(
                subscription_id=subscription.id,
                name=request.name,
                label=request.label or request.name,
                description=request.description,
                location=request.location,
                extended_properties=dict(request.extended_properties),
                created=now,
                modified=now,
            )
            subscription.services[request.name.lower()] = service
        for deployment in request.deployments:
            self._seed_deployment(service, deployment, now)
        return service

    def _seed_subscription(self, subscription_id: str | None) -> state.Subscription:
        subscriptions = self.backend.state.subscriptions
        if subscription_id is None:
            if not subscriptions:
                raise errors.BadRequest("No subscription exists; name one in 'subscriptions'.")
            return next(iter(subscriptions.values()))
        if subscription_id.lower() not in subscriptions:
            self.add_subscription(SubscriptionInput(subscription_id=subscription_id))
        return subscriptions[subscription_id.lower()]

    def _seed_deployment(self, service: state.HostedService, request: DeploymentSeed, now: float) -> None:
        slot = state.canonical_slot(request.slot)
        name = request.name or secrets.token_hex(16)
        if slot in service.deployments or any(
            d.name.lower() == name.lower() for d in service.deployments.values()
        ):
            raise errors.ConflictError(
                f"The slot {slot} (or the name {name}) is already used in {service.name}."
            )
        spec = backend.DeploymentSpec(
            name=name,
            package_url=request.package_url,
            configuration=cscfg.parse(request.configuration),
            label=request.label or name,
            start=request.status == "Running",
            extended_properties=request.extended_properties,
        )
        deployment = self.backend.new_deployment(service, slot, spec, now)
        deployment.domain_limit = request.upgrade_domain_count
        deployment.sdk_version = request.sdk_version or deployment.sdk_version
        final = (
            self.backend.packages.of(spec.package_url).final_status() if spec.start else progress.STOPPED_VM
        )
        for role in spec.configuration.roles:
            for index in range(role.instance_count):
                instance = topology.new_instance(deployment, role.name, index, deployment.revision.number)
                instance.size = request.instance_size
                progress.set_status(instance, final)
                deployment.instances.append(instance)
        service.deployments[slot] = deployment

    # -- faults, packages, timings, clock, settings, reset --------------------------------------

    def add_fault(self, request: FaultInput) -> faults.FaultRule:
        rule = faults.FaultRule(
            id=self.faults.new_id(),
            operation=request.operation,
            kind=request.kind,
            target=request.target,
            status=request.status,
            code=request.code,
            message=request.message,
            latency_seconds=request.latency_seconds,
            retry_after_seconds=request.retry_after_seconds,
            times=request.times,
            rate=request.rate,
            seed=request.seed,
        )
        return self.faults.add(rule)

    def set_package(self, request: PackageInput) -> behaviours.Behaviour:
        default = behaviours.Behaviour()
        behaviour = behaviours.Behaviour(
            kind=request.behaviour,
            error_status=request.error_status,
            error_code=request.error_code,
            error_message=request.error_message or default.error_message,
        )
        self.backend.packages.set(request.package_url, behaviour)
        return behaviour

    def set_timings(self, changes: dict[str, object]) -> Timings:
        try:
            self.backend.timings = self.backend.timings.updated(changes)
        except (ValueError, TypeError) as exc:
            raise errors.BadRequest(str(exc)) from None
        return self.backend.timings

    def move_clock(self, request: ClockInput) -> None:
        self.backend.advance()  # settle what was due before time jumps
        if request.frozen is not None:
            self.backend.clock.freeze(request.frozen)
        self.backend.clock.advance(request.advance_seconds)
        self.backend.advance()

    def set_settings(self, request: SettingsInput) -> None:
        self.backend.page_size = request.operations_page_size

    def reset(self) -> None:
        """Back to an empty emulator: no services, operations, logged requests, faults, package
        behaviours; timings as at start. Subscriptions and their certificates stay."""
        self.backend.reset(self._initial_timings)
        self.faults.clear()
        self.requests.clear()
