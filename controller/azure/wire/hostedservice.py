"""Get Hosted Service Properties: the cloud service and, with embed-detail, its deployments."""

from __future__ import annotations

from pydantic_xml import element, wrapped

from controller.azure.wire.common import Document, ExtendedProperty, WireModel, b64decode_text
from controller.azure.wire.deployment import Deployment


class HostedServiceProperties(WireModel, tag="HostedServiceProperties"):
    """Descriptive properties of a hosted service."""

    description: str | None = element(tag="Description", default=None)
    affinity_group: str | None = element(tag="AffinityGroup", default=None)
    location: str | None = element(tag="Location", default=None)
    label: str = element(tag="Label", default="")  # base64
    status: str = element(tag="Status", default="Created")
    date_created: str | None = element(tag="DateCreated", default=None)
    date_last_modified: str | None = element(tag="DateLastModified", default=None)
    extended_properties: list[ExtendedProperty] = wrapped(
        "ExtendedProperties", element(default_factory=list), default_factory=list
    )

    @property
    def label_text(self) -> str:
        """The label as text."""
        return b64decode_text(self.label) if self.label else ""


class HostedService(Document, tag="HostedService"):
    """A hosted (cloud) service."""

    url: str = element(tag="Url", default="")
    service_name: str = element(tag="ServiceName")
    hosted_service_properties: HostedServiceProperties = element(default_factory=HostedServiceProperties)
    deployments: list[Deployment] = wrapped(
        "Deployments", element(default_factory=list), default_factory=list
    )
