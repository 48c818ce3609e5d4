"""Typed, read-only view of a CloudServiceDeployment's spec.

Why: the controller should work with names and types, not dict lookups, and never re-implement
the schema's defaults. The CRD (crds/cloudservicedeployment.yaml) is the validator and the
source of the defaults; these models mirror it field for field (camelCase on the wire,
snake_case in Python) with the same defaults, so a spec parses the same whether or not the API
server defaulted it. tests/unit/test_crd_schema.py keeps the two in step.

    spec = CloudServiceDeploymentSpec.model_validate(body["spec"])
    spec.target            # DeploymentTarget(service="contoso-web", slot="Production", name=None)
    spec.upgrade.gate      # the domain gate, with defaults when the spec has none

Only the one-of rules are repeated here (slot/deploymentName, url/urlSecretRef,
inline/configMapRef), because the typed accessors rely on them.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

DEFAULT_ENDPOINT = "https://management.core.windows.net"

# The extended property the operator writes on every upgrade: the digest of the applied spec.
# Names starting with RESERVED_PROPERTY_PREFIX are refused in spec.extendedProperties.
APPLIED_DIGEST_PROPERTY = "CsoAppliedDigest"
RESERVED_PROPERTY_PREFIX = "Cso"

Slot = Literal["Production", "Staging"]
UpgradeMode = Literal["Auto", "Manual", "Simultaneous"]
RollbackMode = Literal["Auto", "Manual"]
ExtensionState = Literal["Enable", "Disable", "Uninstall"]
ReconcilePolicy = Literal["Manage", "Observe"]


class SpecModel(BaseModel):
    """Frozen, camelCase on the wire; unknown fields are ignored (the API server prunes them)."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")


class LocalObjectRef(SpecModel):
    """An object in the resource's own namespace."""

    name: str


class KeyRef(SpecModel):
    """One key of a Secret or ConfigMap in the resource's own namespace."""

    name: str
    key: str


class PackageSource(SpecModel):
    """Where the package comes from: a plain HTTPS URL, or a Secret key holding a SAS URL."""

    url: str | None = None
    url_secret_ref: KeyRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _require_one("package", url=self.url, urlSecretRef=self.url_secret_ref)
        return self


class ConfigurationSource(SpecModel):
    """Where the .cscfg comes from: inline text or a ConfigMap key."""

    inline: str | None = None
    config_map_ref: KeyRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _require_one("configuration", inline=self.inline, configMapRef=self.config_map_ref)
        return self


class DomainGate(SpecModel):
    """When a Manual upgrade may walk the next upgrade domain."""

    require_ready_instances: bool = True
    pause_seconds: int = 0
    timeout_seconds: int = 1800


class UpgradePolicy(SpecModel):
    """How upgrades are performed."""

    mode: UpgradeMode = "Auto"
    force: bool = False
    role_to_upgrade: str | None = None
    domain_gate: DomainGate | None = None

    @property
    def gate(self) -> DomainGate:
        """The domain gate of a Manual upgrade: the spec's, or the defaults."""
        return self.domain_gate or DomainGate()


class RollbackPolicy(SpecModel):
    """When and how a failed upgrade is rolled back."""

    on_failure: bool = True
    mode: RollbackMode = "Auto"
    force: bool = False


class Extension(SpecModel):
    """An extension of the hosted service and the state to put it in."""

    id: str
    state: ExtensionState = "Enable"


class NamedRoleExtensions(SpecModel):
    """The extensions of one role."""

    role_name: str
    extensions: tuple[Extension, ...]


class ExtensionConfiguration(SpecModel):
    """Extensions for all roles and for named roles."""

    all_roles: tuple[Extension, ...] = ()
    named_roles: tuple[NamedRoleExtensions, ...] = ()


class DeploymentTarget(NamedTuple):
    """The deployment a resource manages: a hosted service and exactly one of slot or name."""

    service: str
    slot: Slot | None
    name: str | None

    def __str__(self) -> str:
        return f"{self.service}/{self.slot or self.name}"


class CloudServiceDeploymentSpec(SpecModel):
    """The desired state of one Cloud Services (classic) deployment (DESIGN.md section 2)."""

    subscription_id: str
    service_name: str
    slot: Slot | None = None
    deployment_name: str | None = None
    endpoint: str = DEFAULT_ENDPOINT
    credentials_secret_ref: LocalObjectRef
    package: PackageSource
    configuration: ConfigurationSource
    label: str
    upgrade: UpgradePolicy = UpgradePolicy()
    rollback: RollbackPolicy = RollbackPolicy()
    extended_properties: dict[str, str] = Field(default_factory=dict)
    extension_configuration: ExtensionConfiguration | None = None
    reimage: dict[str, int] = Field(default_factory=dict)
    reconcile_policy: ReconcilePolicy = "Manage"
    suspend: bool = False
    sync_interval_seconds: int = 300

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Self:
        _require_one("spec", slot=self.slot, deploymentName=self.deployment_name)
        return self

    @property
    def target(self) -> DeploymentTarget:
        """The deployment to manage, in the pieces a client's deployment reference takes."""
        return DeploymentTarget(self.service_name, self.slot, self.deployment_name)

    @property
    def observe_only(self) -> bool:
        """Observe policy: compute the plan, perform nothing."""
        return self.reconcile_policy == "Observe"

    def reimage_generation(self, instance: str) -> int:
        """The reimage generation asked for `instance` (0 when none)."""
        return self.reimage.get(instance, 0)


def _require_one(where: str, **fields: object) -> None:
    present = [name for name, value in fields.items() if value is not None]
    if len(present) != 1:
        raise ValueError(f"{where}: exactly one of {' or '.join(fields)} must be set")
