"""Request bodies of the mutating operations, in the element order clients send them.

`Label` and `Configuration` travel base64-encoded; the `build` class methods take plain text
(the label, the .cscfg XML) and encode it, so callers never handle base64. Reprs hide the query
of `PackageUrl` (a SAS) and the base64 payloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic_xml import element, wrapped

from controller.azure.wire.common import Document, ExtendedProperty, b64encode_text, dict_to_properties
from controller.azure.wire.extensions import ExtensionConfiguration


class CreateHostedService(Document, tag="CreateHostedService"):
    """Create Hosted Service: a cloud service container for up to two deployments (slots)."""

    service_name: str = element(tag="ServiceName")
    label: str = element(tag="Label")  # base64
    description: str | None = element(tag="Description", default=None)
    location: str | None = element(tag="Location", default=None)
    affinity_group: str | None = element(tag="AffinityGroup", default=None)
    extended_properties: list[ExtendedProperty] = wrapped(
        "ExtendedProperties", element(default_factory=list), default_factory=list
    )

    @classmethod
    def build(
        cls,
        *,
        service_name: str,
        label: str,
        location: str | None = None,
        affinity_group: str | None = None,
        description: str | None = None,
        extended_properties: Mapping[str, str | None] | None = None,
    ) -> CreateHostedService:
        """A Create Hosted Service body from a plain-text label (one of location/affinity group)."""
        return cls(
            service_name=service_name,
            label=b64encode_text(label),
            description=description,
            location=location,
            affinity_group=affinity_group,
            extended_properties=dict_to_properties(dict(extended_properties or {})),
        )


class CreateDeployment(Document, tag="CreateDeployment"):
    """Create Deployment in a slot from a package and a configuration."""

    _URL_FIELDS: ClassVar[frozenset[str]] = frozenset({"package_url"})
    _PAYLOAD_FIELDS: ClassVar[frozenset[str]] = frozenset({"configuration"})

    name: str = element(tag="Name")
    package_url: str = element(tag="PackageUrl")
    label: str = element(tag="Label")  # base64
    configuration: str = element(tag="Configuration")  # base64
    start_deployment: bool | None = element(tag="StartDeployment", default=None)
    treat_warnings_as_error: bool | None = element(tag="TreatWarningsAsError", default=None)
    extended_properties: list[ExtendedProperty] = wrapped(
        "ExtendedProperties", element(default_factory=list), default_factory=list
    )
    extension_configuration: ExtensionConfiguration | None = element(default=None)

    @classmethod
    def build(
        cls,
        *,
        name: str,
        package_url: str,
        configuration: str,
        label: str,
        start_deployment: bool | None = True,
        treat_warnings_as_error: bool | None = None,
        extended_properties: Mapping[str, str | None] | None = None,
        extension_configuration: ExtensionConfiguration | None = None,
    ) -> CreateDeployment:
        """A Create Deployment body from plain-text label and .cscfg XML."""
        return cls(
            name=name,
            package_url=package_url,
            label=b64encode_text(label),
            configuration=b64encode_text(configuration),
            start_deployment=start_deployment,
            treat_warnings_as_error=treat_warnings_as_error,
            extended_properties=dict_to_properties(dict(extended_properties or {})),
            extension_configuration=extension_configuration,
        )


class UpgradeDeployment(Document, tag="UpgradeDeployment"):
    """Upgrade Deployment: roll a new package + configuration across upgrade domains."""

    _URL_FIELDS: ClassVar[frozenset[str]] = frozenset({"package_url"})
    _PAYLOAD_FIELDS: ClassVar[frozenset[str]] = frozenset({"configuration"})

    mode: str = element(tag="Mode", default="Auto")  # Auto | Manual | Simultaneous
    package_url: str = element(tag="PackageUrl")
    configuration: str = element(tag="Configuration")  # base64
    label: str = element(tag="Label")  # base64
    role_to_upgrade: str | None = element(tag="RoleToUpgrade", default=None)
    force: bool | None = element(tag="Force", default=None)
    extended_properties: list[ExtendedProperty] = wrapped(
        "ExtendedProperties", element(default_factory=list), default_factory=list
    )
    extension_configuration: ExtensionConfiguration | None = element(default=None)

    @classmethod
    def build(
        cls,
        *,
        package_url: str,
        configuration: str,
        label: str,
        mode: str = "Auto",
        force: bool = False,
        role_to_upgrade: str | None = None,
        extended_properties: Mapping[str, str | None] | None = None,
        extension_configuration: ExtensionConfiguration | None = None,
    ) -> UpgradeDeployment:
        """An Upgrade Deployment body from plain-text label and .cscfg XML (Force always sent)."""
        return cls(
            mode=mode,
            package_url=package_url,
            configuration=b64encode_text(configuration),
            label=b64encode_text(label),
            role_to_upgrade=role_to_upgrade,
            force=force,
            extended_properties=dict_to_properties(dict(extended_properties or {})),
            extension_configuration=extension_configuration,
        )


class ChangeConfiguration(Document, tag="ChangeConfiguration"):
    """Change Deployment Configuration: roll a new .cscfg across upgrade domains."""

    _PAYLOAD_FIELDS: ClassVar[frozenset[str]] = frozenset({"configuration"})

    configuration: str = element(tag="Configuration")  # base64
    treat_warnings_as_error: bool | None = element(tag="TreatWarningsAsError", default=None)
    mode: str | None = element(tag="Mode", default=None)
    extended_properties: list[ExtendedProperty] = wrapped(
        "ExtendedProperties", element(default_factory=list), default_factory=list
    )
    extension_configuration: ExtensionConfiguration | None = element(default=None)

    @classmethod
    def build(
        cls,
        *,
        configuration: str,
        mode: str | None = "Auto",
        treat_warnings_as_error: bool | None = None,
        extended_properties: Mapping[str, str | None] | None = None,
        extension_configuration: ExtensionConfiguration | None = None,
    ) -> ChangeConfiguration:
        """A Change Configuration body from plain-text .cscfg XML."""
        return cls(
            configuration=b64encode_text(configuration),
            treat_warnings_as_error=treat_warnings_as_error,
            mode=mode,
            extended_properties=dict_to_properties(dict(extended_properties or {})),
            extension_configuration=extension_configuration,
        )


class WalkUpgradeDomain(Document, tag="WalkUpgradeDomain"):
    """Walk Upgrade Domain: apply a Manual-mode update to the next upgrade domain."""

    upgrade_domain: int = element(tag="UpgradeDomain")


class RollbackUpdateOrUpgrade(Document, tag="RollbackUpdateOrUpgrade"):
    """Rollback Update Or Upgrade: return updated instances to the previous package/configuration."""

    mode: str = element(tag="Mode")  # Auto | Manual
    force: bool = element(tag="Force")


class UpdateDeploymentStatus(Document, tag="UpdateDeploymentStatus"):
    """Update Deployment Status: Running or Suspended."""

    status: str = element(tag="Status")
