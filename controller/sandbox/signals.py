"""Ctrl-C and SIGTERM for the sandbox: stop everything it started, in order, at any moment."""

from __future__ import annotations

import asyncio
import contextlib
import signal


class Stopper:
    """Turns the first SIGINT/SIGTERM into a cancellation of the sandbox's main task.

    Cancelling (rather than setting a flag) interrupts whatever the sandbox awaits at that
    moment, starting or running, and unwinds every context in order, so each piece is stopped
    by the code that started it. Later signals are ignored: the shutdown has bounded timeouts.
    """

    def __init__(self) -> None:
        self.signal_name = ""
        self._task: asyncio.Task[object] | None = None

    @property
    def interrupted(self) -> bool:
        return bool(self.signal_name)

    def install(self) -> None:
        self._task = asyncio.current_task() or self._task
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._received, sig)

    def uninstall(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)

    def _received(self, sig: signal.Signals) -> None:
        if self.signal_name:
            return
        self.signal_name = sig.name
        if self._task is not None:
            self._task.cancel()
