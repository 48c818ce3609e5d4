"""
What the server serves, and how clients discover it.

Every served resource is a :class:`ResourceKind`: its address (group, version, plural), what
discovery says about it, and the storage rules that differ between kinds (generation, status
subresource, strategic merge patch). The built-in kinds are served from the start; the kinds of
a CRD come from ``crds.kinds_from_crd``.
"""

import dataclasses
from typing import Any, Final

import kmock

# An object (or any JSON object: a Status, an event) as it is stored and served.
Body = dict[str, Any]


# Only what is implemented: creating CRDs, deleting collections, scale are not served.
_VERBS: Final = ("create", "delete", "get", "list", "patch", "update", "watch")


@dataclasses.dataclass(frozen=True)
class ResourceKind:
    """A served resource: its address, discovery information and storage rules."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    has_generation: bool = True  # custom resources have one; core kinds without a spec do not
    strategic_merge: bool = False  # the API server refuses strategic merge patches for custom resources

    @property
    def resource(self) -> kmock.resource:
        return kmock.resource(group=self.group, version=self.version, plural=self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_plural(
        self,
    ) -> str:  # as in 'cloudservicedeployments.classic.cloudservices.io "web" not found'
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(
        self,
    ) -> str:  # as in 'CloudServiceDeployment.classic.cloudservices.io "web" is invalid'
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def details(self, name: str) -> Body:
        return {"name": name, "group": self.group, "kind": self.plural}

    def discovery(self) -> kmock.ResourceInfo:
        return kmock.ResourceInfo(
            kind=self.kind,
            namespaced=self.namespaced,
            singular=self.singular or self.kind.lower(),
            verbs=_VERBS,
            shortnames=self.short_names,
            categories=self.categories,
            subresources=self.subresources,
        )


NAMESPACES: Final = ResourceKind(
    "", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
    subresources=("status",), has_generation=False, strategic_merge=True,
)  # fmt: skip
EVENTS: Final = ResourceKind(
    "", "v1", "events", "Event", namespaced=True, short_names=("ev",),
    has_generation=False, strategic_merge=True,
)  # fmt: skip
SECRETS: Final = ResourceKind(
    "", "v1", "secrets", "Secret", namespaced=True, has_generation=False, strategic_merge=True,
)  # fmt: skip
CONFIGMAPS: Final = ResourceKind(
    "", "v1", "configmaps", "ConfigMap", namespaced=True, short_names=("cm",),
    has_generation=False, strategic_merge=True,
)  # fmt: skip
CUSTOM_RESOURCE_DEFINITIONS: Final = ResourceKind(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
    namespaced=False, short_names=("crd", "crds"), categories=("api-extensions",),
    subresources=("status",), strategic_merge=True,
)  # fmt: skip
# kopf watches nothing until namespaces, events and CRDs are discoverable.
BUILTIN_KINDS: Final = (NAMESPACES, EVENTS, SECRETS, CONFIGMAPS, CUSTOM_RESOURCE_DEFINITIONS)
