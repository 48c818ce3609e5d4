"""Fleet benchmark: how the controller scales with the number of CloudServiceDeployments.

Run as a script (pytest does not collect it):

    python tests/benchmarks/bench_fleet.py                 # fleets of 50, 200, 500
    python tests/benchmarks/bench_fleet.py --sizes 20,50   # quicker

The Kubernetes API (KubeApiServer) and the Azure emulator run in this process with fixed,
non-zero timings; the controller runs in a child process (so its memory is its own), configured
like production except for a short poll interval. Printed:

- time for one deployment alone to go from created to Ready (an Auto upgrade), and for a whole
  fleet created at once;
- Service Management calls per upgrade (mutating and reads, from the emulator's request log and
  the controller's metrics);
- Kubernetes writes per reconcile pass when idle (status patches by the controller, and every
  write of any client, from the API server's resourceVersion counter);
- the controller's memory: RSS of the process and Python allocations (tracemalloc) after each fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import socket
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from controller.emulator import control as emulator_control  # noqa: E402
from controller.emulator.server import DEFAULT_SUBSCRIPTION, EmulatorServer  # noqa: E402
from controller.emulator.timings import Timings  # noqa: E402
from controller.kube.apiserver import KubeApiServer  # noqa: E402

NAMESPACE = "fleet"
CSDS = f"/apis/classic.cloudservices.io/v1alpha1/namespaces/{NAMESPACE}/cloudservicedeployments"
CSCFG_NS = "http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration"
PACKAGE_V1 = "https://acct.blob.core.windows.net/pkgs/app-1.cspkg"
PACKAGE_V2 = "https://acct.blob.core.windows.net/pkgs/app-2.cspkg"
# One upgrade of 2 instances in 2 domains takes about 1.5 s in the emulator.
TIMINGS = Timings(
    accept_seconds=0.1, instance_step_seconds=0.1, upgrade_domain_seconds=0.1, health_timeout_seconds=5
)
POLL_SECONDS = 0.5
SYNC_SECONDS = 10  # the CRD's minimum: an idle object is re-read every 10 s (+-10%)


def cscfg(service: str, setting: str) -> str:
    return (
        f'<ServiceConfiguration serviceName="{service}" xmlns="{CSCFG_NS}" osFamily="6" osVersion="*">'
        f'<Role name="WebRole1"><Instances count="2"/><ConfigurationSettings>'
        f'<Setting name="Release" value="{setting}"/></ConfigurationSettings></Role></ServiceConfiguration>'
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- the controller process -------------------------------------------------------------------


def child(kube_url: str, metrics_port: int, liveness_port: int, rate: float) -> None:
    """The controller, as `cloudservice-operator run` runs it, plus a tracemalloc probe."""
    import logging

    import kopf

    from controller.azure.limits import LimitSettings
    from controller.handlers import operator
    from controller.handlers.options import ControllerOptions
    from controller.reconcile.config import ReconcileConfig

    tracemalloc.start()
    logging.basicConfig(level=logging.WARNING)
    options = ControllerOptions(
        login=kopf.ConnectionInfo(server=kube_url),
        reconcile=ReconcileConfig(poll_seconds=POLL_SECONDS),
        metrics_host="127.0.0.1",
        metrics_port=metrics_port,
        liveness=f"http://127.0.0.1:{liveness_port}/healthz",
        resume_spread_seconds=0.0,
        azure_limits=LimitSettings(max_concurrency=16, rate=rate, burst=max(10, int(rate))),
    )
    registry = operator.build_registry(options)

    @kopf.on.probe(registry=registry, id="memory")
    def memory(**_: Any) -> dict[str, int]:
        current, peak = tracemalloc.get_traced_memory()
        return {"current": current, "peak": peak}

    operator_run = kopf.operator(
        registry=registry,
        standalone=True,
        clusterwide=True,
        liveness_endpoint=options.liveness,
        memo=kopf.Memo(),
    )
    profile_path = os.environ.get("BENCH_PROFILE")  # a cProfile of the controller, for digging
    if not profile_path:
        asyncio.run(operator_run)
        return
    import cProfile

    with cProfile.Profile() as profiler:
        asyncio.run(operator_run)
    profiler.dump_stats(profile_path)


# --- the bench --------------------------------------------------------------------------------


class Bench:
    def __init__(
        self, kube: KubeApiServer, emulator: EmulatorServer, http: httpx.AsyncClient, rate: float
    ) -> None:
        self.rate = rate
        self.kube = kube
        self.emulator = emulator
        self.http = http
        self.metrics_port = free_port()
        self.liveness_port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    async def start_controller(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child",
            str(self.kube.url), str(self.metrics_port), str(self.liveness_port), str(self.rate),
            cwd=ROOT,
        )  # fmt: skip
        async with asyncio.timeout(30):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (
                        await self.http.get(f"http://127.0.0.1:{self.liveness_port}/healthz")
                    ).status_code == 200:
                        return
                await asyncio.sleep(0.1)

    async def stop_controller(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)

    async def prepare(self) -> None:
        await self.http.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        )
        pem = self.emulator.management_pem(DEFAULT_SUBSCRIPTION).decode()
        blocks = {
            m.group(1): m.group(0)
            for m in re.finditer(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----\n?", pem, re.DOTALL)
        }
        key = next(v for k, v in blocks.items() if "PRIVATE KEY" in k)
        data = {"tls.crt": blocks["CERTIFICATE"], "tls.key": key, "ca.crt": self.emulator.ca_pem.decode()}
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "mgmt"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }
        await self.http.post(f"/api/v1/namespaces/{NAMESPACE}/secrets", json=secret)

    def seed(self, names: list[str]) -> None:
        self.emulator.control.seed(
            emulator_control.Seed(
                hosted_services=[
                    emulator_control.HostedServiceSeed(
                        name=name,
                        deployments=[
                            emulator_control.DeploymentSeed(
                                package_url=PACKAGE_V1,
                                configuration=cscfg(name, "v1"),
                                label="v1",
                                upgrade_domain_count=2,
                            )
                        ],
                    )
                    for name in names
                ]
            )
        )

    async def create(self, name: str) -> None:
        body = {
            "apiVersion": "classic.cloudservices.io/v1alpha1",
            "kind": "CloudServiceDeployment",
            "metadata": {"name": name},
            "spec": {
                "subscriptionId": DEFAULT_SUBSCRIPTION,
                "serviceName": name,
                "slot": "Production",
                "endpoint": self.emulator.url,
                "credentialsSecretRef": {"name": "mgmt"},
                "package": {"url": PACKAGE_V2},
                "configuration": {"inline": cscfg(name, "v2")},
                "label": "v2",
                "syncIntervalSeconds": SYNC_SECONDS,
            },
        }
        response = await self.http.post(CSDS, json=body)
        response.raise_for_status()

    async def ready(self, names: set[str]) -> int:
        items = (await self.http.get(CSDS)).json()["items"]
        count = 0
        for item in items:
            if item["metadata"]["name"] not in names:
                continue
            status = item.get("status", {})
            conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
            if (
                conditions.get("Ready") == "True"
                and status.get("observedGeneration") == item["metadata"]["generation"]
            ):
                count += 1
        return count

    async def converge(self, prefix: str, size: int, budget: float) -> dict[str, float]:
        names = [f"{prefix}-{index:04d}" for index in range(size)]
        self.seed(names)
        before = await self.metrics()
        started = time.monotonic()
        semaphore = asyncio.Semaphore(20)

        async def create(name: str) -> None:
            async with semaphore:
                await self.create(name)

        await asyncio.gather(*(create(name) for name in names))
        created = time.monotonic() - started
        wanted = set(names)
        async with asyncio.timeout(budget):
            while (done := await self.ready(wanted)) < size:  # noqa: ASYNC110 - remote state, polled
                await asyncio.sleep(0.25)
        elapsed = time.monotonic() - started
        after = await self.metrics()
        mutating = [
            e for e in self.emulator.control.requests.entries({}) if any(n in e.aliases for n in wanted)
        ]
        azure_calls = _total(after, "cso_azure_requests_total") - _total(before, "cso_azure_requests_total")
        return {
            "size": size,
            "created_seconds": created,
            "ready_seconds": elapsed,
            "ready": done,
            "mutating_per_upgrade": len(mutating) / size,
            "azure_calls_per_upgrade": azure_calls / size,
            "status_patches_per_upgrade": (
                _total(after, "cso_status_patches_total") - _total(before, "cso_status_patches_total")
            )
            / size,
        }

    async def idle(self, seconds: float) -> dict[str, float]:
        """Let every object sync at least once with nothing to do; count the writes."""
        before = await self.metrics()
        revision_before = await self.revision()
        await asyncio.sleep(seconds)
        after = await self.metrics()
        revision_after = await self.revision()
        passes = _total(after, "cso_reconcile_duration_seconds_count") - _total(
            before, "cso_reconcile_duration_seconds_count"
        )
        patches = _total(after, "cso_status_patches_total") - _total(before, "cso_status_patches_total")
        return {
            "passes": passes,
            "status_patches": patches,
            "api_writes": revision_after - revision_before,
            "writes_per_pass": (revision_after - revision_before) / passes if passes else 0.0,
        }

    async def revision(self) -> int:
        """The API server's global resourceVersion: it moves on every write by anyone."""
        listing = (await self.http.get(CSDS)).json()
        return int(listing["metadata"]["resourceVersion"])

    async def metrics(self) -> dict[str, float]:
        text = (await self.http.get(f"http://127.0.0.1:{self.metrics_port}/metrics")).text
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    async def memory(self) -> dict[str, float]:
        assert self.process is not None
        rss_kib = 0
        proc = Path(f"/proc/{self.process.pid}")
        for line in (proc / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
        probe = (await self.http.get(f"http://127.0.0.1:{self.liveness_port}/healthz")).json()
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return {
            "controller_cpu_seconds": (int(fields[11]) + int(fields[12])) / ticks,
            "harness_cpu_seconds": time.process_time(),
            "rss_mib": rss_kib / 1024,
            "traced_mib": probe["memory"]["current"] / 2**20,
            "traced_peak_mib": probe["memory"]["peak"] / 2**20,
        }


def _total(values: dict[str, float], name: str) -> float:
    return sum(value for key, value in values.items() if key == name or key.startswith(name + "{"))


async def trim_request_history(kube: KubeApiServer) -> None:
    """Keep kmock's request log short while the bench runs.

    kmock records every request for assertions and matches each new one against that whole
    record, which is quadratic in the number of requests: at fleet scale the emulated API server,
    not the controller, would be what is measured. Tests need the record; the bench does not.
    """
    while True:
        await asyncio.sleep(0.02)
        del kube._requests[:-20]


async def main(sizes: list[int], budget: float, rate: float) -> None:
    with tempfile.TemporaryDirectory() as state:
        crd = yaml.safe_load((ROOT / "crds" / "cloudservicedeployment.yaml").read_text())
        async with (
            KubeApiServer(crds=[crd], object_history=2).serve() as kube,
            EmulatorServer(Path(state) / "emulator", timings=TIMINGS) as emulator,
            httpx.AsyncClient(base_url=str(kube.url), timeout=60) as http,
        ):
            bench = Bench(kube, emulator, http, rate)
            trimmer = asyncio.create_task(trim_request_history(kube))
            await bench.prepare()
            await bench.start_controller()
            try:
                baseline = await bench.memory()
                solo = await bench.converge("solo", 1, budget)
                print(f"one deployment alone: Ready in {solo['ready_seconds']:.2f}s")
                rss, traced = baseline["rss_mib"], baseline["traced_mib"]
                print(f"controller at rest: RSS {rss:.1f} MiB, traced {traced:.1f} MiB")
                rows = []
                for size in sizes:
                    result = await bench.converge(f"f{size}", size, budget)
                    memory = await bench.memory()
                    rows.append({**result, **memory})
                    print(json.dumps({k: round(v, 3) for k, v in rows[-1].items()}), flush=True)
                idle = await bench.idle(SYNC_SECONDS * 1.2)
            finally:
                trimmer.cancel()
                await bench.stop_controller()
    print()
    print(
        "| fleet | created in | all Ready in | vs alone | mutating calls/upgrade | SM calls/upgrade "
        "| status writes/upgrade | controller CPU s (cumulative) | RSS MiB | traced MiB (peak) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['size']:.0f} | {row['created_seconds']:.1f}s | {row['ready_seconds']:.1f}s | "
            f"{row['ready_seconds'] / solo['ready_seconds']:.1f}x | {row['mutating_per_upgrade']:.2f} | "
            f"{row['azure_calls_per_upgrade']:.1f} | {row['status_patches_per_upgrade']:.1f} | "
            f"{row['controller_cpu_seconds']:.1f} | "
            f"{row['rss_mib']:.0f} | {row['traced_mib']:.0f} ({row['traced_peak_mib']:.0f}) |"
        )
    print()
    print(
        f"idle ({SYNC_SECONDS * 1.2:.0f}s, {idle['passes']:.0f} passes over {sum(sizes) + 1} resources): "
        f"{idle['status_patches']:.0f} status patches, {idle['api_writes']:.0f} API writes by anyone "
        f"-> {idle['writes_per_pass']:.3f} writes per idle pass"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,500", help="fleet sizes, comma-separated")
    parser.add_argument("--budget", type=float, default=300.0, help="max seconds for one fleet to converge")
    parser.add_argument(
        "--rate",
        type=float,
        default=5.0,
        help="Azure request starts per second per subscription (client default 5)",
    )
    arguments = parser.parse_args()
    print(f"Azure request rate limit: {arguments.rate:g}/s per subscription; poll {POLL_SECONDS}s")
    asyncio.run(main([int(size) for size in arguments.sizes.split(",")], arguments.budget, arguments.rate))
