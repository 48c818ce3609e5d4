"""Prometheus metrics of the controller, on a registry of its own.

A private `CollectorRegistry` (not prometheus_client's global one) keeps two controllers in one
process (tests, the sandbox) from colliding and keeps library metrics out unless asked for.
The Azure client reports every HTTP attempt through `on_request` (its `RequestObserver` hook);
the reconcile loop reports operations, durations, status writes and phases.

    cso_operations_issued_total{kind}            mutating requests sent to Azure
    cso_operations_succeeded_total{kind}         ... that finished Succeeded
    cso_operations_failed_total{kind}            ... that finished Failed or were refused
    cso_reconcile_duration_seconds{result}       one reconcile pass (histogram)
    cso_resources{phase}                         resources by status.phase
    cso_azure_requests_total{operation,outcome}  HTTP attempts to Service Management
    cso_azure_request_duration_seconds{operation}
    cso_status_patches_total                     status writes to the API server
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

PHASES = (
    "Pending",
    "Ready",
    "Upgrading",
    "WalkingDomains",
    "Reimaging",
    "RollingBack",
    "Failed",
    "Suspended",
    "Observing",
)
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The controller's metrics; one instance per running controller."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.operations_issued = Counter(
            "cso_operations_issued", "Mutating operations sent to Azure.", ["kind"], registry=self.registry
        )
        self.operations_succeeded = Counter(
            "cso_operations_succeeded",
            "Operations that finished Succeeded.",
            ["kind"],
            registry=self.registry,
        )
        self.operations_failed = Counter(
            "cso_operations_failed",
            "Operations that failed or were refused.",
            ["kind"],
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "cso_reconcile_duration_seconds",
            "Duration of one reconcile pass.",
            ["result"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.resources = Gauge("cso_resources", "Resources by phase.", ["phase"], registry=self.registry)
        self.azure_requests = Counter(
            "cso_azure_requests",
            "HTTP attempts to the Service Management API.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.azure_request_duration = Histogram(
            "cso_azure_request_duration_seconds",
            "Latency of HTTP attempts to the Service Management API.",
            ["operation"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.status_patches = Counter(
            "cso_status_patches", "Status writes to the Kubernetes API.", registry=self.registry
        )
        self._phases: dict[str, str] = {}
        self._lock = threading.Lock()
        for phase in PHASES:
            self.resources.labels(phase=phase).set(0)

    # -- the Azure client's RequestObserver hook ---------------------------------------------------

    def on_request(self, operation: str, outcome: str, status: int | None, seconds: float) -> None:
        self.azure_requests.labels(operation=operation, outcome=outcome).inc()
        self.azure_request_duration.labels(operation=operation).observe(seconds)

    # -- the reconcile loop -----------------------------------------------------------------------

    def issued(self, kind: str) -> None:
        self.operations_issued.labels(kind=kind).inc()

    def succeeded(self, kind: str) -> None:
        self.operations_succeeded.labels(kind=kind).inc()

    def failed(self, kind: str) -> None:
        self.operations_failed.labels(kind=kind).inc()

    def reconciled(self, result: str, seconds: float) -> None:
        self.reconcile_duration.labels(result=result).observe(seconds)

    def status_patched(self) -> None:
        self.status_patches.inc()

    def set_phase(self, resource: str, phase: str | None) -> None:
        """Record `resource`'s phase (None: the resource is gone)."""
        with self._lock:
            if phase is None:
                self._phases.pop(resource, None)
            else:
                self._phases[resource] = phase
            counts = Tally(self._phases.values())
            for name in {*PHASES, *counts}:
                self.resources.labels(phase=name).set(counts.get(name, 0))

    def value(self, name: str, **labels: str) -> float:
        """A sample's current value (0 when absent): for tests and the benchmark."""
        found = self.registry.get_sample_value(name, labels)
        return found if found is not None else 0.0


def serve(metrics: Metrics, *, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve `/metrics` on host:port in a daemon thread; shut it down with `server.shutdown()`."""
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    return server, thread
