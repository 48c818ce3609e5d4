"""The controller, run in a thread of the sandbox's process with an event loop of its own.

kopf assumes the event loop is its own: at shutdown it waits for, then cancels, every task
created after it started (the sandbox's watches, its live display, the emulated servers'
connections), and it replaces the loop's SIGINT/SIGTERM handlers. On a loop of its own it
can do both harmlessly, and the controller talks to the emulated Kubernetes API and Azure over
TCP exactly as it would from a pod. kopf leaves signals alone outside the main thread.

This is the sandbox's one contact with kopf itself: the login it is given and its settings.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time

import kopf

from controller.handlers import operator
from controller.handlers.options import ControllerOptions
from controller.reconcile.config import ReconcileConfig

READY_POLL_SECONDS = 0.02


def kopf_settings() -> kopf.OperatorSettings:
    """kopf tuned for an API server on the same machine: react in milliseconds, exit at once."""
    settings = kopf.OperatorSettings()
    settings.networking.request_timeout = 10
    settings.networking.error_backoffs = [0.1, 0.5, 1.0]
    settings.queueing.idle_timeout = 1.0
    settings.queueing.exit_timeout = 1.0
    settings.batching.batch_window = 0.05
    settings.posting.idle_timeout = 0.1
    settings.execution.default_backoff = 0.2
    settings.background.instant_exit_timeout = 0.5
    settings.process.ultimate_exiting_timeout = None  # the sandbox stops it; never SIGKILL the process
    return settings


class ControllerThread:
    """Start, wait until ready, notice an unexpected end, and stop the controller."""

    def __init__(self, *, server: str, namespace: str, reconcile: ReconcileConfig) -> None:
        self._options = ControllerOptions(
            namespaces=(namespace,),
            all_namespaces=False,
            # The emulated API server accepts any token; the controller logs in like any client.
            login=kopf.ConnectionInfo(server=server, scheme="Bearer", token="sandbox"),  # noqa: S106
            reconcile=reconcile,
            resume_spread_seconds=0.0,
            watch_server_timeout=60,
            watch_client_timeout=70.0,
        )
        self._settings = kopf_settings()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._finished: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._main, name="sandbox controller", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(
                operator.run_operator_async(
                    self._options, stop=self._stop, ready=self._ready, settings=self._settings
                )
            )
        except BaseException as error:  # reported to the sandbox's loop, which decides what to say
            self._finished.set_exception(error)
        else:
            self._finished.set_result(None)

    def start(self) -> None:
        self._thread.start()

    async def ready(self, within: float) -> None:
        """Return once kopf is up; RuntimeError if it ended first, TimeoutError if it is too slow."""
        deadline = time.monotonic() + within
        while not self._ready.is_set():  # a threading.Event: polled, it cannot be awaited
            if self._finished.done():
                raise RuntimeError(f"the controller stopped while starting: {self.describe_end()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the controller did not start within {within:.0f}s")
            await asyncio.sleep(READY_POLL_SECONDS)

    async def ended(self) -> None:
        """Return (or raise its error) when the controller stops."""
        await asyncio.shield(asyncio.wrap_future(self._finished))

    def describe_end(self) -> str:
        if not self._finished.done():
            return "still running"
        error = self._finished.exception()
        return f"{type(error).__name__}: {error}" if error is not None else "it exited"

    async def stop(self, within: float) -> bool:
        """Ask kopf to stop and wait for the thread; False if it did not stop in time."""
        self._stop.set()
        if not self._thread.is_alive():
            return True
        await asyncio.to_thread(self._thread.join, within)
        return not self._thread.is_alive()
