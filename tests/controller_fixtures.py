"""Test helpers of the controller area: builders of planner inputs and statuses.

The base desired state and the base deployment agree (in sync, every instance ReadyRole), so a
test states only what differs. Times are offsets from `T0`.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import logging
import re
import sys
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import kopf
import pytest
import yaml

from controller.azure import errors, retry, wire
from controller.azure.client import ServiceManagementClient
from controller.azure.credentials import ManagementCredentials
from controller.azure.refs import DeploymentRef
from controller.emulator import control as emulator_control
from controller.emulator.server import DEFAULT_SUBSCRIPTION, EmulatorServer
from controller.emulator.timings import Timings
from controller.handlers import operator
from controller.handlers.options import ControllerOptions
from controller.kube.apiserver import KubeApiServer
from controller.metrics import Metrics
from controller.models.status import Status
from controller.planning.inputs import (
    DesiredState,
    Digests,
    DomainGate,
    Observation,
    ObservedDeployment,
    ObservedInstance,
    ObservedOperation,
    ObservedUpgrade,
    Tuning,
)
from controller.reconcile.config import ReconcileConfig

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DIGESTS = Digests(
    package="pkg-42",
    configuration="cfg-42",
    label="lbl-42",
    extended_properties="xp-42",
    extensions="ext-42",
    spec="spec-42",
)
PREVIOUS = {
    "packageDigest": "pkg-41",
    "configurationDigest": "cfg-41",
    "labelDigest": "lbl-41",
    "extendedPropertiesDigest": "xp-41",
    "extensionsDigest": "ext-41",
    "specDigest": "spec-41",
    "generation": 1,
    "appliedAt": "2024-05-01T11:00:00Z",
}
CURRENT = {
    "packageDigest": "pkg-42",
    "configurationDigest": "cfg-42",
    "labelDigest": "lbl-42",
    "extendedPropertiesDigest": "xp-42",
    "extensionsDigest": "ext-42",
    "specDigest": "spec-42",
    "generation": 2,
    "appliedAt": "2024-05-01T11:30:00Z",
}
INSTANCES = (
    "WebRole1_IN_0 ReadyRole 0",
    "WebRole1_IN_1 ReadyRole 1",
    "WorkerRole1_IN_0 ReadyRole 0",
    "WorkerRole1_IN_1 ReadyRole 1",
)


def at(seconds: float) -> datetime:
    """`T0` plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    """`at(seconds)` as the API writes it."""
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def instance(text: str) -> ObservedInstance:
    """An instance from `"NAME STATUS DOMAIN"`; the role is the name before `_IN_`."""
    name, status, domain = text.split()
    return ObservedInstance(
        name=name,
        role=name.split("_IN_")[0],
        status=status,
        upgrade_domain=int(domain),
        fault_domain=int(domain) % 2,
    )


def desired(**overrides: Any) -> DesiredState:
    """The base desired state (label web-42, digests *-42) with `overrides`."""
    digests = dataclasses.replace(DIGESTS, **overrides.pop("digests", {}))
    gate = DomainGate(**overrides.pop("gate", {}))
    tuning = Tuning(**{"poll_seconds": 2.0, "fault_grace_seconds": 30.0, **overrides.pop("tuning", {})})
    base: dict[str, Any] = {
        "generation": 2,
        "digests": digests,
        "label": "web-42",
        "extended_properties": {"owner": "shop"},
        "gate": gate,
        "tuning": tuning,
    }
    return DesiredState(**{**base, **overrides})


