"""Emulator throughput on loopback: Get Deployment, and upgrade-then-poll cycles, by concurrency.

    python tests/benchmarks/bench_emulator.py [--seconds 3] [--clients 1 8 32]

The emulator runs as its own process (the CLI, instant timings) so client and server do not share
an interpreter; the clients are aiohttp sessions over mutual TLS with keep-alive (aiohttp's client
costs less CPU per request than httpx's, so the figures say more about the server). Each client of the upgrade
benchmark owns a hosted service, so cycles never conflict: a cycle is Upgrade Deployment (Auto)
followed by Get Operation Status polls until Succeeded. Bounded: each measurement runs for
`--seconds`, about 6 measurements in all. Not a pytest module (no `test_` prefix).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

SUBSCRIPTION = "9f0c6a0e-0000-4000-8000-000000000001"
CSCFG = (
    '<ServiceConfiguration serviceName="bench" '
    'xmlns="http://schemas.microsoft.com/ServiceHosting/2008/10/ServiceConfiguration">'
    '<Role name="WebRole1"><Instances count="4" /></Role>'
    '<Role name="WorkerRole1"><Instances count="2" /></Role>'
    "</ServiceConfiguration>"
)
UPGRADE = (
    '<UpgradeDeployment xmlns="http://schemas.microsoft.com/windowsazure"><Mode>Auto</Mode>'
    "<PackageUrl>https://acct.blob.core.windows.net/pkgs/bench-2.cspkg</PackageUrl>"
    f"<Configuration>{base64.b64encode(CSCFG.encode()).decode()}</Configuration>"
    f"<Label>{base64.b64encode(b'bench-2').decode()}</Label><Force>false</Force></UpgradeDeployment>"
)
LAUNCH = "import sys; from controller.emulator.cli import main; sys.exit(main(sys.argv[1:]))"


def start_emulator(state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    timings = ["--accept-seconds", "0", "--instance-step-seconds", "0", "--upgrade-domain-seconds", "0"]
    process = subprocess.Popen(  # noqa: S603  # fixed argv: this interpreter, our own CLI
        [
            sys.executable,
            "-c",
            LAUNCH,
            "--state-dir",
            str(state_dir),
            "--port",
            "0",
            "--log-level",
            "WARNING",
            *timings,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "listening on" in line:
            return process, line.strip().rsplit(" ", 1)[-1]
    raise RuntimeError("the emulator did not start")


def tls(state_dir: Path, *, with_certificate: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=state_dir / "ca.pem")
    if with_certificate:
        context.load_cert_chain(state_dir / "management" / f"{SUBSCRIPTION}.pem")
    return context


def session(state_dir: Path, connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=connections, ssl=tls(state_dir))
    return aiohttp.ClientSession(connector=connector, headers={"x-ms-version": "2014-10-01"})


async def seed(url: str, state_dir: Path, services: int) -> None:
    token = (state_dir / "admin-token").read_text().strip()
    deployment = {
        "slot": "Production",
        "name": "bench",
        "packageUrl": "https://acct/pkgs/bench-1.cspkg",
        "configuration": CSCFG,
    }
    hosted = [{"name": f"bench-{index}", "deployments": [deployment]} for index in range(services)]
    connector = aiohttp.TCPConnector(ssl=tls(state_dir, with_certificate=False))
    async with (
        aiohttp.ClientSession(connector=connector, headers={"Authorization": f"Bearer {token}"}) as admin,
        admin.post(f"{url}/emulator/seed", json={"hostedServices": hosted}) as response,
    ):
        response.raise_for_status()


async def measure(clients: int, seconds: float, work: Callable[[int], Awaitable[None]]) -> float:
    """Run `work(client_index)` in a loop on `clients` tasks for `seconds`; returns completions/s."""
    deadline = time.monotonic() + seconds
    counts = [0] * clients

    async def loop(index: int) -> None:
        while time.monotonic() < deadline:
            await work(index)
            counts[index] += 1

    started = time.monotonic()
    await asyncio.gather(*(loop(index) for index in range(clients)))
    return sum(counts) / (time.monotonic() - started)


async def get_deployment(http: aiohttp.ClientSession, base: str, index: int) -> None:
    async with http.get(
        f"{base}/services/hostedservices/bench-{index}/deploymentslots/production"
    ) as response:
        response.raise_for_status()
        await response.read()


async def upgrade_cycle(http: aiohttp.ClientSession, base: str, index: int) -> None:
    path = f"{base}/services/hostedservices/bench-{index}/deployments/bench/?comp=upgrade"
    async with http.post(path, data=UPGRADE) as response:
        response.raise_for_status()
        request_id = response.headers["x-ms-request-id"]
    while True:
        async with http.get(f"{base}/operations/{request_id}") as status:
            status.raise_for_status()
            body = await status.read()
        if b"<Status>InProgress</Status>" not in body:
            assert b"<Status>Succeeded</Status>" in body, body
            return


async def run(seconds: float, concurrency: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as directory:
        state_dir = Path(directory)
        process, url = start_emulator(state_dir)
        try:
            await seed(url, state_dir, max(concurrency))
            print(f"emulator {url} (separate process), {seconds:g}s per measurement, cpus={os.cpu_count()}")
            print(f"{'clients':>8} {'Get Deployment req/s':>22} {'upgrade+poll cycles/s':>23}")
            base = f"{url}/{SUBSCRIPTION}"
            for clients in concurrency:
                async with session(state_dir, clients) as http:
                    gets = await measure(clients, seconds, lambda i, http=http: get_deployment(http, base, i))
                    cycles = await measure(
                        clients, seconds, lambda i, http=http: upgrade_cycle(http, base, i)
                    )
                print(f"{clients:>8} {gets:>22.0f} {cycles:>23.0f}")
        finally:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=10)
            if process.poll() is None:
                process.kill()


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    arguments.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrency levels")
    args = arguments.parse_args()
    asyncio.run(run(args.seconds, args.clients))
    return 0


if __name__ == "__main__":
    sys.exit(main())
