"""A tiny Kubernetes client for the sandbox: apply, patch, get and list a few kinds of objects.

The sandbox plays the user's `kubectl`: it applies the examples, edits them, and reads them back
for the live table. It needs no more than the REST calls below, so it speaks them itself rather
than pulling in a full client; kopf keeps its own connection for the controller.

Errors:

    KubeError                  any answer the API server refused (status, reason, message)
      └── InvalidError         422 Invalid: the object breaks the schema; `.causes` name the fields
    KubeUnreachableError       the API server could not be reached at all
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import httpx

JsonObject = dict[str, Any]

# kind -> plural. The sandbox only ever touches these kinds.
PLURALS = {
    "CloudServiceDeployment": "cloudservicedeployments",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Namespace": "namespaces",
    "Event": "events",
}
CLUSTER_SCOPED = frozenset({"Namespace"})
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class FieldCause:
    """One reason the API server gave for rejecting an object, naming the field."""

    field: str
    message: str


class KubeError(Exception):
    """The API server answered with an error status."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class InvalidError(KubeError):
    """422 Invalid: the object breaks the resource's schema or validation rules."""

    def __init__(self, status: int, reason: str, message: str, causes: list[FieldCause]) -> None:
        super().__init__(status, reason, message)
        self.causes = causes


class KubeUnreachableError(Exception):
    """The API server could not be reached."""


def resource_path(api_version: str, kind: str, namespace: str | None, name: str | None = None) -> str:
    """The REST path of a collection (no name) or of one object."""
    plural = PLURALS[kind]
    prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if kind not in CLUSTER_SCOPED and namespace:
        prefix = f"{prefix}/namespaces/{namespace}"
    path = f"{prefix}/{plural}"
    return f"{path}/{name}" if name else path


def merge_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> JsonObject:
    """The JSON merge patch (RFC 7386) that turns `current` into `desired`.

    Keys absent from `desired` become null, so re-applying an older spec really removes the
    fields added since, as `kubectl apply` of a reverted file would.
    """
    patch: JsonObject = {}
    for key in current.keys() - desired.keys():
        patch[key] = None
    for key, value in desired.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = merge_patch(old, value)
            if nested:
                patch[key] = nested
        elif value != old:
            patch[key] = copy.deepcopy(value)
    return patch


def _identity(manifest: Mapping[str, Any]) -> tuple[str, str, str | None, str]:
    metadata = manifest.get("metadata") or {}
    return (
        str(manifest["apiVersion"]),
        str(manifest["kind"]),
        metadata.get("namespace"),
        str(metadata["name"]),
    )


class KubeClient:
    """The few calls the sandbox makes, against one API server URL."""

    def __init__(self, server: str, *, token: str = "sandbox", timeout: float = 10.0) -> None:  # noqa: S107  # the emulated API accepts any token
        self._http = httpx.AsyncClient(
            base_url=server,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> JsonObject | None:
        """The object, or None when it does not exist."""
        try:
            return await self._call("GET", resource_path(api_version, kind, namespace, name))
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    async def list(self, api_version: str, kind: str, namespace: str | None) -> list[JsonObject]:
        """All objects of a kind in a namespace (or everywhere with None)."""
        answer = await self._call("GET", resource_path(api_version, kind, namespace))
        return [item for item in answer.get("items", []) if isinstance(item, dict)]

    async def watch(
        self, api_version: str, kind: str, namespace: str | None
    ) -> AsyncIterator[tuple[str, JsonObject]]:
        """The objects as they are now (ADDED), then every change, until the stream ends."""
        path = resource_path(api_version, kind, namespace)
        timeout = httpx.Timeout(10.0, read=None)
        try:
            async with self._http.stream("GET", path, params={"watch": "true"}, timeout=timeout) as response:
                if not response.is_success:
                    await response.aread()
                    raise _error_from(response.status_code, _json_or_empty(response))
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if isinstance(event, dict) and isinstance(event.get("object"), dict):
                        yield str(event.get("type", "")), event["object"]
        except httpx.TransportError as error:
            raise KubeUnreachableError(f"the watch of {path} was interrupted") from error

    async def create(self, manifest: Mapping[str, Any]) -> JsonObject:
        """POST the object; KubeError 409 when it exists."""
        api_version, kind, namespace, _ = _identity(manifest)
        return await self._call("POST", resource_path(api_version, kind, namespace), json=dict(manifest))

    async def patch(
        self, api_version: str, kind: str, namespace: str | None, name: str, patch: Mapping[str, Any]
    ) -> JsonObject:
        """A JSON merge patch of the object."""
        return await self._call(
            "PATCH",
            resource_path(api_version, kind, namespace, name),
            json=dict(patch),
            content_type=MERGE_PATCH,
        )

    async def apply(self, manifest: Mapping[str, Any]) -> JsonObject:
        """Create the object, or bring an existing one's user-owned fields to the manifest's.

        Only what a user edits is compared: labels, annotations and the content fields (`spec`,
        `data`, ...); `status` and server-managed metadata are left to their owners.
        """
        api_version, kind, namespace, name = _identity(manifest)
        current = await self.get(api_version, kind, namespace, name)
        if current is None:
            return await self.create(manifest)
        owned = [key for key in manifest if key not in {"apiVersion", "kind", "metadata", "status"}]
        patch = merge_patch(
            {key: current[key] for key in owned if key in current},
            {key: manifest[key] for key in owned},
        )
        for field in ("labels", "annotations"):
            wanted = (manifest.get("metadata") or {}).get(field)
            if wanted is not None:
                changed = merge_patch(current.get("metadata", {}).get(field) or {}, wanted)
                # Apply only adds/changes labels and annotations: others may belong to someone else.
                changed = {key: value for key, value in changed.items() if value is not None}
                if changed:
                    patch.setdefault("metadata", {})[field] = changed
        if not patch:
            return current
        return await self.patch(api_version, kind, namespace, name, patch)

    async def _call(
        self, method: str, path: str, *, json: JsonObject | None = None, content_type: str | None = None
    ) -> JsonObject:
        headers = {"Content-Type": content_type} if content_type else None
        try:
            response = await self._http.request(method, path, json=json, headers=headers)
        except httpx.TransportError as error:
            raise KubeUnreachableError(f"the Kubernetes API did not answer {method} {path}") from error
        body = _json_or_empty(response)
        if response.is_success:
            return body
        raise _error_from(response.status_code, body)


def _json_or_empty(response: httpx.Response) -> JsonObject:
    try:
        body = response.json()
    except ValueError:
        return {}
    return cast(JsonObject, body) if isinstance(body, dict) else {}


def _error_from(status: int, body: JsonObject) -> KubeError:
    reason = str(body.get("reason") or "Error")
    message = str(body.get("message") or f"HTTP {status}")
    if status == 422:
        details = body.get("details") or {}
        causes = [
            FieldCause(field=str(cause.get("field", "")), message=str(cause.get("message", "")))
            for cause in details.get("causes") or []
            if isinstance(cause, dict)
        ]
        return InvalidError(status, reason, message, causes)
    return KubeError(status, reason, message)
