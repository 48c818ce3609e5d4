"""Request bodies of the mutating operations, in the element order clients send them."""

from __future__ import annotations

from pydantic_xml import element, wrapped

from controller.azure.wire.common import Document, ExtendedProperty
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


class CreateDeployment(Document, tag="CreateDeployment"):
    """Create Deployment in a slot from a package and a configuration."""

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


class UpgradeDeployment(Document, tag="UpgradeDeployment"):
    """Upgrade Deployment: roll a new package + configuration across upgrade domains."""

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


class ChangeConfiguration(Document, tag="ChangeConfiguration"):
    """Change Deployment Configuration: roll a new .cscfg across upgrade domains."""

    configuration: str = element(tag="Configuration")  # base64
    treat_warnings_as_error: bool | None = element(tag="TreatWarningsAsError", default=None)
    mode: str | None = element(tag="Mode", default=None)
    extended_properties: list[ExtendedProperty] = wrapped(
        "ExtendedProperties", element(default_factory=list), default_factory=list
    )
    extension_configuration: ExtensionConfiguration | None = element(default=None)


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
