"""The kopf edge's pieces that are plain code: the per-object schedule and the digest diff base."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import kopf

from controller.handlers import diffbase, sync
from controller.metrics import PHASES, Metrics


class Stopper:
    """Stands in for kopf's daemon stopper."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    async def wait(self) -> None:
        await self.event.wait()


async def test_a_kick_wakes_the_schedule_at_once() -> None:
    loop = asyncio.get_running_loop()
    schedule = sync.Schedule(due=loop.time() + 3600)
    stopper = Stopper()
    waiter = asyncio.create_task(schedule.wait(stopper))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    schedule.kick()
    await asyncio.wait_for(waiter, 1)


async def test_a_kick_during_a_pass_means_another_pass_right_after() -> None:
    loop = asyncio.get_running_loop()
    schedule = sync.Schedule(due=loop.time())
    schedule.kick()  # arrives while a pass runs
    schedule.after(300)
    assert schedule.due <= loop.time()
    schedule.after(300)  # no kick this time
    assert schedule.due > loop.time() + 299


async def test_stopping_ends_the_wait() -> None:
    schedule = sync.Schedule(due=asyncio.get_running_loop().time() + 3600)
    stopper = Stopper()
    waiter = asyncio.create_task(schedule.wait(stopper))
    stopper.event.set()
    await asyncio.wait_for(waiter, 1)


async def test_a_new_schedule_is_spread_and_remembered_in_the_memo() -> None:
    memo = kopf.Memo()
    first = sync.schedule_of(memo, spread=10)
    assert sync.schedule_of(memo) is first
    assert first.due <= asyncio.get_running_loop().time() + 10


def test_the_diff_base_is_a_digest_of_the_essence_not_the_spec() -> None:
    storage = diffbase.DigestDiffBaseStorage()
    body: dict[str, Any] = {
        "metadata": {"name": "web", "annotations": {"classic.cloudservices.io/confirm-not-issued": "i1"}},
        "spec": {"package": {"url": "https://a/p?sig=SECRET"}},
        "status": {"phase": "Ready"},
    }
    essence = storage.build(body=kopf.Body(body))  # type: ignore[arg-type]
    assert set(essence) == {"spec"}
    assert "SECRET" not in json.dumps(essence)
    changed = storage.build(body=kopf.Body({**body, "spec": {"package": {"url": "https://a/q"}}}))  # type: ignore[arg-type]
    assert changed != essence
    status_only = storage.build(body=kopf.Body({**body, "status": {"phase": "Failed"}}))  # type: ignore[arg-type]
    assert status_only == essence
    annotated = {
        **body,
        "metadata": {"name": "web", "annotations": {"classic.cloudservices.io/confirm-not-issued": "i2"}},
    }
    assert storage.build(body=kopf.Body(annotated)) != essence  # type: ignore[arg-type]  # the escape hatch wakes it


def test_metrics_count_phases_per_resource() -> None:
    metrics = Metrics()
    metrics.set_phase("shop/a", "Ready")
    metrics.set_phase("shop/b", "Ready")
    metrics.set_phase("shop/b", "Upgrading")
    assert metrics.value("cso_resources", phase="Ready") == 1
    assert metrics.value("cso_resources", phase="Upgrading") == 1
    metrics.set_phase("shop/a", None)
    assert metrics.value("cso_resources", phase="Ready") == 0
    assert set(PHASES) >= {"Ready", "Failed"}
    metrics.on_request("GetDeployment", "success", 200, 0.01)
    assert metrics.value("cso_azure_requests_total", operation="GetDeployment", outcome="success") == 1
