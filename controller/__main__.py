"""The command line: `cloudservice-operator run | emulator | sandbox` — the composition root.

Each command's heavy imports happen only when that command runs, so `emulator` works without
touching kopf and `--help` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from controller import cliargs, settings

COMMANDS = {
    "run": "run the controller against a Kubernetes cluster (kubeconfig or in-cluster)",
    "emulator": "serve the Azure Service Management API emulator over HTTPS",
    "sandbox": "run everything locally (emulated Kubernetes + emulated Azure + controller) and a scenario",
}


def _run_parser() -> argparse.ArgumentParser:
    defaults = settings.OperatorSettings.from_environment()
    parser = argparse.ArgumentParser(
        prog="cloudservice-operator run",
        description="Run the CloudServiceDeployment controller (kopf) with the standard kubeconfig "
        "or in-cluster configuration.",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        dest="namespaces",
        default=[],
        metavar="NS",
        help="watch this namespace (repeatable; glob patterns allowed); default: all namespaces",
    )
    scope.add_argument(
        "--all-namespaces", "-A", action="store_true", help="watch every namespace (the default)"
    )
    parser.add_argument(
        "--liveness",
        default=defaults.liveness,
        metavar="URL",
        help="serve kopf's liveness probe at this URL (default: %(default)s; 'none' disables it)",
    )
    parser.add_argument(
        "--metrics-host",
        default=defaults.metrics_host,
        help="address for Prometheus metrics (default: %(default)s)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=defaults.metrics_port,
        metavar="N",
        help="serve Prometheus metrics on this port; 0 disables them (default: %(default)s)",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json", "full"],
        default=defaults.log_format,
        help="log line format (default: %(default)s)",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", default=defaults.verbose, help="debug logging"
    )
    budget = parser.add_argument_group(
        "Azure request budget",
        "Shared by every resource of one subscription at one endpoint: it keeps a fleet from "
        "getting a subscription throttled, and it is what sets a large fleet's convergence time.",
    )
    budget.add_argument(
        "--azure-requests-per-second",
        type=cliargs.positive_float,
        default=defaults.azure_requests_per_second,
        metavar="R",
        help="sustained request starts per second per subscription (default: %(default)s)",
    )
    budget.add_argument(
        "--azure-burst",
        type=cliargs.positive_int,
        default=defaults.azure_burst,
        metavar="N",
        help="request starts allowed back to back after a quiet period (default: %(default)s)",
    )
    budget.add_argument(
        "--azure-max-concurrency",
        type=cliargs.positive_int,
        default=defaults.azure_max_concurrency,
        metavar="N",
        help="requests in flight at once per subscription (default: %(default)s)",
    )
    parser.add_argument(
        "--peering",
        default=None,
        metavar="NAME",
        help="coordinate with other replicas through this kopf peering object (default: standalone)",
    )
    return parser


def run_arguments(argv: Sequence[str]) -> dict[str, Any]:
    """The keyword arguments of `operator.run_operator` for `cloudservice-operator run ARGV`."""
    from controller.azure.limits import LimitSettings

    args = _run_parser().parse_args(list(argv))
    return {
        "namespaces": list(args.namespaces),
        "all_namespaces": args.all_namespaces or not args.namespaces,
        "liveness": None if args.liveness in ("", "none") else args.liveness,
        "metrics_host": args.metrics_host,
        "metrics_port": args.metrics_port or None,
        "log_format": args.log_format,
        "verbose": args.verbose,
        "peering": args.peering,
        "azure_limits": LimitSettings(
            max_concurrency=args.azure_max_concurrency,
            rate=args.azure_requests_per_second,
            burst=args.azure_burst,
        ),
    }


def _run(argv: Sequence[str]) -> int:
    arguments = run_arguments(argv)
    from controller.handlers import operator

    return operator.run_operator(**arguments)


def _emulator(argv: Sequence[str]) -> int:
    from controller.emulator import cli

    return cli.main(list(argv))


def _sandbox(argv: Sequence[str]) -> int:
    from controller.sandbox import cli

    return cli.main(list(argv))


def _usage() -> str:
    lines = ["usage: cloudservice-operator {run,emulator,sandbox} [options]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, text in COMMANDS.items()]
    lines += ["", "Run 'cloudservice-operator COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a command; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    handlers = {"run": _run, "emulator": _emulator, "sandbox": _sandbox}
    if command not in handlers:
        print(f"cloudservice-operator: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        return handlers[command](rest)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
