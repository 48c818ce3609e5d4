"""The command line: what `cloudservice-operator run` hands the controller, and env defaults."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controller import __main__ as cli
from controller import settings
from controller.azure.limits import LimitSettings


def test_run_defaults_watch_everything_and_keep_the_client_budget() -> None:
    arguments = cli.run_arguments([])

    assert arguments["all_namespaces"] is True
    assert arguments["namespaces"] == []
    assert arguments["liveness"] == "http://0.0.0.0:8080/healthz"
    assert arguments["metrics_port"] == 9090
    assert arguments["azure_limits"] == LimitSettings()


def test_run_flags_reach_the_controller() -> None:
    arguments = cli.run_arguments(
        [
            "-n",
            "shop",
            "-n",
            "payments",
            "--liveness",
            "none",
            "--metrics-port",
            "0",
            "--log-format",
            "json",
            "--azure-requests-per-second",
            "50",
            "--azure-burst",
            "100",
            "--azure-max-concurrency",
            "16",
        ]
    )

    assert arguments["namespaces"] == ["shop", "payments"]
    assert arguments["all_namespaces"] is False
    assert arguments["liveness"] is None
    assert arguments["metrics_port"] is None  # 0 disables metrics
    assert arguments["log_format"] == "json"
    assert arguments["azure_limits"] == LimitSettings(max_concurrency=16, rate=50.0, burst=100)


@pytest.mark.parametrize(
    "flag", [["--azure-requests-per-second", "0"], ["--azure-burst", "x"], ["--azure-max-concurrency", "-1"]]
)
def test_a_bad_budget_is_a_usage_error(flag: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.run_arguments(flag)
    assert exited.value.code == 2
    assert flag[0] in capsys.readouterr().err


def test_environment_sets_the_defaults() -> None:
    defaults = settings.OperatorSettings.from_environment(
        {"CSO_METRICS_PORT": "9100", "CSO_VERBOSE": "true", "CSO_AZURE_REQUESTS_PER_SECOND": "20"}
    )
    assert defaults.metrics_port == 9100
    assert defaults.verbose is True
    assert defaults.azure_requests_per_second == 20.0
    assert defaults.log_format == "text"


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "controller", "deploy"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "unknown command 'deploy'" in result.stderr
    assert "Traceback" not in result.stderr