def deployment(**overrides: Any) -> ObservedDeployment:
    """The base deployment, in sync with `desired()`, with `overrides`."""
    upgrade = overrides.pop("upgrade", None)
    instances = overrides.pop("instances", INSTANCES)
    base: dict[str, Any] = {
        "name": "web-deployment",
        "slot": "Production",
        "status": "Running",
        "label": "web-42",
        "configuration_digest": "cfg-42",
        "extended_properties": {"owner": "shop"},
        "applied_digest": "spec-42",
        "extensions_digest": "ext-42",
        "upgrade": None if upgrade is None else ObservedUpgrade(**upgrade),
        "upgrade_domain_count": 2,
        "rollback_allowed": False,
        "locked": False,
        "instances": tuple(instance(text) for text in instances),
    }
    return ObservedDeployment(**{**base, **overrides})


def observation(
    deployment_overrides: dict[str, Any] | None, operation: dict[str, Any] | None = None
) -> Observation:
    """An observation; `deployment_overrides=None` means Get Deployment found nothing."""
    return Observation(
        deployment=None if deployment_overrides is None else deployment(**deployment_overrides),
        operation=None if operation is None else ObservedOperation(**operation),
    )


def status(**fields: Any) -> Status:
    """A status from camelCase fields, as read back from the API server."""
    return Status.from_object(fields)


def operation(kind: str = "Upgrade", phase: str = "InProgress", **fields: Any) -> dict[str, Any]:
    """A `status.operation` (camelCase) with sensible defaults for `kind`."""
    target = {"Upgrade": "deployment", "Rollback": "deployment"}.get(kind, fields.pop("target", ""))
    base: dict[str, Any] = {
        "kind": kind,
        "target": target or fields.get("target", ""),
        "intentId": "intent-1",
        "requestId": "req-1",
        "phase": phase,
        "requestedAt": stamp(0),
        "specDigest": "spec-42",
        "generation": 2,
    }
    return {**base, **fields}


# --- integration: the controller for real, against KubeApiServer and the emulator ----------------
#
# Both servers run in the test's event loop; the controller runs in a thread with its own loop
# (kopf's embedding advice: on exit kopf cancels every task its loop started after it).

ROOT = Path(__file__).parent.parent
CRD = yaml.safe_load((ROOT / "crds" / "cloudservicedeployment.yaml").read_text())
NAMESPACE = "shop"
SUBSCRIPTION = DEFAULT_SUBSCRIPTION
SERVICE = "contoso-web"
CSCFG_NS = "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"
PACKAGE_V1 = "https://acct.blob.core.windows.net/pkgs/web-1.cspkg"
PACKAGE_V2 = "https://acct.blob.core.windows.net/pkgs/web-2.cspkg"
CSDS = f"/apis/classic.cloudservices.io/v1alpha1/namespaces/{NAMESPACE}/cloudservicedeployments"
# Fast but not instant: instances visibly pass through their states, domains one after another.
FAST_TIMINGS = Timings(
    accept_seconds=0.02, instance_step_seconds=0.02, upgrade_domain_seconds=0.02, health_timeout_seconds=0.5
)
FAST_RECONCILE = ReconcileConfig(
    poll_seconds=0.05,
    max_poll_seconds=0.2,
    fault_grace_seconds=0.2,
    recovery_margin_seconds=60,
    retry_base_seconds=0.05,
    retry_max_seconds=0.5,
    in_flight_seconds=1.0,
)
# Azure clients that give up retrying quickly, so transient faults surface in status at once.
fast_client = functools.partial(
    ServiceManagementClient,
    retry_policy=retry.RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05, max_elapsed=1.0),
)


def cscfg(*, web: int = 2, worker: int = 0, setting: str = "v1") -> str:
    """A service configuration with WebRole1 (and WorkerRole1) instances and one setting."""
    settings = f'<ConfigurationSettings><Setting name="Release" value="{setting}"/></ConfigurationSettings>'
    roles = f'<Role name="WebRole1"><Instances count="{web}"/>{settings}</Role>'
    if worker:
        roles += f'<Role name="WorkerRole1"><Instances count="{worker}"/></Role>'
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<ServiceConfiguration serviceName="{SERVICE}" '
        f'xmlns="{CSCFG_NS}" osFamily="6" osVersion="*">\n  {roles}\n</ServiceConfiguration>'
    )


