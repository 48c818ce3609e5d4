"""The sandbox, run the way a user runs it: a separate process, its output and its exit code.

Everything inside is real (the emulated Kubernetes API with the CRD's validation, the HTTPS
Service Management emulator, the controller), only faster: `--speed 10` shrinks the emulated
fabric's timings so a full scenario takes seconds. Each test drives one promise of the command:
it converges and says so, it fails with a message rather than a traceback, and `--keep` leaves a
usable API behind until a signal stops everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[2]
SPEED = "10"
CSD_PATH = "/apis/classic.cloudservices.io/v1alpha1/namespaces/shop/cloudservicedeployments"


def sandbox_command(*arguments: str) -> list[str]:
    """`cloudservice-operator sandbox ...`, with this interpreter."""
    return [sys.executable, "-m", "controller", "sandbox", *arguments]


def run_sandbox(*arguments: str, timeout: float = 80) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  # our own interpreter and module
        sandbox_command(*arguments), cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[str]]]:
    """Sandboxes started in the background; any still running at the end is killed."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def read_until(process: subprocess.Popen[str], marker: str, *, timeout: float) -> list[str]:
    """Lines of stdout up to and including the first containing `marker`."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} did not appear; output so far:\n{''.join(lines)}")


def test_scenario_converges_and_reports_each_step(tmp_path: Path) -> None:
    result = run_sandbox("--speed", SPEED, "--no-live", "--state-dir", str(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for number, title in enumerate(
        [
            "The examples converge",
            "Bad input gets a clear error",
            "An upgrade walks the upgrade domains",
            "A reimage of one instance, exactly once",
            "A bad package is rolled back",
            "A GitOps revert during an upgrade",
        ],
        start=1,
    ):
        assert f"[PASS] {number}. {title}" in out
    assert "Result: the scenario converged as expected (6/6 steps)" in out
    assert "Exactly once: OK, no mutating operation was issued twice for one intent" in out
    # What the user is told it did to the examples, and what the steps saw.
    assert "spec.endpoint https://management.core.windows.net -> https://127.0.0.1:" in out
    assert "Secret shop/contoso-mgmt-cert: tls.crt + tls.key = the emulator's management certificate" in out
    assert (
        'is invalid: spec: Invalid value: "object": exactly one of slot or deploymentName must be set' in out
    )
    assert "walked 0, 1, 2, 3 one at a time" in out
    assert "ReimageRoleInstance WebRole1_IN_1 issued once" in out
    assert "Stalled (RolledBack)" in out
    assert "1 Rollback, no second upgrade" in out
    assert "Traceback" not in out + result.stderr
    assert result.stderr == ""
    # A state directory given by the user is left in place.
    assert (tmp_path / "kubeconfig").is_file()
    assert (tmp_path / "sandbox.log").is_file()


def test_a_scenario_that_cannot_converge_fails_with_a_message(tmp_path: Path) -> None:
    # No shortcut: the scenario runs for real but is given too little time to finish.
    result = run_sandbox("--speed", SPEED, "--no-live", "--timeout", "1", "--state-dir", str(tmp_path))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL]" in result.stdout
    assert "Result: FAILED" in result.stdout
    assert "gave up after --timeout 1s waiting for" in result.stdout
    assert result.stderr.startswith("sandbox: the scenario did not converge as expected: step ")
    assert "Traceback" not in result.stdout + result.stderr


def test_bad_command_line_and_missing_examples_are_explained(tmp_path: Path) -> None:
    usage = run_sandbox("--speed", "0")
    assert usage.returncode == 2
    assert "must be greater than 0" in usage.stderr

    missing = run_sandbox("--no-live", "--examples", str(tmp_path / "nowhere"))
    assert missing.returncode == 3
    assert missing.stderr.startswith("sandbox: error: the examples directory")
    assert "Traceback" not in missing.stdout + missing.stderr


def test_keep_leaves_a_working_api_until_sigterm(
    tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    # stdout is a pipe, not a terminal: plain output without being asked.
    process = subprocess.Popen(  # noqa: S603  # our own interpreter and module
        sandbox_command("--speed", SPEED, "--keep", "--state-dir", str(tmp_path)),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    spawned.append(process)
    output = "".join(read_until(process, "Stop with Ctrl-C", timeout=60))

    assert "Result: the scenario converged as expected" in output
    kubeconfig = tmp_path / "kubeconfig"
    assert f"kubeconfig        {kubeconfig}" in output
    assert f"admin token       {tmp_path / 'emulator' / 'admin-token'}" in output
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    listed = httpx.get(f"{server}{CSD_PATH}", timeout=5).json()
    phases = {item["metadata"]["name"]: item["status"]["phase"] for item in listed["items"]}
    assert phases == {"web": "Ready", "api": "Ready", "ops": "Observing"}

    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 0  # the scenario converged; stopping afterwards is no failure
    assert "Traceback" not in stderr
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server}{CSD_PATH}", timeout=2)


def test_ctrl_c_during_the_scenario_stops_everything(
    tmp_path: Path, spawned: list[subprocess.Popen[str]]
) -> None:
    process = subprocess.Popen(  # noqa: S603  # our own interpreter and module
        sandbox_command("--speed", SPEED, "--no-live", "--state-dir", str(tmp_path)),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    spawned.append(process)
    read_until(process, "==> Step 3/6", timeout=60)

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 130, stdout + stderr
    assert "SIGINT received: everything the sandbox started is stopped." in stdout
    assert "sandbox: interrupted" in stderr
    assert "Traceback" not in stdout + stderr
