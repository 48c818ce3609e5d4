"""`cloudservice-operator run` as a user starts it: kubeconfig login, probes, metrics, JSON logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys

import httpx
import pytest

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import ROOT, World, is_ready  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def get_when_up(url: str) -> httpx.Response:
    async with httpx.AsyncClient() as client, asyncio.timeout(10):
        while True:
            try:
                return await client.get(url)
            except httpx.TransportError:
                await asyncio.sleep(0.05)


@pytest.mark.timeout(30)
async def test_run_command_serves_probes_and_metrics_and_converges(
    world: World, tmp_path: os.PathLike[str]
) -> None:
    world.seed(label="web-1")
    kubeconfig = world.kube.kubeconfig(f"{tmp_path}/kubeconfig", namespace="shop")
    liveness, metrics = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller", "run", "--namespace", "shop",
        "--liveness", f"http://127.0.0.1:{liveness}/healthz",
        "--metrics-host", "127.0.0.1", "--metrics-port", str(metrics), "--log-format", "json",
        cwd=ROOT, env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert (await get_when_up(f"http://127.0.0.1:{liveness}/healthz")).status_code == 200
        await world.create("web")
        await world.wait("web", is_ready, within=15, what="Ready under the CLI controller")
        exposed = (await get_when_up(f"http://127.0.0.1:{metrics}/metrics")).text
        assert 'cso_operations_issued_total{kind="Upgrade"} 1.0' in exposed
        assert "cso_reconcile_duration_seconds_bucket" in exposed
        assert 'cso_azure_requests_total{operation="GetDeployment",outcome="success"}' in exposed
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0
    lines = [line for line in output.decode().splitlines() if line.strip()]
    assert lines
    assert all(json.loads(line)["message"] is not None for line in lines if line.startswith("{"))