def fast_kopf_settings() -> kopf.OperatorSettings:
    """kopf tuned for a local in-memory API server: react in milliseconds, exit at once."""
    settings = kopf.OperatorSettings()
    settings.networking.request_timeout = 5
    settings.networking.error_backoffs = [0.1, 0.2]
    settings.queueing.idle_timeout = 0.5
    settings.queueing.exit_timeout = 0.5
    settings.posting.idle_timeout = 0.1
    settings.posting.default_backoffs = [0.1]
    settings.execution.default_backoff = 0.1
    settings.background.instant_exit_timeout = 0.1
    settings.persistence.consistency_timeout = 1.0
    return settings


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----\n?", re.DOTALL)


def split_pem(pem: bytes) -> tuple[str, str]:
    """(certificate, key) from a PEM holding both."""
    text = pem.decode("ascii")
    found = {m.group(1): m.group(0) for m in _PEM_BLOCK.finditer(text)}
    certificate = found["CERTIFICATE"]
    key = next(value for name, value in found.items() if "PRIVATE KEY" in name)
    return certificate, key


class ControllerThread:
    """The controller in a thread of its own, as `cloudservice-operator run` would run it."""

    def __init__(self, kube_url: str, **overrides: Any) -> None:
        self.options = ControllerOptions(
            login=kopf.ConnectionInfo(server=kube_url),
            reconcile=overrides.pop("reconcile", FAST_RECONCILE),
            client_factory=overrides.pop("client_factory", fast_client),
            resume_spread_seconds=0.0,
            watch_server_timeout=10,
            watch_client_timeout=15.0,
            **overrides,
        )
        self.memo = kopf.Memo()
        self.memo.metrics = Metrics()
        self.stop_flag = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="controller", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(
                operator.run_operator_async(
                    self.options,
                    stop=self.stop_flag,
                    ready=self.ready,
                    memo=self.memo,
                    settings=fast_kopf_settings(),
                )
            )
        except BaseException as exc:  # reported by stop()
            self.error = exc

    @property
    def metrics(self) -> Metrics:
        metrics: Metrics = self.memo.metrics
        return metrics

    async def start(self) -> ControllerThread:
        self.thread.start()
        assert await asyncio.to_thread(self.ready.wait, 10), "the controller did not start"
        return self

    async def stop(self) -> None:
        self.stop_flag.set()
        await asyncio.to_thread(self.thread.join, 15)
        assert not self.thread.is_alive(), "the controller did not stop"


