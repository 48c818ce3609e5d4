"""Send one mutating step to Azure: build its request from the desired state and issue it.

Every upgrade carries the `CsoAppliedDigest` extended property (the digest of the whole desired
content): Get Deployment does not return the package URL, so this property is how the next
reconcile, a restarted controller or a crash recovery sees what was applied. Extended properties
found on the deployment but no longer in the spec are sent with no value, which deletes them.
"""

from __future__ import annotations

from collections.abc import Mapping

from controller.azure import wire
from controller.azure.client import ServiceManagementClient
from controller.azure.refs import DeploymentRef
from controller.models import spec as specs
from controller.planning.inputs import DesiredState, ObservedDeployment
from controller.planning.steps import Mutation, Reimage, Rollback, Upgrade, WalkUpgradeDomain
from controller.reconcile.sources import Sources


def upgrade_body(
    step: Upgrade,
    desired: DesiredState,
    sources: Sources,
    extension_configuration: specs.ExtensionConfiguration | None,
    deployment: ObservedDeployment | None,
) -> wire.UpgradeDeployment:
    """The Upgrade Deployment request for `step`."""
    return wire.UpgradeDeployment.build(
        package_url=sources.package_url,
        configuration=sources.configuration,
        label=desired.label,
        mode=step.mode,
        force=desired.force,
        role_to_upgrade=desired.role_to_upgrade,
        extended_properties=extended_properties(desired, deployment),
        extension_configuration=wire_extensions(extension_configuration),
    )


def extended_properties(
    desired: DesiredState, deployment: ObservedDeployment | None
) -> dict[str, str | None]:
    """Desired properties, deletions of stale ones, and the applied digest."""
    stale: Mapping[str, str] = deployment.extended_properties if deployment is not None else {}
    properties: dict[str, str | None] = {
        name: None for name in stale if name not in desired.extended_properties
    }
    properties.update(desired.extended_properties)
    properties[specs.APPLIED_DIGEST_PROPERTY] = desired.digests.spec
    return properties


def wire_extensions(config: specs.ExtensionConfiguration | None) -> wire.ExtensionConfiguration | None:
    """The spec's extension configuration as the API's shape (None: leave extensions alone)."""
    if config is None:
        return None
    return wire.ExtensionConfiguration(
        all_roles=[wire.Extension(id=e.id, state=e.state) for e in config.all_roles],
        named_roles=[
            wire.NamedRole(
                role_name=role.role_name,
                extensions=[wire.Extension(id=e.id, state=e.state) for e in role.extensions],
            )
            for role in config.named_roles
        ],
    )


async def issue(
    client: ServiceManagementClient,
    ref: DeploymentRef,
    step: Mutation,
    *,
    desired: DesiredState,
    sources: Sources,
    extension_configuration: specs.ExtensionConfiguration | None,
    deployment: ObservedDeployment | None,
) -> str:
    """Send `step`; the request id. Raises the client's errors unchanged."""
    match step:
        case Upgrade():
            body = upgrade_body(step, desired, sources, extension_configuration, deployment)
            return await client.upgrade_deployment(ref=ref, body=body)
        case WalkUpgradeDomain():
            return await client.walk_upgrade_domain(ref=ref, upgrade_domain=step.upgrade_domain)
        case Reimage():
            return await client.reimage_role_instance(ref=ref, instance=step.instance)
        case Rollback():
            return await client.rollback_update_or_upgrade(ref=ref, mode=step.mode, force=step.force)
