"""The kopf edge for CloudServiceDeployment objects: thin handlers around one sync loop.

create/update/resume only kick the object's sync loop (a kopf daemon), which runs the one
reconcile function whenever the object is due. Nothing here decides anything.
"""

from __future__ import annotations

import random
from typing import Any

import kopf

from controller.handlers import sync
from controller.handlers.options import ControllerOptions
from controller.reconcile import kube, reconciler

RESOURCE = (kube.GROUP, kube.VERSION, kube.PLURAL)


def register(registry: kopf.OperatorRegistry, options: ControllerOptions) -> None:
    """Register the resource handlers on `registry`."""
    rng = random.Random()

    @kopf.on.create(*RESOURCE, registry=registry, id="kick")
    @kopf.on.update(*RESOURCE, registry=registry, id="kick")
    async def kick(memo: kopf.Memo, **_: Any) -> None:
        """A new or changed spec (or annotation): reconcile now."""
        sync.schedule_of(memo).kick()

    @kopf.on.resume(*RESOURCE, registry=registry, id="resume")
    async def resume(memo: kopf.Memo, **_: Any) -> None:
        """Seen again after a restart: reconcile soon (spread over the fleet)."""
        sync.schedule_of(memo, spread=options.resume_spread_seconds, rng=rng).kick(
            delay=rng.uniform(0, options.resume_spread_seconds)
        )

    # On stop, a pass in progress gets `cancellation_backoff` seconds to finish before it is
    # cancelled: cancelling is safe (an intent without an answer is recovered), finishing is cheaper.
    @kopf.daemon(*RESOURCE, registry=registry, id="sync", cancellation_backoff=2.0, cancellation_timeout=10.0)
    async def sync_loop(
        memo: kopf.Memo, namespace: str | None, name: str, stopped: kopf.DaemonStopped, **_: Any
    ) -> None:
        """Reconcile whenever due, until the object goes or the operator stops."""
        runtime: reconciler.Runtime = memo.runtime
        schedule = sync.schedule_of(memo, spread=options.resume_spread_seconds, rng=rng)
        await sync.run(runtime, kube.ObjectRef(namespace or "", name), schedule, stopped, rng=rng)
