"""Per (endpoint, subscription) limits: token bucket, in-flight semaphore, shared hold-off.

Virtual time (looptime): `looptime` reads the loop clock, and every wait is instant in real time.
"""

from __future__ import annotations

import asyncio

import pytest

from controller.azure import limits, wire
from controller.azure.refs import DeploymentRef
from tests.azure_fixtures import FakeService, error, make_client, xml

pytestmark = pytest.mark.looptime

REF = DeploymentRef(service="contoso-web", slot="Production")
DEPLOYMENT = wire.Deployment(name="d", deployment_slot="Production", status="Running")


async def test_bucket_allows_a_burst_then_the_sustained_rate() -> None:
    bucket = limits.TokenBucket(rate=2.0, burst=3)
    loop = asyncio.get_running_loop()
    started: list[float] = []

    for _ in range(7):
        await bucket.take()
        started.append(loop.time())

    assert started == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0])


async def test_bucket_refills_while_idle_up_to_the_burst(looptime: float) -> None:
    bucket = limits.TokenBucket(rate=1.0, burst=2)
    for _ in range(2):
        await bucket.take()

    await asyncio.sleep(100)
    for _ in range(3):
        await bucket.take()

    assert looptime == pytest.approx(101.0)  # two free tokens, then one second for the third


async def test_hold_off_pauses_then_resumes_without_a_burst() -> None:
    bucket = limits.TokenBucket(rate=1.0, burst=5)
    loop = asyncio.get_running_loop()

    bucket.hold_off(10.0)
    await bucket.take()
    first = loop.time()
    await bucket.take()

    assert first == pytest.approx(10.0)  # exactly when the pause ends
    assert loop.time() == pytest.approx(11.0)  # then the sustained rate: nothing accrued while held


async def test_waiters_are_served_in_arrival_order() -> None:
    bucket = limits.TokenBucket(rate=1.0, burst=1)
    order: list[int] = []

    async def take(number: int) -> None:
        await bucket.take()
        order.append(number)

    await asyncio.gather(*(take(number) for number in range(5)))

    assert order == [0, 1, 2, 3, 4]


async def test_semaphore_bounds_requests_in_flight(looptime: float) -> None:
    endpoint = limits.EndpointLimits(limits.LimitSettings(max_concurrency=2, rate=1000.0, burst=1000))
    in_flight = 0
    peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        async with endpoint.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(1.0)
            in_flight -= 1

    await asyncio.gather(*(request() for _ in range(5)))

    assert peak == 2
    assert looptime == pytest.approx(3.0)


def test_registry_shares_limits_per_endpoint_and_subscription() -> None:
    registry = limits.LimitsRegistry()

    first = registry.for_endpoint("https://management.core.windows.net/", "SUB-A")
    same = registry.for_endpoint("https://MANAGEMENT.core.windows.net", "sub-a")
    other = registry.for_endpoint("https://management.core.windows.net", "sub-b")

    assert first is same
    assert first is not other


@pytest.mark.parametrize("settings", [{"max_concurrency": 0}, {"rate": 0.0}, {"burst": 0}])
def test_limit_settings_must_be_positive(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        limits.LimitSettings(**settings)  # type: ignore[arg-type]


async def test_clients_of_one_registry_share_the_rate() -> None:
    registry = limits.LimitsRegistry(limits.LimitSettings(rate=1.0, burst=1))
    service = FakeService([xml(DEPLOYMENT)])
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async with (
        make_client(service, registry=registry) as first,
        make_client(service, registry=registry) as second,
    ):
        for azure in (first, second, first, second):
            await azure.get_deployment(ref=REF)
            times.append(loop.time())

    assert times == pytest.approx([0.0, 1.0, 2.0, 3.0])


async def test_clients_without_a_shared_registry_do_not_wait_for_each_other() -> None:
    service = FakeService([xml(DEPLOYMENT)])
    loop = asyncio.get_running_loop()

    async with make_client(service) as first, make_client(service) as second:
        await first.get_deployment(ref=REF)
        await second.get_deployment(ref=REF)

    assert loop.time() == 0.0


async def test_a_throttled_answer_holds_off_every_client_of_the_subscription() -> None:
    registry = limits.LimitsRegistry(limits.LimitSettings(rate=100.0, burst=100))
    throttled = FakeService([error(429, "TooManyRequests", headers={"Retry-After": "30"}), xml(DEPLOYMENT)])
    bystander = FakeService([xml(DEPLOYMENT)])
    loop = asyncio.get_running_loop()

    async with (
        make_client(throttled, registry=registry) as first,
        make_client(bystander, registry=registry) as second,
    ):
        retrying = asyncio.create_task(first.get_deployment(ref=REF))
        await asyncio.sleep(1.0)  # the 429 has arrived and the retry is waiting
        await second.get_deployment(ref=REF)
        bystander_done = loop.time()
        await retrying

    assert bystander_done >= 30.0
    assert len(throttled.requests) == 2
