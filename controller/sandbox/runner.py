"""The outer shell of a sandbox run: examples, state directory, log file, signals, outcome.

Everything runs for real in this one process: an emulated API server that validates resources
with the CRD's schema, the HTTPS Service Management emulator with its management certificates,
and the controller (kopf) talking to both exactly as it would in a cluster. Only the edges are
emulated; the product in the middle is the one users install. `session` starts and stops those
pieces; this module gives the session what it runs in and turns a signal into a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from controller.sandbox import examples, session, signals
from controller.sandbox.options import LOG_FILE, Options, Outcome, RunResult, SandboxError

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator[None]:
    # kopf, aiohttp and our own modules log a lot; on screen that would bury the table, so every
    # record goes to a file the user can open (its path is printed).
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()


def _state_dir(requested: Path | None) -> tuple[Path, bool]:
    """The state directory and whether the sandbox created it (and may remove it)."""
    if requested is None:
        return Path(tempfile.mkdtemp(prefix="cso-sandbox-")), True
    try:
        requested.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SandboxError(f"cannot use {requested} as the state directory: {error}") from error
    return requested.resolve(), False


async def run(options: Options, console: Console) -> RunResult:
    """The whole sandbox run; raises SandboxError when it cannot run at all."""
    try:
        manifests = examples.load(options.examples_dir)
    except examples.ExamplesError as error:
        raise SandboxError(f"{error} (see --examples)") from error
    stopper = signals.Stopper()
    stopper.install()
    state_dir, owned = _state_dir(options.state_dir)
    result = RunResult(Outcome.FAILED, "the sandbox stopped before the scenario ended")
    running = session.Session(options, console, state_dir, manifests)
    try:
        with _log_to(state_dir / LOG_FILE):
            result = await running.run()
    except asyncio.CancelledError:
        if not stopper.interrupted:
            raise
        console.print(
            f"{stopper.signal_name} received: everything the sandbox started is stopped.", markup=False
        )
        result = running.result or RunResult(Outcome.INTERRUPTED, f"{stopper.signal_name} received")
    except examples.ExamplesError as error:
        raise SandboxError(str(error)) from error
    finally:
        stopper.uninstall()
        if owned and result.outcome is not Outcome.FAILED:
            shutil.rmtree(state_dir, ignore_errors=True)
        elif owned:
            console.print(
                f"The state directory is kept for inspection: {state_dir} (log: {LOG_FILE})", markup=False
            )
    return result
