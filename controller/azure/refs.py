"""How a deployment is addressed: by slot or by name, inside a hosted service.

Every deployment operation exists in both URI forms; keeping the choice in one value means the
client builds paths in one place and the controller never formats URLs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

SLOTS = ("Production", "Staging")


@dataclass(frozen=True)
class DeploymentRef:
    """A deployment of `service`, addressed by exactly one of `slot` or `name`."""

    service: str
    slot: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if (self.slot is None) == (self.name is None):
            raise ValueError("a deployment is addressed by exactly one of slot or name")
        if self.slot is not None and self.slot.lower() not in {s.lower() for s in SLOTS}:
            raise ValueError(f"slot must be one of {', '.join(SLOTS)}, not {self.slot!r}")

    def service_path(self, subscription_id: str) -> str:
        """`/<sub>/services/hostedservices/<service>`: also the OperationObjectId of its operations."""
        return f"/{subscription_id}/services/hostedservices/{quote(self.service, safe='')}"

    def path(self, subscription_id: str) -> str:
        """The deployment's URI path in the by-slot or by-name form."""
        base = self.service_path(subscription_id)
        if self.slot is not None:
            return f"{base}/deploymentslots/{self.slot.lower()}"
        return f"{base}/deployments/{quote(self.name or '', safe='')}"

    def __str__(self) -> str:
        where = f"slot {self.slot}" if self.slot is not None else f"deployment {self.name}"
        return f"{self.service} ({where})"
