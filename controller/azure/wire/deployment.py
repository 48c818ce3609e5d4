"""Get Deployment's response: the deployment, its role instances and any update in progress.

Field order follows what the service emits on the wire (reference §3), which differs a little
from the documented sample; optional, versioned elements default to absent.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic_xml import attr, element, wrapped

from controller.azure.wire.common import (
    NS,
    XSI,
    Document,
    ExtendedProperty,
    WireModel,
    b64decode_text,
    properties_to_dict,
)
from controller.azure.wire.extensions import ExtensionConfiguration

# The only healthy steady state of a role instance.
READY_ROLE = "ReadyRole"
# The doc table says `Unknown`; the wire sends `RoleStateUnknown`. Readers accept both.
UNKNOWN_STATES = frozenset({"RoleStateUnknown", "Unknown"})


class InstanceEndpoint(WireModel, tag="InstanceEndpoint"):
    """A public endpoint of a role instance."""

    name: str = element(tag="Name")
    vip: str | None = element(tag="Vip", default=None)
    public_port: int = element(tag="PublicPort")
    local_port: int = element(tag="LocalPort")
    protocol: str = element(tag="Protocol")


class RoleInstance(WireModel, tag="RoleInstance"):
    """One instance of a role, its state and its place in upgrade and fault domains."""

    role_name: str = element(tag="RoleName")
    instance_name: str = element(tag="InstanceName")
    instance_status: str = element(tag="InstanceStatus")
    instance_upgrade_domain: int = element(tag="InstanceUpgradeDomain", default=0)
    instance_fault_domain: int = element(tag="InstanceFaultDomain", default=0)
    instance_size: str = element(tag="InstanceSize", default="Small")
    instance_state_details: str = element(tag="InstanceStateDetails", default="")
    instance_error_code: str | None = element(tag="InstanceErrorCode", default=None)
    ip_address: str | None = element(tag="IpAddress", default=None)
    instance_endpoints: list[InstanceEndpoint] = wrapped(
        "InstanceEndpoints", element(default_factory=list), default_factory=list
    )
    power_state: str = element(tag="PowerState", default="Started")
    host_name: str | None = element(tag="HostName", default=None)


class UpgradeStatus(WireModel, tag="UpgradeStatus"):
    """Present only while an update or upgrade is in progress."""

    upgrade_type: str = element(tag="UpgradeType")  # Auto | Manual | Simultaneous
    current_upgrade_domain_state: str = element(tag="CurrentUpgradeDomainState")  # Before | During
    current_upgrade_domain: int = element(tag="CurrentUpgradeDomain")


class InputEndpoint(WireModel, tag="InputEndpoint"):
    """A load-balanced endpoint of a role."""

    port: int = element(tag="Port")
    protocol: str = element(tag="Protocol")
    vip: str | None = element(tag="Vip", default=None)


class ConfigurationSet(WireModel, tag="ConfigurationSet", nsmap={"": NS, "i": XSI}):
    """A role's network configuration set (the only kind a PaaS role has)."""

    type_: str = attr(name="type", ns="i", default="NetworkConfigurationSet")
    configuration_set_type: str = element(tag="ConfigurationSetType", default="NetworkConfiguration")
    input_endpoints: list[InputEndpoint] = wrapped(
        "InputEndpoints", element(default_factory=list), default_factory=list
    )


class Role(WireModel, tag="Role"):
    """A role of the deployment and the guest OS it runs."""

    role_name: str = element(tag="RoleName")
    os_version: str = element(tag="OsVersion", default="")
    configuration_sets: list[ConfigurationSet] = wrapped(
        "ConfigurationSets", element(default_factory=list), default_factory=list
    )


class VirtualIP(WireModel, tag="VirtualIP"):
    """A public virtual IP of the deployment (wire form: Address, IsDnsProgrammed, Name)."""

    address: str = element(tag="Address")
    is_dns_programmed: bool | None = element(tag="IsDnsProgrammed", default=None)
    name: str | None = element(tag="Name", default=None)


class Deployment(Document, tag="Deployment"):
    """The state of one deployment as Get Deployment returns it.

    `label` and `configuration` are base64 as on the wire; `label_text`, `configuration_text`
    and `extended_properties_dict` give the decoded values.
    """

    _PAYLOAD_FIELDS: ClassVar[frozenset[str]] = frozenset({"configuration"})

    name: str = element(tag="Name")
    deployment_slot: str = element(tag="DeploymentSlot")
    private_id: str = element(tag="PrivateID", default="")
    status: str = element(tag="Status")
    label: str = element(tag="Label", default="")  # base64
    url: str = element(tag="Url", default="")
    configuration: str = element(tag="Configuration", default="")  # base64 .cscfg
    role_instance_list: list[RoleInstance] = wrapped(
        "RoleInstanceList", element(default_factory=list), default_factory=list
    )
    upgrade_status: UpgradeStatus | None = element(default=None)
    upgrade_domain_count: int = element(tag="UpgradeDomainCount", default=1)
    role_list: list[Role] = wrapped("RoleList", element(default_factory=list), default_factory=list)
    sdk_version: str = element(tag="SdkVersion", default="")
    locked: bool = element(tag="Locked", default=False)
    rollback_allowed: bool = element(tag="RollbackAllowed", default=False)
    created_time: str | None = element(tag="CreatedTime", default=None)
    last_modified_time: str | None = element(tag="LastModifiedTime", default=None)
    extended_properties: list[ExtendedProperty] = wrapped(
        "ExtendedProperties", element(default_factory=list), default_factory=list
    )
    extension_configuration: ExtensionConfiguration | None = element(default=None)
    virtual_ips: list[VirtualIP] = wrapped("VirtualIPs", element(default_factory=list), default_factory=list)

    @property
    def label_text(self) -> str:
        """The label as text (raises `MalformedXml` if the service sent invalid base64)."""
        return b64decode_text(self.label) if self.label else ""

    @property
    def configuration_text(self) -> str:
        """The deployed .cscfg XML as text (raises `MalformedXml` if not base64 UTF-8)."""
        return b64decode_text(self.configuration) if self.configuration else ""

    @property
    def extended_properties_dict(self) -> dict[str, str]:
        """Extended properties by name."""
        return properties_to_dict(self.extended_properties)
