"""Fixtures and helpers for the emulator's tests: a running emulator per test and clients for it.

Test modules load this as a plugin (`pytest_plugins = ["tests.emulator_fixtures"]`), registering
it for assertion rewriting before importing its helpers. Certificates are generated once per
session and copied into each test's state directory: key generation is the only slow part of
starting an emulator, and "later starts reuse them" is exactly what a copy exercises.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import shutil
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.azure import wire
from controller.emulator import certs
from controller.emulator.clock import Clock
from controller.emulator.server import DEFAULT_SUBSCRIPTION, EmulatorServer
from controller.emulator.timings import Timings

SUBSCRIPTION = DEFAULT_SUBSCRIPTION
OTHER_SUBSCRIPTION = "5c3b2a10-0000-4000-8000-000000000002"
VERSION = "2014-10-01"  # what the legacy Python SDK and the Go SDK send
CSCFG_NS = "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"
SM_NS = "http://schemas.microsoft.com/windowsazure"
PACKAGE_V1 = "https://account.blob.core.windows.net/packages/web-1.cspkg"
PACKAGE_V2 = "https://account.blob.core.windows.net/packages/web-2.cspkg?sv=2020-08-04&sig=secret"
SERVICE = "contoso-web"
DEADLINE_SECONDS = 5.0


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def cscfg(*, os_family: str = "6", **roles: int) -> str:
    """A service configuration declaring `roles` (name=instance count), in declaration order."""
    body = "".join(
        f'<Role name="{name}"><Instances count="{count}" /></Role>' for name, count in roles.items()
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><ServiceConfiguration serviceName="{SERVICE}" '
        f'xmlns="{CSCFG_NS}" osFamily="{os_family}" osVersion="*">{body}</ServiceConfiguration>'
    )


def xml(root: str, *children: str) -> str:
    return f'<{root} xmlns="{SM_NS}">{"".join(children)}</{root}>'


def element(name: str, value: object) -> str:
    return f"<{name}>{value}</{name}>"


def upgrade_body(
    *,
    mode: str = "Auto",
    package: str = PACKAGE_V2,
    configuration: str | None = None,
    label: str = "web-2",
    force: str | None = "false",
    role: str | None = None,
    properties: dict[str, str | None] | None = None,
    extra: str = "",
) -> str:
    children = [
        element("Mode", mode),
        element("PackageUrl", package.replace("&", "&amp;")),
        element("Configuration", b64(configuration or cscfg(WebRole1=4, WorkerRole1=2))),
        element("Label", b64(label)),
    ]
    if role is not None:
        children.append(element("RoleToUpgrade", role))
    if force is not None:
        children.append(element("Force", force))
    if properties is not None:
        children.append(_properties(properties))
    return xml("UpgradeDeployment", *children, extra)


def change_configuration_body(
    configuration: str, *, mode: str | None = "Auto", properties: dict[str, str | None] | None = None
) -> str:
    children = [element("Configuration", b64(configuration))]
    if mode is not None:
        children.append(element("Mode", mode))
    if properties is not None:
        children.append(_properties(properties))
    return xml("ChangeConfiguration", *children)


def _properties(properties: dict[str, str | None]) -> str:
    entries = "".join(
        "<ExtendedProperty>"
        + element("Name", name)
        + (element("Value", value) if value is not None else "")
        + "</ExtendedProperty>"
        for name, value in properties.items()
    )
    return f"<ExtendedProperties>{entries}</ExtendedProperties>"


def walk_body(domain: int) -> str:
    return xml("WalkUpgradeDomain", element("UpgradeDomain", domain))


def rollback_body(mode: str = "Auto", force: str = "false") -> str:
    return xml("RollbackUpdateOrUpgrade", element("Mode", mode), element("Force", force))


def create_deployment_body(
    *,
    name: str = "web-1",
    package: str = PACKAGE_V1,
    configuration: str | None = None,
    label: str = "web-1",
    start: str = "true",
    properties: dict[str, str | None] | None = None,
) -> str:
    children = [
        element("Name", name),
        element("PackageUrl", package),
        element("Label", b64(label)),
        element("Configuration", b64(configuration or cscfg(WebRole1=4, WorkerRole1=2))),
        element("StartDeployment", start),
    ]
    if properties is not None:
        children.append(_properties(properties))
    return xml("CreateDeployment", *children)


def create_service_body(name: str = SERVICE, label: str = "Contoso web") -> str:
    return xml(
        "CreateHostedService",
        element("ServiceName", name),
        element("Label", b64(label)),
        element("Location", "West US"),
    )


class Sm:
    """A Service Management client over httpx for tests: paths relative to the subscription."""

    def __init__(self, client: httpx.AsyncClient, subscription: str = SUBSCRIPTION) -> None:
        self.client = client
        self.subscription = subscription

    def path(self, suffix: str) -> str:
        return f"/{self.subscription}{suffix}"

    async def get(self, suffix: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(self.path(suffix), **kwargs)

    async def post(self, suffix: str, body: str = "", **kwargs: Any) -> httpx.Response:
        return await self.client.post(self.path(suffix), content=body.encode("utf-8"), **kwargs)

    async def delete(self, suffix: str, **kwargs: Any) -> httpx.Response:
        return await self.client.delete(self.path(suffix), **kwargs)

    async def deployment(self, service: str = SERVICE, slot: str = "production") -> wire.Deployment:
        response = await self.get(f"/services/hostedservices/{service}/deploymentslots/{slot}")
        assert response.status_code == 200, response.text
        return wire.parse(wire.Deployment, response.content)

    async def operation(self, request_id: str) -> wire.Operation:
        response = await self.get(f"/operations/{request_id}")
        assert response.status_code == 200, response.text
        return wire.parse(wire.Operation, response.content)

    async def wait(self, request_id: str, within: float = DEADLINE_SECONDS) -> wire.Operation:
        """Poll Get Operation Status in a tight loop until the operation finishes."""
        return await eventually(
            lambda: self.operation(request_id), lambda op: op.status != "InProgress", within
        )

    async def accepted(self, response: httpx.Response, status: int = 202) -> str:
        assert response.status_code == status, response.text
        return response.headers["x-ms-request-id"]

    async def create_service(self, name: str = SERVICE) -> None:
        response = await self.post("/services/hostedservices", create_service_body(name))
        assert response.status_code == 201, response.text

    async def deploy(self, service: str = SERVICE, slot: str = "production", **body: Any) -> str:
        """Create a deployment and wait until it is running; returns the operation id."""
        path = f"/services/hostedservices/{service}/deploymentslots/{slot}"
        request_id = await self.accepted(await self.post(path, create_deployment_body(**body)))
        operation = await self.wait(request_id)
        assert operation.status == "Succeeded", operation
        return request_id

    async def upgrade(self, body: str, service: str = SERVICE, **kwargs: Any) -> httpx.Response:
        return await self.post(
            f"/services/hostedservices/{service}/deploymentslots/production/?comp=upgrade", body, **kwargs
        )

    async def walk(self, domain: int, service: str = SERVICE) -> httpx.Response:
        return await self.post(
            f"/services/hostedservices/{service}/deploymentslots/production/?comp=walkupgradedomain",
            walk_body(domain),
        )

    async def rollback(self, body: str | None = None, service: str = SERVICE) -> httpx.Response:
        path = f"/services/hostedservices/{service}/deploymentslots/production/?comp=rollback"
        return await self.post(path, body or rollback_body())


T = Any


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float = DEADLINE_SECONDS
) -> T:
    """Probe until `done` holds, bounded by a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {within}s; last value: {value!r}")
        await asyncio.sleep(0.001)


