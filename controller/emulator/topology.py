"""Where instances go: one `<Role>_IN_<i>` per declared instance, spread over upgrade and fault domains.

The platform chooses placement; the emulator uses the documented spreading rule (reference §12):
instance `i` of a role lands in upgrade domain `i % count` (count = the service definition's
upgradeDomainCount, 5 by default) and fault domain `i % 2`. When a configuration changes instance
counts, instances beyond the new count go away and missing ones are created, the others stay put.
"""

from __future__ import annotations

from controller.emulator import state

_RESERVED_HOSTS = 4  # .0-.3 of an Azure subnet are reserved


def new_instance(deployment: state.Deployment, role: str, index: int, revision: int) -> state.RoleInstance:
    """A new instance `<role>_IN_<index>`, not started yet (RoleStateUnknown, PowerState Starting)."""
    role_position = [spec.name for spec in deployment.revision.configuration.roles].index(role)
    host = index + _RESERVED_HOSTS
    return state.RoleInstance(
        role=role,
        index=index,
        upgrade_domain=index % deployment.domain_limit,
        fault_domain=index % state.FAULT_DOMAINS,
        status="RoleStateUnknown",
        power_state="Starting",
        revision=revision,
        ip_address=f"10.{role_position % 256}.{host // 256}.{host % 256}",
    )


def declared_instances(deployment: state.Deployment) -> list[state.RoleInstance]:
    """Every instance the deployment's configuration declares, new."""
    revision = deployment.revision
    return [
        new_instance(deployment, role.name, index, revision.number)
        for role in revision.configuration.roles
        for index in range(role.instance_count)
    ]


def reshape(deployment: state.Deployment) -> tuple[list[state.RoleInstance], list[state.RoleInstance]]:
    """Match the instances to the configuration's counts; returns (removed, created)."""
    revision = deployment.revision
    wanted = {role.name: role.instance_count for role in revision.configuration.roles}
    kept = [inst for inst in deployment.instances if inst.index < wanted.get(inst.role, 0)]
    removed = [inst for inst in deployment.instances if inst not in kept]
    existing = {(inst.role, inst.index) for inst in kept}
    created = [
        new_instance(deployment, role, index, revision.number)
        for role, count in wanted.items()
        for index in range(count)
        if (role, index) not in existing
    ]
    order = list(wanted)
    deployment.instances = sorted([*kept, *created], key=lambda inst: (order.index(inst.role), inst.index))
    return removed, created
