"""Run the controller: `cloudservice-operator run`, or in-process for tests and the sandbox.

`run_operator` is the CLI entry (logging, then kopf until a signal); `run_operator_async` runs
the same controller inside an existing event loop with an explicit login and a stop event. Both
build their own kopf registry (not kopf's global one), so several controllers can be created in
one process, one after another or side by side.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import kopf

from controller.azure import redaction
from controller.handlers import lifecycle, resources
from controller.handlers.options import ControllerOptions

LOG_FORMATS = {"text": kopf.LogFormat.FULL, "full": kopf.LogFormat.FULL, "json": kopf.LogFormat.JSON}


def build_registry(options: ControllerOptions) -> kopf.OperatorRegistry:
    """A kopf registry with this controller's handlers (and none of kopf's implicit logins)."""
    registry = kopf.OperatorRegistry()
    lifecycle.register(registry, options)
    resources.register(registry, options)
    return registry


async def run_operator_async(
    options: ControllerOptions,
    *,
    stop: asyncio.Event | threading.Event | None = None,
    ready: asyncio.Event | threading.Event | None = None,
    memo: kopf.Memo | None = None,
    settings: kopf.OperatorSettings | None = None,
) -> None:
    """Run the controller in this event loop until `stop` is set (or the task is cancelled).

    `memo` (optional) is the operator-wide memo: after startup it holds `runtime` and `metrics`,
    which tests read. `settings` (optional) are kopf's base settings (tests tune them for speed);
    the controller's own settings are applied on top at startup. `stop`/`ready` may also be
    `threading.Event`s, for a controller running in a thread of its own.
    """
    await kopf.operator(
        registry=build_registry(options),
        settings=settings or kopf.OperatorSettings(),
        standalone=options.standalone and options.peering is None,
        peering_name=options.peering,
        clusterwide=options.all_namespaces and not options.namespaces,
        namespaces=list(options.namespaces),
        liveness_endpoint=options.liveness,
        stop_flag=stop,
        ready_flag=ready,
        memo=memo if memo is not None else kopf.Memo(),
    )


def run_operator(
    namespaces: list[str],
    all_namespaces: bool,
    liveness: str | None,
    metrics_host: str,
    metrics_port: int | None,
    log_format: str,
    verbose: bool,
    standalone: bool = True,
    peering: str | None = None,
    **extra: Any,
) -> int:
    """`cloudservice-operator run`: the controller against the cluster of the kubeconfig or pod."""
    configure_logging(log_format=log_format, verbose=verbose)
    options = ControllerOptions(
        namespaces=tuple(namespaces),
        all_namespaces=all_namespaces or not namespaces,
        liveness=liveness,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        standalone=standalone and peering is None,
        peering=peering,
        **extra,
    )
    try:
        asyncio.run(run_operator_async(options))
    except kopf.LoginError as exc:
        logging.getLogger(__name__).error("cannot log in to Kubernetes: %s", exc)
        return 1
    return 0


def configure_logging(*, log_format: str, verbose: bool) -> None:
    """kopf's log formats, plus a redaction filter on every handler as a last line of defence."""
    kopf.configure(
        verbose=verbose, log_format=LOG_FORMATS.get(log_format, kopf.LogFormat.FULL), log_prefix=True
    )
    redacting = RedactingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)


class RedactingFilter(logging.Filter):
    """Rewrites every record's message with `redact_text` (SAS signatures, PEM blocks, keys)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redaction.redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
