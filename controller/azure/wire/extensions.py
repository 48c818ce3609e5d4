"""ExtensionConfiguration: which extensions apply to all roles or to named roles.

The same shape appears in Upgrade Deployment, Change Deployment Configuration, Create Deployment
and Get Deployment, so it lives apart from any one document.
"""

from __future__ import annotations

from pydantic_xml import element, wrapped

from controller.azure.wire.common import WireModel


class Extension(WireModel, tag="Extension"):
    """An extension already added to the hosted service, and the state to put it in."""

    id: str = element(tag="Id")
    state: str | None = element(tag="State", default=None)  # Enable | Disable | Uninstall


class NamedRole(WireModel, tag="Role"):
    """Extensions applied to one role only."""

    role_name: str = element(tag="RoleName")
    extensions: list[Extension] = wrapped("Extensions", element(default_factory=list), default_factory=list)


class ExtensionConfiguration(WireModel, tag="ExtensionConfiguration"):
    """AllRoles and NamedRoles extension lists."""

    all_roles: list[Extension] = wrapped("AllRoles", element(default_factory=list), default_factory=list)
    named_roles: list[NamedRole] = wrapped("NamedRoles", element(default_factory=list), default_factory=list)
