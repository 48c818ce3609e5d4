"""`cloudservice-operator emulator` as a process: files on first start, reuse later, clean shutdown."""

from __future__ import annotations

import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from controller.emulator.server import DEFAULT_SUBSCRIPTION

SUBSCRIPTION = "7e57c11e-0000-4000-8000-00000000cafe"
LAUNCH = "import sys; from controller.emulator.cli import main; sys.exit(main(sys.argv[1:]))"


class Running:
    def __init__(self, process: subprocess.Popen[str], url: str, lines: list[str]) -> None:
        self.process, self.url, self.lines = process, url, lines


def start(state_dir: Path, *args: str) -> Running:
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
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("Serving until interrupted"):
            break
    first = next((line for line in lines if "listening on" in line), None)
    assert first is not None, (lines, process.stderr.read() if process.stderr else "")
    return Running(process, first.rsplit(" ", 1)[-1], lines)


def stop(running: Running) -> tuple[int, str]:
    running.process.send_signal(signal.SIGTERM)
    out, _ = running.process.communicate(timeout=20)
    return running.process.returncode, out


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[tuple[Path, Running]]:
    running = start(tmp_path, "--subscription", SUBSCRIPTION, "--accept-seconds", "0")
    yield tmp_path, running
    if running.process.poll() is None:
        running.process.kill()
        running.process.communicate()


def test_first_start_creates_the_files_and_serves_https(emulator_process: tuple[Path, Running]) -> None:
    state_dir, running = emulator_process
    assert running.url.startswith("https://127.0.0.1:")
    assert any(str(state_dir / "ca.pem") in line for line in running.lines)
    pem = state_dir / "management" / f"{SUBSCRIPTION}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE((state_dir / "admin-token").stat().st_mode) == 0o600
    context = ssl.create_default_context(cafile=state_dir / "ca.pem")
    context.load_cert_chain(pem)
    with httpx.Client(verify=context, headers={"x-ms-version": "2014-10-01"}) as client:
        response = client.get(f"{running.url}/{SUBSCRIPTION}/services/hostedservices/nothing")
    assert response.status_code == 404
    code, out = stop(running)
    assert code == 0
    assert "emulator stopped" in out


def test_later_starts_reuse_the_certificates(emulator_process: tuple[Path, Running]) -> None:
    state_dir, running = emulator_process
    before = {
        path: path.read_bytes()
        for path in [state_dir / "ca.pem", state_dir / "management" / f"{SUBSCRIPTION}.pem"]
    }
    assert stop(running)[0] == 0
    again = start(state_dir)  # no --subscription: the default one, plus those of earlier runs
    try:
        assert {path: path.read_bytes() for path in before} == before
        assert any(SUBSCRIPTION in line for line in again.lines)
        assert any(DEFAULT_SUBSCRIPTION in line for line in again.lines)
    finally:
        assert stop(again)[0] == 0


def test_sigint_also_stops_cleanly(tmp_path: Path) -> None:
    running = start(tmp_path)
    running.process.send_signal(signal.SIGINT)
    running.process.communicate(timeout=20)
    assert running.process.returncode == 0


def test_bad_arguments_and_a_taken_port(tmp_path: Path) -> None:
    bad = subprocess.run(  # noqa: S603  # fixed argv: this interpreter, our own CLI
        [sys.executable, "-c", LAUNCH, "--state-dir", str(tmp_path), "--instance-step-seconds", "-1"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert bad.returncode == 2
    assert ">= 0" in bad.stderr
    traversal = subprocess.run(  # noqa: S603  # fixed argv: this interpreter, our own CLI
        [sys.executable, "-c", LAUNCH, "--state-dir", str(tmp_path), "--subscription", "../etc"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert traversal.returncode == 2
    assert "not a subscription id" in traversal.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603  # fixed argv: this interpreter, our own CLI
            [sys.executable, "-c", LAUNCH, "--state-dir", str(tmp_path), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    assert result.returncode == 1
    assert "emulator:" in result.stderr
