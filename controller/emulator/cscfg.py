"""The service configuration (.cscfg): where a deployment's roles and instance counts come from.

The service rejects a configuration it cannot read with 400 BadRequest; the emulator applies the
same rule, parsing with the hardened parser shared with the wire shapes (no DTDs, no entities).
"""

from __future__ import annotations

import dataclasses
import re

from lxml import etree

from controller.azure import wire
from controller.emulator import errors

NAMESPACE = "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"
MAX_INSTANCES_PER_ROLE = 1000  # far above any real quota; keeps a typo from allocating millions
_ROLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
# What `osVersion="*"` resolves to, per guest OS family (illustrative, recent-looking values).
_LATEST_GUEST_OS = {
    "4": "WA-GUEST-OS-4.125_202402-01",
    "5": "WA-GUEST-OS-5.93_202402-01",
    "6": "WA-GUEST-OS-6.68_202402-01",
    "7": "WA-GUEST-OS-7.41_202402-01",
}


@dataclasses.dataclass(frozen=True)
class RoleSpec:
    """A role as the configuration declares it."""

    name: str
    instance_count: int


@dataclasses.dataclass(frozen=True)
class ServiceConfiguration:
    """A parsed .cscfg, keeping the submitted text so Get Deployment returns it unchanged."""

    text: str
    roles: tuple[RoleSpec, ...]
    os_version: str

    def role(self, name: str) -> RoleSpec | None:
        return next((role for role in self.roles if role.name.lower() == name.lower()), None)

    def role_names(self) -> frozenset[str]:
        return frozenset(role.name for role in self.roles)


def parse(text: str) -> ServiceConfiguration:
    """Parse and validate a .cscfg; any problem is a 400 BadRequest naming it."""
    try:
        root = wire.parse_tree(text.encode("utf-8"))
    except wire.MalformedXml as exc:
        raise _invalid(str(exc)) from None
    if root.tag != f"{{{NAMESPACE}}}ServiceConfiguration":
        raise _invalid(f'the root element must be <ServiceConfiguration xmlns="{NAMESPACE}">')
    roles = tuple(_role(element) for element in root.findall(f"{{{NAMESPACE}}}Role"))
    if not roles:
        raise _invalid("it declares no <Role>")
    names = [role.name.lower() for role in roles]
    if len(set(names)) != len(names):
        raise _invalid("a role is declared more than once")
    return ServiceConfiguration(text=text, roles=roles, os_version=_os_version(root))


def _role(element: etree._Element) -> RoleSpec:
    name = element.get("name") or ""
    if not _ROLE_NAME.fullmatch(name):
        raise _invalid(f"the role name {name!r} is not valid")
    instances = element.findall(f"{{{NAMESPACE}}}Instances")
    if len(instances) != 1:
        raise _invalid(f"role {name} must have exactly one <Instances count=...>")
    count = instances[0].get("count") or ""
    if not count.isdigit() or not 1 <= int(count) <= MAX_INSTANCES_PER_ROLE:
        raise _invalid(f"role {name} has an invalid instance count {count!r}")
    return RoleSpec(name=name, instance_count=int(count))


def _os_version(root: etree._Element) -> str:
    version = root.get("osVersion") or "*"
    if version != "*":
        return version
    family = root.get("osFamily") or "6"
    return _LATEST_GUEST_OS.get(family, f"WA-GUEST-OS-{family}.1_202402-01")


def _invalid(reason: str) -> errors.BadRequest:
    return errors.BadRequest(f"The specified configuration is not a valid service configuration: {reason}.")
