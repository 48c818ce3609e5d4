"""Everything the controller is started with (CLI flags, or a test's choices), in one value."""

from __future__ import annotations

from dataclasses import dataclass, field

import kopf

from controller.azure.limits import LimitSettings
from controller.reconcile.clients import Factory
from controller.reconcile.config import ReconcileConfig


@dataclass(frozen=True)
class ControllerOptions:
    """How to run: what to watch, where to serve probes and metrics, how fast to go."""

    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = True
    liveness: str | None = None
    metrics_host: str = "0.0.0.0"  # noqa: S104 - scraped from outside the pod
    metrics_port: int | None = None
    standalone: bool = True
    peering: str | None = None
    login: kopf.ConnectionInfo | None = None  # None: kubeconfig or in-cluster
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)
    resume_spread_seconds: float = 5.0  # spread the first passes after a restart over this long
    watch_server_timeout: int = 300  # ask the API server to end each watch after this long
    watch_client_timeout: float = 330.0  # and give up on a silent watch stream after this long
    client_factory: Factory | None = None  # tests: how Azure clients are built
    # Requests to Azure per (endpoint, subscription), shared by every resource: the client's
    # defaults (8 in flight, 5 starts/s) protect a subscription from throttling; a large fleet in
    # one subscription converges at that rate (see tests/benchmarks/bench_fleet.py).
    azure_limits: LimitSettings | None = None
