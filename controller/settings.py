"""The one place that reads the environment.

Command-line flags win; these variables give deployments (a container's `env:`) a way to set the
same defaults without editing args. Nothing else in the package reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class OperatorSettings:
    """Defaults of `cloudservice-operator run`."""

    liveness: str = "http://0.0.0.0:8080/healthz"
    metrics_host: str = "0.0.0.0"  # noqa: S104 - metrics are scraped from outside the pod
    metrics_port: int = 9090
    log_format: str = "text"
    verbose: bool = False
    # The Azure client's per-subscription budget (controller.azure.limits.LimitSettings defaults).
    azure_requests_per_second: float = 5.0
    azure_burst: int = 10
    azure_max_concurrency: int = 8

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> OperatorSettings:
        """Defaults overridden by `CSO_LIVENESS`, `CSO_METRICS_HOST`, `CSO_METRICS_PORT`,
        `CSO_LOG_FORMAT`, `CSO_VERBOSE`, `CSO_AZURE_REQUESTS_PER_SECOND`, `CSO_AZURE_BURST`,
        `CSO_AZURE_MAX_CONCURRENCY`."""
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            liveness=env.get("CSO_LIVENESS", base.liveness),
            metrics_host=env.get("CSO_METRICS_HOST", base.metrics_host),
            metrics_port=int(env.get("CSO_METRICS_PORT", str(base.metrics_port))),
            log_format=env.get("CSO_LOG_FORMAT", base.log_format),
            verbose=env.get("CSO_VERBOSE", "").strip().lower() in _TRUE or base.verbose,
            azure_requests_per_second=float(
                env.get("CSO_AZURE_REQUESTS_PER_SECOND", str(base.azure_requests_per_second))
            ),
            azure_burst=int(env.get("CSO_AZURE_BURST", str(base.azure_burst))),
            azure_max_concurrency=int(env.get("CSO_AZURE_MAX_CONCURRENCY", str(base.azure_max_concurrency))),
        )