def recent_window() -> dict[str, str]:
    """StartTime/EndTime around today (the API looks back at most 90 days)."""
    today = datetime.datetime.now(datetime.UTC).date()
    day = datetime.timedelta(days=1)
    return {"StartTime": (today - day).isoformat(), "EndTime": (today + day).isoformat()}


def client_context(emulator: EmulatorServer, subscription: str | None = SUBSCRIPTION) -> ssl.SSLContext:
    """Trust the emulator CA; present the subscription's management certificate (None: none)."""
    context = ssl.create_default_context(cadata=emulator.ca_pem.decode("ascii"))
    if subscription is not None:
        context.load_cert_chain(emulator.management_pem_path(subscription))
    return context


@pytest.fixture(scope="session")
def emulator_certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("emulator-certificates")
    authority = certs.authority(directory)
    certs.server_certificate(directory, authority, "127.0.0.1")
    for subscription in (SUBSCRIPTION, OTHER_SUBSCRIPTION):
        certs.management_certificate(directory, authority, subscription)
    certs.admin_token(directory)
    return directory


@pytest.fixture
def state_dir(tmp_path: Path, emulator_certificates: Path) -> Path:
    return Path(shutil.copytree(emulator_certificates, tmp_path / "state"))


@pytest.fixture
def timings() -> Timings:
    """Instant by default; tests needing visible steps override this fixture or set timings."""
    return Timings.instant()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def emulator(state_dir: Path, timings: Timings, clock: Clock) -> AsyncIterator[EmulatorServer]:
    server = EmulatorServer(
        state_dir, subscriptions=[SUBSCRIPTION, OTHER_SUBSCRIPTION], timings=timings, clock=clock
    )
    async with server:
        yield server


@pytest.fixture
async def sm(emulator: EmulatorServer) -> AsyncIterator[Sm]:
    async with httpx.AsyncClient(
        base_url=emulator.url, verify=client_context(emulator), headers={"x-ms-version": VERSION}, timeout=10
    ) as client:
        yield Sm(client)


@pytest.fixture
async def admin(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """The admin API: bearer token, no client certificate."""
    async with httpx.AsyncClient(
        base_url=f"{emulator.url}/emulator",
        verify=client_context(emulator, None),
        headers={"Authorization": f"Bearer {emulator.admin_token}"},
        timeout=10,
    ) as client:
        yield client


@pytest.fixture
async def deployed(sm: Sm) -> Sm:
    """A hosted service with a running production deployment: WebRole1 x4, WorkerRole1 x2 (4 UDs)."""
    await sm.create_service()
    await sm.deploy()
    return sm
