"""The sandbox's client of the emulator's admin API (JSON under `/emulator/`, bearer token).

The sandbox drives the emulator the way a test or a curious user would, over HTTPS with the
token from the state directory: it seeds the sample services, tells the emulator how a package
behaves, and reads the request log and operation records to account for every management
operation the controller issued.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

import httpx

from controller.sandbox import examples, ledger


class AdminError(Exception):
    """The admin API refused a request or could not be reached."""


def _target_of(path: str, parameters: Mapping[str, str]) -> tuple[str, str, str]:
    """(service, deployment, target) of a Service Management request path and its operation."""
    parts = [unquote(part) for part in path.strip("/").split("/")]
    service = deployment = target = ""
    for index, part in enumerate(parts[:-1]):
        following = parts[index + 1]
        if part.lower() == "hostedservices":
            service = following
        elif part.lower() in {"deploymentslots", "deployments"}:
            deployment = following
        elif part.lower() == "roleinstances":
            target = following
    if "UpgradeDomain" in parameters:
        target = f"domain {parameters['UpgradeDomain']}"
    elif "RoleInstanceName" in parameters:
        target = parameters["RoleInstanceName"]
    return service, deployment, target


class EmulatorAdmin:
    """Calls of the admin API the sandbox makes."""

    def __init__(self, url: str, *, token: str, ca_pem: bytes, timeout: float = 10.0) -> None:
        verify = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
        self._http = httpx.AsyncClient(
            base_url=f"{url.rstrip('/')}/emulator",
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            timeout=timeout,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise AdminError(f"the emulator's admin API did not answer {method} {path}: {error}") from error
        if response.status_code == 204:
            return {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not response.is_success:
            problem = body.get("error", {}) if isinstance(body, dict) else {}
            raise AdminError(
                f"the emulator's admin API refused {method} {path}: {response.status_code}"
                f" {problem.get('code', '')} {problem.get('message', '')}".rstrip()
            )
        return body

    async def seed(self, seeds: Iterable[examples.DeploymentSeed]) -> None:
        """Create the hosted services and their running deployments."""
        services: dict[tuple[str, str], dict[str, Any]] = {}
        for seed in seeds:
            service = services.setdefault(
                (seed.subscription_id, seed.service),
                {"subscriptionId": seed.subscription_id, "name": seed.service, "deployments": []},
            )
            deployment: dict[str, Any] = {
                "packageUrl": seed.package_url,
                "configuration": seed.configuration,
                "label": seed.label,
                "extendedProperties": seed.deployed_properties(),
            }
            if seed.slot:
                deployment["slot"] = seed.slot
            if seed.deployment_name:
                deployment["name"] = seed.deployment_name
            service["deployments"].append(deployment)
        subscriptions = sorted({subscription for subscription, _ in services})
        await self._call(
            "POST", "/seed", json={"subscriptions": subscriptions, "hostedServices": list(services.values())}
        )

    async def set_package_behaviour(self, package_url: str, behaviour: str) -> None:
        """How instances started from this package behave: healthy, cycling or failing."""
        await self._call("PUT", "/packages", json={"packageUrl": package_url, "behaviour": behaviour})

    async def set_timings(self, timings: Mapping[str, float]) -> None:
        await self._call("PUT", "/timings", json=dict(timings))

    async def last_sequence(self) -> int:
        """The sequence number of the newest logged request (0 when none)."""
        entries = (await self._call("GET", "/requests")).get("requests", [])
        return max((int(entry["sequence"]) for entry in entries), default=0)

    async def requests(self, *, since: int = 0) -> list[ledger.LoggedRequest]:
        """Mutating requests after sequence `since`, with the parameters of their operations."""
        entries = (await self._call("GET", "/requests", params={"since": str(since)})).get("requests", [])
        records = (await self._call("GET", "/operations")).get("operations", [])
        parameters = {_plain_id(str(record["id"])): record.get("parameters") or {} for record in records}
        result = []
        for entry in entries:
            operation = entry.get("operation")
            if not operation:
                continue
            params = parameters.get(_plain_id(str(entry.get("requestId") or "")), {})
            service, deployment, target = _target_of(str(entry.get("path", "")), params)
            result.append(
                ledger.LoggedRequest(
                    sequence=int(entry["sequence"]),
                    operation=str(operation),
                    service=service,
                    deployment=deployment,
                    target=target,
                    intent="",
                    request_id=_plain_id(str(entry.get("requestId") or "")),
                    status=entry.get("status"),
                    error_code=entry.get("errorCode"),
                )
            )
        return result

    async def operation_results(self) -> dict[str, tuple[str, str, str]]:
        """Request id -> (status, error code, error message) of every asynchronous operation."""
        records = (await self._call("GET", "/operations")).get("operations", [])
        return {
            _plain_id(str(record["id"])): (
                str(record.get("status") or ""),
                str(record.get("errorCode") or ""),
                str(record.get("errorMessage") or ""),
            )
            for record in records
        }


def _plain_id(request_id: str) -> str:
    return request_id.replace("-", "").lower()
