"""The emulator backend: one method per remote operation, with no HTTP in sight.

Each method checks the rules that depend on state (existence, conflicts, walk order, whether a
rollback is allowed), raising the documented error *before* changing anything, so a rejected
request has no effect (the Go SDK re-sends rejected POSTs up to 7 times). Then it records the
operation and hands the change to the fabric, which moves it along on the clock.

All of this runs on the event loop without awaiting, so each request's check-then-change is
atomic: two concurrent requests for one deployment cannot both pass the lock check.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping

from controller.azure import wire
from controller.emulator import (
    behaviours,
    cscfg,
    errors,
    fabric,
    lifecycle,
    progress,
    records,
    state,
    validation,
)
from controller.emulator.clock import Clock
from controller.emulator.names import OperationName
from controller.emulator.timings import Timings

DEFAULT_PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True)
class HostedServiceSpec:
    """Create Hosted Service, validated."""

    name: str
    label: str
    description: str | None = None
    location: str | None = None
    affinity_group: str | None = None
    extended_properties: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DeploymentSpec:
    """Create Deployment, validated."""

    name: str
    package_url: str
    configuration: cscfg.ServiceConfiguration
    label: str
    start: bool = False
    extended_properties: Mapping[str, str] = dataclasses.field(default_factory=dict)
    extension_configuration: wire.ExtensionConfiguration | None = None


@dataclasses.dataclass(frozen=True)
class UpdateSpec:
    """Upgrade Deployment (new package) or Change Deployment Configuration, validated.

    Fields left None keep the deployment's current value (a configuration change keeps the
    package and label)."""

    mode: str
    configuration: cscfg.ServiceConfiguration
    package_url: str | None = None
    label: str | None = None
    role_to_upgrade: str | None = None
    force: bool = False
    property_changes: Mapping[str, str | None] = dataclasses.field(default_factory=dict)
    extension_configuration: wire.ExtensionConfiguration | None = None


class Backend:
    """The emulated service: state, clock, progression and operation records."""

    def __init__(self, *, timings: Timings, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.timings = timings
        self.state = state.EmulatorState()
        self.scheduler = progress.Scheduler()
        self.operations = records.OperationLog()
        self.packages = behaviours.PackageBehaviours()
        steps = progress.InstanceSteps(self.scheduler, lambda: self.timings)
        self.fabric = fabric.Fabric(
            self.scheduler, steps, self.operations, self.packages, lambda: self.timings
        )
        self.lifecycle = lifecycle.Lifecycle(
            self.scheduler, steps, self.operations, self.packages, lambda: self.timings, self.fabric.supersede
        )
        self.page_size = DEFAULT_PAGE_SIZE
        self.now = self.clock.now()  # the instant state was last brought up to date

    def advance(self) -> float:
        """Run every transition due by now; every request starts here. Returns now.

        Views render at `self.now`, the same instant, so a response never mixes a lock that has
        expired with the transition its expiry triggers."""
        self.now = self.clock.now()
        self.scheduler.run_until(self.now)
        return self.now

    def reset(self, timings: Timings) -> None:
        """Forget services, deployments and operations; subscriptions and certificates stay."""
        self.state.clear_services()
        self.scheduler.clear()
        self.operations.clear()
        self.packages.clear()
        self.timings = timings
        self.page_size = DEFAULT_PAGE_SIZE

    # -- hosted services -----------------------------------------------------------------------

    def create_hosted_service(self, caller: records.Caller, spec: HostedServiceSpec) -> None:
        now = self.advance()
        subscription = self._subscription(caller.subscription_id)
        if self.state.service_name_taken(spec.name):
            raise errors.ConflictError("The specified DNS name is already taken.")
        service = state.HostedService(
            subscription_id=subscription.id,
            name=spec.name,
            label=spec.label,
            description=spec.description,
            location=spec.location,
            affinity_group=spec.affinity_group,
            extended_properties=dict(spec.extended_properties),
            created=now,
            modified=now,
        )
        subscription.services[spec.name.lower()] = service
        record = self._record(
            caller, OperationName.CREATE_HOSTED_SERVICE, service, [("ServiceName", spec.name)], now
        )
        self.operations.succeed(record.id, now)  # synchronous: 201 Created

    def hosted_service(self, subscription_id: str, name: str) -> state.HostedService:
        self.advance()
        return self.state.service(subscription_id, name)

    def delete_hosted_service(self, caller: records.Caller, name: str, *, with_deployments: bool) -> None:
        """Without comp=media the service must be empty; with it, its deployments go too."""
        now = self.advance()
        service = self.state.service(caller.subscription_id, name)
        if service.deployments and not with_deployments:
            raise errors.ConflictError(
                "The hosted service has deployments; delete them first "
                "(or delete the service with comp=media)."
            )
        if any(deployment.locked(now) for deployment in service.deployments.values()):
            raise errors.ConflictError()
        record = self._record(
            caller, OperationName.DELETE_HOSTED_SERVICE, service, [("ServiceName", service.name)], now
        )
        for deployment in service.deployments.values():
            deployment.epoch += 1  # pending transitions of its deployments no longer apply
        del self._subscription(caller.subscription_id).services[service.name.lower()]
        self.operations.succeed(record.id, now)

    # -- deployments ---------------------------------------------------------------------------

    def create_deployment(
        self, caller: records.Caller, service_name: str, slot: str, spec: DeploymentSpec
    ) -> None:
        now = self.advance()
        service = self.state.service(caller.subscription_id, service_name)
        slot = state.canonical_slot(slot)
        self._check_new_deployment(service, slot, spec)
        deployment = self.new_deployment(service, slot, spec, now)
        record = self._record(
            caller, OperationName.CREATE_DEPLOYMENT, service, _deployment_parameters(deployment), now
        )
        service.deployments[slot] = deployment
        self.lifecycle.deploy(deployment, record.id, now)

    def _check_new_deployment(self, service: state.HostedService, slot: str, spec: DeploymentSpec) -> None:
        if slot in service.deployments:
            raise errors.ConflictError(f"The specified deployment slot {slot} is occupied.")
        if any(dep.name.lower() == spec.name.lower() for dep in service.deployments.values()):
            raise errors.ConflictError(
                f"A deployment named '{spec.name}' already exists in hosted service '{service.name}'."
            )
        validation.extension_configuration(spec.extension_configuration, spec.configuration.role_names())

    def new_deployment(
        self, service: state.HostedService, slot: str, spec: DeploymentSpec, now: float
    ) -> state.Deployment:
        """A deployment object (not yet placed in its slot, no instances yet)."""
        revision = state.Revision(
            number=self.state.next_revision_number(),
            package_url=spec.package_url,
            configuration=spec.configuration,
            label=spec.label,
            extended_properties=state.frozen_properties(spec.extended_properties),
            extension_configuration=spec.extension_configuration,
        )
        return state.Deployment(
            subscription_id=service.subscription_id,
            service_name=service.name,
            name=spec.name,
            slot=slot,
            private_id=secrets.token_hex(16),
            revision=revision,
            baseline=revision,
            status="Running" if spec.start else "Suspended",
            created=now,
            modified=now,
        )

    def deployment(self, subscription_id: str, ref: state.DeploymentRef) -> state.Deployment:
        self.advance()
        return self.state.deployment(subscription_id, ref)[1]

    def delete_deployment(self, caller: records.Caller, ref: state.DeploymentRef) -> None:
        """Allowed even while an update rolls (reference §12), but not while Locked."""
        now = self.advance()
        service, deployment = self._unlocked(caller, ref, now)
        record = self._record(
            caller, OperationName.DELETE_DEPLOYMENT, service, _deployment_parameters(deployment), now
        )
        self.lifecycle.delete(service, deployment, record.id, now)

    def upgrade_deployment(self, caller: records.Caller, ref: state.DeploymentRef, spec: UpdateSpec) -> None:
        self._update(caller, ref, spec, OperationName.UPGRADE_DEPLOYMENT)

    def change_deployment_configuration(
        self, caller: records.Caller, ref: state.DeploymentRef, spec: UpdateSpec
    ) -> None:
        self._update(caller, ref, spec, OperationName.CHANGE_DEPLOYMENT_CONFIGURATION)

    def _update(
        self, caller: records.Caller, ref: state.DeploymentRef, spec: UpdateSpec, operation: OperationName
    ) -> None:
        """A new update replaces one in progress ("rollback-then-apply"), unless Locked."""
        now = self.advance()
        service, deployment = self._unlocked(caller, ref, now)
        roles = _updated_roles(spec)
        if operation == OperationName.CHANGE_DEPLOYMENT_CONFIGURATION:
            _check_same_roles(deployment.revision.configuration, spec.configuration)
        _check_removed_roles(deployment.revision.configuration, spec.configuration, spec.force)
        validation.extension_configuration(spec.extension_configuration, spec.configuration.role_names())
        target = self._next_revision(deployment.revision, spec)
        parameters = [*_deployment_parameters(deployment), ("Mode", spec.mode)]
        if spec.role_to_upgrade:
            parameters.append(("RoleToUpgrade", spec.role_to_upgrade))
        record = self._record(caller, operation, service, parameters, now)
        kind: state.UpdateKind = (
            "Upgrade" if operation == OperationName.UPGRADE_DEPLOYMENT else "ChangeConfiguration"
        )
        update = state.Update(kind=kind, mode=spec.mode, target=target, roles=roles, operation_id=record.id)
        self.fabric.start_update(deployment, update, now)

    def _next_revision(self, current: state.Revision, spec: UpdateSpec) -> state.Revision:
        properties = validation.merge_properties(current.properties(), spec.property_changes)
        return state.Revision(
            number=self.state.next_revision_number(),
            package_url=spec.package_url or current.package_url,
            configuration=spec.configuration,
            label=spec.label or current.label,
            extended_properties=state.frozen_properties(properties),
            extension_configuration=spec.extension_configuration or current.extension_configuration,
        )

    def walk_upgrade_domain(self, caller: records.Caller, ref: state.DeploymentRef, domain: int) -> None:
        now = self.advance()
        service, deployment = self._unlocked(caller, ref, now)
        update = _walkable_update(deployment, domain)
        parameters = [*_deployment_parameters(deployment), ("UpgradeDomain", str(domain))]
        record = self._record(caller, OperationName.WALK_UPGRADE_DOMAIN, service, parameters, now)
        self.fabric.walk(deployment, update.domain, record.id, now)

    def rollback_update_or_upgrade(
        self, caller: records.Caller, ref: state.DeploymentRef, *, mode: str, force: bool
    ) -> None:
        """Return already-updated instances to the baseline revision (exact package, config, label)."""
        now = self.advance()
        service, deployment = self._unlocked(caller, ref, now)
        current = deployment.update
        if current is None:
            raise errors.BadRequest(
                "Rollback is not allowed: no update or upgrade is in progress on this deployment."
            )
        if not deployment.rollback_allowed():
            raise errors.BadRequest(
                "Rollback is not allowed: every instance already runs the new version, "
                "or a rollback is in progress."
            )
        _check_removed_roles(deployment.revision.configuration, deployment.baseline.configuration, force)
        parameters = [*_deployment_parameters(deployment), ("Mode", mode)]
        record = self._record(caller, OperationName.ROLLBACK_UPDATE_OR_UPGRADE, service, parameters, now)
        rollback = state.Update(
            kind="Rollback",
            mode=mode,
            target=deployment.baseline,
            roles=current.roles,
            operation_id=record.id,
        )
        self.fabric.start_update(deployment, rollback, now)

    def update_deployment_status(
        self, caller: records.Caller, ref: state.DeploymentRef, *, running: bool
    ) -> None:
        now = self.advance()
        service, deployment = self._exclusive(caller, ref, now)
        parameters = [*_deployment_parameters(deployment), ("Status", "Running" if running else "Suspended")]
        record = self._record(caller, OperationName.UPDATE_DEPLOYMENT_STATUS, service, parameters, now)
        self.lifecycle.change_status(deployment, running, record.id, now)

    def restart_role_instance(
        self, caller: records.Caller, ref: state.DeploymentRef, instance_name: str, operation: OperationName
    ) -> None:
        """Reboot, reimage or rebuild one instance: needs exclusive access to the deployment."""
        now = self.advance()
        service, deployment = self._exclusive(caller, ref, now)
        instance = deployment.instance(instance_name)
        if instance is None:
            raise errors.ResourceNotFound(
                f"The role instance '{instance_name}' does not exist in this deployment."
            )
        if instance.power_state == "Stopped":
            raise errors.BadRequest(
                f"The role instance '{instance.name}' is stopped; start the deployment first."
            )
        parameters = [*_deployment_parameters(deployment), ("RoleInstanceName", instance.name)]
        record = self._record(caller, operation, service, parameters, now)
        reimage = operation != OperationName.REBOOT_ROLE_INSTANCE
        self.lifecycle.restart_instance(deployment, instance, reimage, record.id, now)

    # -- operations ----------------------------------------------------------------------------

    def operation(self, subscription_id: str, operation_id: str) -> records.OperationRecord:
        self.advance()
        return self.operations.get(subscription_id, operation_id)

    def list_operations(
        self, query: records.OperationQuery
    ) -> tuple[list[records.OperationRecord], int | None]:
        self.advance()
        return self.operations.query(dataclasses.replace(query, limit=self.page_size))

    # -- helpers -------------------------------------------------------------------------------

    def _subscription(self, subscription_id: str) -> state.Subscription:
        subscription = self.state.subscription(subscription_id)
        if subscription is None:  # authentication already rejects unknown subscriptions
            raise errors.ForbiddenError()
        return subscription

    def _unlocked(
        self, caller: records.Caller, ref: state.DeploymentRef, now: float
    ) -> tuple[state.HostedService, state.Deployment]:
        service, deployment = self.state.deployment(caller.subscription_id, ref)
        if deployment.locked(now):
            raise errors.ConflictError()
        return service, deployment

    def _exclusive(
        self, caller: records.Caller, ref: state.DeploymentRef, now: float
    ) -> tuple[state.HostedService, state.Deployment]:
        """Unlocked and with no update in progress either (instance and status operations)."""
        service, deployment = self._unlocked(caller, ref, now)
        if deployment.update is not None:
            raise errors.ConflictError()
        return service, deployment

    def _record(
        self,
        caller: records.Caller,
        name: OperationName,
        service: state.HostedService,
        parameters: list[tuple[str, str]],
        now: float,
    ) -> records.OperationRecord:
        return self.operations.start(
            caller, name=name.value, object_id=service.object_id(), parameters=parameters, now=now
        )


def _deployment_parameters(deployment: state.Deployment) -> list[tuple[str, str]]:
    return [("DeploymentName", deployment.name), ("DeploymentSlot", deployment.slot)]


def _updated_roles(spec: UpdateSpec) -> frozenset[str]:
    if spec.role_to_upgrade is None:
        return spec.configuration.role_names()
    role = spec.configuration.role(spec.role_to_upgrade)
    if role is None:
        raise errors.BadRequest(f"The role '{spec.role_to_upgrade}' named in RoleToUpgrade does not exist.")
    return frozenset({role.name})


def _check_removed_roles(
    current: cscfg.ServiceConfiguration, new: cscfg.ServiceConfiguration, force: bool
) -> None:
    """Removing a role destroys its instances' local data: the service wants Force for that."""
    removed = sorted(current.role_names() - new.role_names())
    if removed and not force:
        raise errors.BadRequest(
            f"Removing role {removed[0]} will cause loss of data stored locally on instances of the role. "
            "Repeat this operation and specify 'Force'."
        )


