"""`cloudservice-operator sandbox`: the command line of the embedded default.

Parses the options, picks the display (live table on a terminal, plain lines otherwise) and
turns every way the run can end into an exit code and one clear sentence: a user of the
sandbox is new to the product and should never be handed a traceback.

Exit codes: 0 the scenario converged as expected; 1 a step did not; 2 bad command line;
3 the sandbox could not start or broke down; 130 interrupted (Ctrl-C / SIGTERM) before the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from controller import cliargs

# The sandbox itself (kopf, the emulators, pydantic models) is imported only once the command line
# is valid: `--help` and usage errors stay instant, and a Ctrl-C while it loads is handled below.

EXIT_OK = 0
EXIT_SCENARIO_FAILED = 1
EXIT_USAGE = 2
EXIT_BROKEN = 3
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cloudservice-operator sandbox",
        description=(
            "Run the operator for real on this machine, with no cluster and no Azure: an emulated"
            " Kubernetes API, the Service Management emulator with sample cloud services, and the"
            " controller, then a guided scenario (upgrade across domains, a reimage, a failing"
            " upgrade rolled back, a GitOps revert)."
        ),
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave everything running after the scenario (kubeconfig, emulator URL, certificates"
        " are printed); stop with Ctrl-C",
    )
    parser.add_argument(
        "--speed",
        type=cliargs.positive_float,
        default=1.0,
        metavar="X",
        help="how much faster than the guided pace the emulated Azure works (default 1: about 40"
        " seconds to watch; 10 runs the scenario in about 10 seconds)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="where the kubeconfig, certificates, admin token and log are written (default: a"
        " temporary directory, removed at exit unless the scenario failed)",
    )
    parser.add_argument(
        "--no-live",
        action="store_true",
        help="print plain progress lines instead of the live table (the default when stdout is not a"
        " terminal)",
    )
    parser.add_argument(
        "--timeout",
        type=cliargs.positive_float,
        metavar="SECONDS",
        help="give up when the scenario has not converged by then (default: 240 s at speed 1, scaled down"
        " with --speed, never below 60 s)",
    )
    parser.add_argument(
        "--examples",
        type=Path,
        default=None,
        metavar="DIR",
        help="the examples to apply (default: deploy/examples/ of this installation)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show Python tracebacks of unexpected errors (for reporting bugs)",
    )
    return parser


def _run(arguments: argparse.Namespace, console: Console, errors: Console) -> int:
    from controller.sandbox import examples, runner
    from controller.sandbox.options import Options, Outcome, SandboxError

    timeout = arguments.timeout if arguments.timeout is not None else max(60.0, 240.0 / arguments.speed)
    options = Options(
        keep=arguments.keep,
        speed=arguments.speed,
        state_dir=arguments.state_dir,
        live=not arguments.no_live and console.is_terminal,
        timeout=timeout,
        examples_dir=arguments.examples or examples.default_directory(),
    )
    try:
        result = asyncio.run(runner.run(options, console))
    except SandboxError as error:
        errors.print(f"sandbox: error: {error}", markup=False)
        return EXIT_BROKEN
    if result.outcome is Outcome.FAILED:
        errors.print(f"sandbox: the scenario did not converge as expected: {result.message}", markup=False)
        return EXIT_SCENARIO_FAILED
    if result.outcome is Outcome.INTERRUPTED:
        errors.print(
            f"sandbox: interrupted ({result.message}); everything it started is stopped.", markup=False
        )
        return EXIT_INTERRUPTED
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox; returns the process exit code."""
    parser = build_parser()
    try:
        arguments = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exit_request:  # --help or a usage error, already printed by argparse
        return int(exit_request.code or 0) if not isinstance(exit_request.code, str) else EXIT_USAGE
    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return _run(arguments, console, errors)
    except KeyboardInterrupt:  # before the sandbox's own signal handling was in place
        errors.print("sandbox: interrupted; everything it started is stopped.", markup=False)
        return EXIT_INTERRUPTED
    except Exception as error:
        if arguments.debug:
            traceback.print_exc()
        hint = "" if arguments.debug else " (run with --debug to see the traceback)"
        errors.print(f"sandbox: unexpected error: {type(error).__name__}: {error}{hint}", markup=False)
        return EXIT_BROKEN
