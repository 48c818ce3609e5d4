"""One Service Management client per (endpoint, subscription, credentials), shared and reused.

Clients hold TLS contexts and connection pools: building one per reconcile would redo the TLS
handshake and the key loading every time. Resources that use the same credentials against the
same subscription share a client; a rotated certificate gets a new one (the key is a digest of
the credentials, so the pool never holds secrets in its keys). All clients share one limits
registry, so throttling is per subscription across the whole controller.
"""

from __future__ import annotations

from collections.abc import Callable

from controller.azure import limits
from controller.azure.client import RequestObserver, ServiceManagementClient
from controller.reconcile.sources import Sources

Factory = Callable[..., ServiceManagementClient]


class ClientPool:
    """Lazily built clients, closed together at shutdown."""

    def __init__(
        self,
        *,
        observer: RequestObserver | None = None,
        factory: Factory = ServiceManagementClient,
        limits_registry: limits.LimitsRegistry | None = None,
    ) -> None:
        self._observer = observer
        self._factory = factory
        self._limits = limits_registry or limits.LimitsRegistry()
        self._clients: dict[tuple[str, str, str], ServiceManagementClient] = {}

    def __len__(self) -> int:
        return len(self._clients)

    def get(self, *, endpoint: str, subscription_id: str, sources: Sources) -> ServiceManagementClient:
        """The client for these credentials (`CredentialsError` if they cannot be loaded)."""
        key = (endpoint.rstrip("/").lower(), subscription_id.lower(), sources.credentials_digest)
        client = self._clients.get(key)
        if client is None:
            client = self._factory(
                endpoint=endpoint,
                subscription_id=subscription_id,
                credentials=sources.credentials,
                ca_pem=sources.ca_pem,
                limits_registry=self._limits,
                observer=self._observer,
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