def _check_same_roles(current: cscfg.ServiceConfiguration, new: cscfg.ServiceConfiguration) -> None:
    """Roles come from the package's service definition: a configuration change cannot add or drop one."""
    if {name.lower() for name in current.role_names()} != {name.lower() for name in new.role_names()}:
        raise errors.BadRequest(
            "The configuration must declare exactly the roles of the deployed package: "
            f"{', '.join(sorted(current.role_names()))}."
        )


def _walkable_update(deployment: state.Deployment, domain: int) -> state.Update:
    """The Manual update whose next domain is `domain`; anything else is a 400 (or 409 mid-walk)."""
    update = deployment.update
    if update is None or update.mode != "Manual":
        raise errors.BadRequest("No manual update or upgrade is pending on this deployment.")
    if update.halted:
        raise errors.BadRequest("The update was stopped by a failure; roll it back or start a new update.")
    if update.walk_operation_id is not None:
        raise errors.ConflictError()
    if not 0 <= domain < deployment.upgrade_domain_count():
        raise errors.BadRequest(f"Upgrade domain {domain} does not exist in this deployment.")
    if domain != update.domain or update.domain_state != "Before":
        raise errors.BadRequest(
            f"Upgrade domain {domain} cannot be walked now; walk upgrade domain {update.domain} next."
        )
    return update
