"""The few Kubernetes calls a reconcile makes, on a small aiohttp client.

A reconcile must write its intent to status *before* calling Azure and read the object fresh at
the start (kopf's cached body may lag our own last write), so it cannot rely on kopf's
patch-on-return: it talks to the API server itself. What it needs is small: read a
`CloudServiceDeployment`, merge-patch its status (optionally guarded by `resourceVersion`), read
a Secret or a ConfigMap of the resource's own namespace. The connection comes from the same
login kopf uses (handed in as a callable, so this package never imports kopf); a 401 re-runs it
once, for rotated tokens.

    KubeError                 the API server refused or failed (status, reason, message)
    ├── KubeNotFound          404: the object (or namespace) does not exist
    ├── KubeConflict          409: our resourceVersion is stale; re-read and decide again
    └── KubeUnavailable       no answer, 429 or 5xx: try again later

Secret *data* never appears in an error or log: errors name the object, never its content.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

GROUP = "classic.cloudservices.io"
VERSION = "v1alpha1"
PLURAL = "cloudservicedeployments"
MERGE_PATCH = "application/merge-patch+json"

JsonObject = dict[str, Any]


class KubeError(Exception):
    """The API server refused or failed a request."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class KubeNotFound(KubeError):
    """404: the object does not exist."""


class KubeConflict(KubeError):
    """409: the object changed since it was read."""


class KubeUnavailable(KubeError):
    """No answer, throttled or a server error: transient."""


@dataclass(frozen=True, repr=False)
class KubeConnection:
    """Where the API server is and how to talk to it (built from kopf's login by the handlers)."""

    server: str
    headers: Mapping[str, str] = field(default_factory=dict, compare=False)  # Authorization, if any
    ssl_context: ssl.SSLContext | None = None  # None: plain http (a local test server)

    def __repr__(self) -> str:
        return f"KubeConnection(server={self.server!r})"


@dataclass(frozen=True)
class ObjectRef:
    """A `CloudServiceDeployment` by namespace and name."""

    namespace: str
    name: str

    @property
    def path(self) -> str:
        return (
            f"/apis/{GROUP}/{VERSION}/namespaces/{quote(self.namespace, safe='')}/"
            f"{PLURAL}/{quote(self.name, safe='')}"
        )

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


Connector = Callable[[], Awaitable[KubeConnection]]


class KubeClient:
    """Async access to the API server for reconciles; one per operator, closed at cleanup."""

    def __init__(self, connect: Connector, *, timeout: float = 30.0) -> None:
        self._connect = connect
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._connection: KubeConnection | None = None
        self.requests = 0  # for benchmarks: API requests made
        self.writes = 0  # for benchmarks: writes (PATCH) made

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_object(self, ref: ObjectRef) -> JsonObject:
        """The `CloudServiceDeployment`, fresh from the API server."""
        return await self._request("GET", ref.path)

    async def patch_status(
        self, ref: ObjectRef, status: JsonObject, *, resource_version: str | None = None
    ) -> JsonObject:
        """Merge-patch `status`; with `resource_version`, only if the object is still that version."""
        body: JsonObject = {"status": status}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        self.writes += 1
        return await self._request("PATCH", f"{ref.path}/status", body, content_type=MERGE_PATCH)

    async def read_secret(self, namespace: str, name: str) -> dict[str, bytes]:
        """The decoded data of a Secret (`KubeNotFound` when absent)."""
        secret = await self._request(
            "GET", f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets/{quote(name, safe='')}"
        )
        decoded: dict[str, bytes] = {}
        for key, value in (secret.get("data") or {}).items():
            try:
                decoded[key] = base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                raise KubeError(
                    422, "Invalid", f"Secret {namespace}/{name}: key {key} is not base64"
                ) from None
        for key, value in (secret.get("stringData") or {}).items():
            decoded.setdefault(key, str(value).encode("utf-8"))
        return decoded

    async def read_configmap(self, namespace: str, name: str) -> dict[str, str]:
        """The data of a ConfigMap (`KubeNotFound` when absent)."""
        configmap = await self._request(
            "GET", f"/api/v1/namespaces/{quote(namespace, safe='')}/configmaps/{quote(name, safe='')}"
        )
        return {key: str(value) for key, value in (configmap.get("data") or {}).items()}

    async def _request(
        self, method: str, path: str, body: JsonObject | None = None, *, content_type: str | None = None
    ) -> JsonObject:
        for attempt in (1, 2):
            session, connection = await self._ensure()
            headers = {**connection.headers, "Accept": "application/json"}
            if content_type:
                headers["Content-Type"] = content_type
            self.requests += 1
            try:
                async with session.request(
                    method, connection.server.rstrip("/") + path, json=body, headers=headers
                ) as response:
                    if response.status == 401 and attempt == 1:
                        await self._reset()  # a rotated token: log in again, once
                        continue
                    payload = await _json(response)
                    if response.status >= 400:
                        raise _error(response.status, payload)
                    return payload
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise KubeUnavailable(0, "Unavailable", f"{method} {path}: {type(exc).__name__}") from exc
        raise KubeError(401, "Unauthorized", f"{method} {path}: unauthorized after logging in again")

    async def _ensure(self) -> tuple[aiohttp.ClientSession, KubeConnection]:
        if self._session is None or self._connection is None:
            connection = await self._connect()
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(
                    ssl=connection.ssl_context if connection.ssl_context else False
                ),
            )
            self._connection = connection
        return self._session, self._connection

    async def _reset(self) -> None:
        await self.aclose()
        self._connection = None


async def _json(response: aiohttp.ClientResponse) -> JsonObject:
    try:
        payload = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _error(status: int, payload: JsonObject) -> KubeError:
    reason = str(payload.get("reason") or "Error")
    message = str(payload.get("message") or f"HTTP {status}")
    if status == 404:
        return KubeNotFound(status, reason, message)
    if status == 409:
        return KubeConflict(status, reason, message)
    if status == 429 or status >= 500:
        return KubeUnavailable(status, reason, message)
    return KubeError(status, reason, message)