class World:
    """The Kubernetes API server and the Azure emulator, and what tests do with them."""

    def __init__(self, kube: KubeApiServer, emulator: EmulatorServer, http: httpx.AsyncClient) -> None:
        self.kube = kube
        self.emulator = emulator
        self.http = http
        self.controllers: list[ControllerThread] = []

    # -- the controller -----------------------------------------------------------------------

    async def start_controller(self, **overrides: Any) -> ControllerThread:
        controller = ControllerThread(str(self.kube.url), **overrides)
        self.controllers.append(controller)
        return await controller.start()

    # -- Azure ----------------------------------------------------------------------------------

    @property
    def control(self) -> emulator_control.Control:
        return self.emulator.control

    def seed(
        self,
        *,
        service: str = SERVICE,
        label: str = "web-1",
        package: str = PACKAGE_V1,
        configuration: str | None = None,
        domains: int = 2,
        properties: dict[str, str] | None = None,
    ) -> None:
        """A running deployment in the Production slot of `service`, all instances ReadyRole."""
        self.control.seed(
            emulator_control.Seed(
                hosted_services=[
                    emulator_control.HostedServiceSeed(
                        name=service,
                        deployments=[
                            emulator_control.DeploymentSeed(
                                package_url=package,
                                configuration=configuration or cscfg(),
                                label=label,
                                upgrade_domain_count=domains,
                                extended_properties=properties or {},
                            )
                        ],
                    )
                ]
            )
        )

    def requests(self, operation: str | None = None) -> list[Any]:
        """Mutating requests the emulator received (optionally of one operation)."""
        filters = {"operation": operation} if operation else {}
        return self.control.requests.entries(filters)

    def accepted(self, operation: str) -> list[Any]:
        """Mutating requests of `operation` that the emulator took (processed)."""
        return [entry for entry in self.requests(operation) if entry.status is None or entry.status < 400]

    def fault(self, operation: str, kind: str, **fields: Any) -> Any:
        """Inject a fault; the rule (its `fired` counts matching requests that arrived)."""
        return self.control.add_fault(emulator_control.FaultInput(operation=operation, kind=kind, **fields))  # type: ignore[arg-type]

    def package_behaviour(self, package: str, behaviour: str) -> None:
        self.control.set_package(emulator_control.PackageInput(package_url=package, behaviour=behaviour))  # type: ignore[arg-type]

    # -- Kubernetes -----------------------------------------------------------------------------

    async def credentials_secret(self, name: str = "mgmt", *, with_ca: bool = True) -> None:
        certificate, key = split_pem(self.emulator.management_pem(SUBSCRIPTION))
        data = {"tls.crt": certificate, "tls.key": key}
        if with_ca:
            data["ca.crt"] = self.emulator.ca_pem.decode("ascii")
        await self.apply(
            f"/api/v1/namespaces/{NAMESPACE}/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name},
                "type": "kubernetes.io/tls",
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            },
        )

    async def secret(self, name: str, data: dict[str, str]) -> None:
        await self.apply(
            f"/api/v1/namespaces/{NAMESPACE}/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            },
        )

    async def configmap(self, name: str, data: dict[str, str], *, replace: bool = False) -> None:
        collection = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
        if replace:
            response = await self.http.patch(
                f"{collection}/{name}",
                json={"data": data},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert response.status_code == 200, response.text
            return
        await self.apply(
            collection, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
        )

    async def tamper(self, *, service: str = SERVICE, label: str) -> None:
        """Someone else upgrades the deployment (new label, same package and configuration)."""
        certificate, key = split_pem(self.emulator.management_pem(SUBSCRIPTION))
        credentials = ManagementCredentials(cert_pem=certificate.encode(), key_pem=key.encode())
        ref = DeploymentRef(service=service, slot="Production")
        async with fast_client(
            endpoint=self.emulator.url,
            subscription_id=SUBSCRIPTION,
            credentials=credentials,
            ca_pem=self.emulator.ca_pem,
        ) as client:
            for _ in range(50):
                deployment = await client.get_deployment(ref=ref)
                if deployment.locked or deployment.upgrade_status is not None:
                    await asyncio.sleep(0.02)
                    continue
                body = wire.UpgradeDeployment.build(
                    package_url=PACKAGE_V1, configuration=deployment.configuration_text, label=label
                )
                try:
                    await client.upgrade_deployment(ref=ref, body=body)
                except errors.ConflictError:
                    await asyncio.sleep(0.02)
                    continue
                return
        raise AssertionError(f"could not tamper with {service}")

    def service_requests(self, operation: str, service: str) -> list[Any]:
        """Mutating requests of `operation` addressed to `service`."""
        return self.control.requests.entries({"operation": operation, "target": service})

    async def wait_metric(self, controller: ControllerThread, name: str, value: float, **labels: str) -> None:
        """Until the controller's metric `name` reaches `value`."""
        async with asyncio.timeout(10):
            while controller.metrics.value(name, **labels) < value:  # noqa: ASYNC110 - a metric has no event
                await asyncio.sleep(0.02)

    async def apply(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(collection, json=body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    async def create(self, name: str, **spec: Any) -> dict[str, Any]:
        """A CloudServiceDeployment with sensible defaults for the seeded deployment."""
        base: dict[str, Any] = {
            "subscriptionId": SUBSCRIPTION,
            "serviceName": SERVICE,
            "slot": "Production",
            "endpoint": self.emulator.url,
            "credentialsSecretRef": {"name": "mgmt"},
            "package": {"url": PACKAGE_V2},
            "configuration": {"inline": cscfg(setting="v2")},
            "label": "web-2",
            "syncIntervalSeconds": 10,
        }
        body = {
            "apiVersion": "classic.cloudservices.io/v1alpha1",
            "kind": "CloudServiceDeployment",
            "metadata": {"name": name},
            "spec": {**base, **spec},
        }
        return await self.apply(CSDS, body)

    async def get(self, name: str) -> dict[str, Any]:
        response = await self.http.get(f"{CSDS}/{name}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def patch(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.patch(
            f"{CSDS}/{name}", json=body, headers={"Content-Type": "application/merge-patch+json"}
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def wait(
        self, name: str, predicate: Callable[[dict[str, Any]], bool], *, within: float = 10.0, what: str = ""
    ) -> dict[str, Any]:
        """The object once `predicate(object)` holds (polled every 20 ms)."""
        last: dict[str, Any] = {}
        try:
            async with asyncio.timeout(within):
                while True:
                    last = await self.get(name)
                    if predicate(last):
                        return last
                    await asyncio.sleep(0.02)
        except TimeoutError:
            status = last.get("status", {})
            raise AssertionError(
                f"{name}: timed out waiting for {what or predicate}: {yaml.safe_dump(status)}"
            ) from None

    async def wait_event(self, name: str, reason: str) -> dict[str, Any]:
        """The first event about `name` with `reason` (kopf posts events in the background)."""
        try:
            async with asyncio.timeout(10):
                while True:
                    found = [e for e in self.events(name) if e["reason"] == reason]
                    if found:
                        return found[0]
                    await asyncio.sleep(0.02)
        except TimeoutError:
            seen = [(e["reason"], e["message"][:80]) for e in self.events(name)]
            raise AssertionError(f"no {reason} event about {name}; events: {seen}") from None

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.kube.events(NAMESPACE) if name is None or e["involvedObject"]["name"] == name]


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), {})


def is_ready(obj: dict[str, Any]) -> bool:
    status = obj.get("status", {})
    return (
        condition(obj, "Ready").get("status") == "True"
        and status.get("observedGeneration") == obj["metadata"]["generation"]
    )


def phase(obj: dict[str, Any]) -> str:
    return str(obj.get("status", {}).get("phase", ""))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with (
        KubeApiServer(crds=[CRD]).serve() as kube_server,
        EmulatorServer(tmp_path / "emulator", subscriptions=[SUBSCRIPTION], timings=FAST_TIMINGS) as emulator,
        httpx.AsyncClient(base_url=str(kube_server.url), timeout=10) as http,
    ):
        world = World(kube_server, emulator, http)
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        await world.apply("/api/v1/namespaces", namespace)  # kopf watches namespaces it can see
        await world.credentials_secret()
        try:
            yield world
        finally:
            for controller in world.controllers:
                if controller.thread.is_alive():
                    await controller.stop()


def main(argv: list[str]) -> None:
    """A controller process the tests can kill: `python -m tests.controller_fixtures KUBE_URL`."""
    logging.basicConfig(level=logging.INFO)
    options = ControllerOptions(
        login=kopf.ConnectionInfo(server=argv[0]),
        reconcile=dataclasses.replace(FAST_RECONCILE, in_flight_seconds=5.0),
        client_factory=fast_client,
        resume_spread_seconds=0.0,
        watch_server_timeout=10,
        watch_client_timeout=15.0,
    )
    asyncio.run(operator.run_operator_async(options, settings=fast_kopf_settings()))


if __name__ == "__main__":
    main(sys.argv[1:])
