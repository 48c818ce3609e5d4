"""Operator-wide kopf handlers: login, startup (settings, clients on the memo), probes, cleanup.

Clients live on kopf's memo, built at startup and closed at cleanup: no module globals, so two
controllers can run in one process (tests) and every connection is closed on exit.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from controller import metrics as metrics_module
from controller.azure import limits
from controller.handlers import login, settings
from controller.handlers.eventsink import KopfEventSink
from controller.handlers.options import ControllerOptions
from controller.reconcile import kube, reconciler
from controller.reconcile.clients import ClientPool

logger = logging.getLogger(__name__)


def register(registry: kopf.OperatorRegistry, options: ControllerOptions) -> None:
    """Register the activity handlers on `registry`."""

    @kopf.on.login(registry=registry, id="login")
    def log_in(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo:
        return login.login(settings, options.login)

    @kopf.on.startup(registry=registry, id="startup")
    async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        configure_settings(settings)
        metrics = memo.get("metrics") or metrics_module.Metrics()
        pool_options: dict[str, Any] = {
            "observer": metrics,
            "limits_registry": limits.LimitsRegistry(options.azure_limits),
        }
        if options.client_factory is not None:
            pool_options["factory"] = options.client_factory
        memo.metrics = metrics
        memo.runtime = reconciler.Runtime(
            kube=kube.KubeClient(login.connector(settings, options.login)),
            clients=ClientPool(**pool_options),
            events=KopfEventSink(),
            metrics=metrics,
            config=options.reconcile,
        )
        if options.metrics_port is not None:
            memo.metrics_server, _thread = metrics_module.serve(
                metrics, host=options.metrics_host, port=options.metrics_port
            )
            logger.info("serving metrics on %s:%d", options.metrics_host, options.metrics_port)

    def configure_settings(kopf_settings: kopf.OperatorSettings) -> None:
        settings.configure(kopf_settings, options)

    @kopf.on.probe(registry=registry, id="resources")
    def probe(memo: kopf.Memo, **_: Any) -> dict[str, float]:
        metrics: metrics_module.Metrics | None = memo.get("metrics")
        if metrics is None:
            return {}
        return {phase: metrics.value("cso_resources", phase=phase) for phase in metrics_module.PHASES}

    @kopf.on.cleanup(registry=registry, id="cleanup")
    async def cleanup(memo: kopf.Memo, **_: Any) -> None:
        server = memo.get("metrics_server")
        if server is not None:
            server.shutdown()
            server.server_close()
        runtime: reconciler.Runtime | None = memo.get("runtime")
        if runtime is not None:
            await runtime.clients.aclose()
            await runtime.kube.aclose()
