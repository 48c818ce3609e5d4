"""How the controller reaches the Kubernetes API: kopf's login, shared with the reconcile client.

kopf logs in with its login handlers; the reconcile loop has its own small client (it must
write status mid-pass), and builds its connection from the same `kopf.ConnectionInfo`: the
standard kubeconfig or in-cluster service account, or an explicit override (tests, sandbox).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from controller.reconcile import kube

logger = logging.getLogger(__name__)

# In-cluster first, then the kubeconfig; pykube and the official client when installed.
_CHAIN = (
    kopf.login_via_pykube,
    kopf.login_via_client,
    kopf.login_with_service_account,
    kopf.login_with_kubeconfig,
)


def login(settings: kopf.OperatorSettings, override: kopf.ConnectionInfo | None) -> kopf.ConnectionInfo:
    """The connection to use: the override, or the first login method that applies."""
    if override is not None:
        return override
    for method in _CHAIN:
        info: Any = method(logger=logger, settings=settings)
        if info is not None:
            return info  # type: ignore[no-any-return]
    raise kopf.LoginError("no Kubernetes credentials: neither in-cluster nor a kubeconfig")


def connection(info: kopf.ConnectionInfo) -> kube.KubeConnection:
    """The reconcile client's connection from kopf's."""
    secure = info.server.lower().startswith("https://")
    return kube.KubeConnection(
        server=info.server,
        headers=info.as_http_headers(),
        ssl_context=info.as_ssl_context() if secure else None,
    )


def connector(
    settings: kopf.OperatorSettings, override: kopf.ConnectionInfo | None
) -> Callable[[], Awaitable[kube.KubeConnection]]:
    """A connector for `kube.KubeClient` (called again after a 401, for rotated tokens)."""

    async def connect() -> kube.KubeConnection:
        return connection(login(settings, override))

    return connect
