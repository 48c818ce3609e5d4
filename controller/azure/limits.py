"""Concurrency and request-rate limits per (endpoint, subscription), shared by all clients.

Throttling in the Service Management API is per subscription, and one operator may drive many
deployments of the same subscription, each through its own client (they may use different
certificates). So limits are not a property of one client: a `LimitsRegistry`, built once by the
composition root (kopf's `memo` in the controller, the sandbox, a test), hands out one
`EndpointLimits` per (endpoint, subscription) and every client built with that registry shares
it. There is deliberately no module-level registry: asyncio primitives belong to one event loop,
and explicit sharing keeps tests isolated. A client built without a registry gets a private one.

Each HTTP attempt (first tries, retries, redirects and operation polls alike) takes one slot of
the semaphore (requests in flight) and then one token of the bucket (request starts per second).
A 429 carrying Retry-After calls `hold_off`, which pauses the bucket for every client of that
subscription, so one throttled caller slows the whole fleet instead of each finding out alone.
Clock and sleep default to the running loop's (virtual under looptime) and are injectable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

_EPSILON = 1e-6  # clock arithmetic in floats: "due in a microsecond" counts as due
_MIN_SLEEP = 1e-3


@dataclass(frozen=True)
class LimitSettings:
    """Per (endpoint, subscription): requests in flight, sustained rate and burst."""

    max_concurrency: int = 8
    rate: float = 5.0  # request starts per second, sustained
    burst: int = 10  # request starts allowed back to back after a quiet period

    def __post_init__(self) -> None:
        if self.max_concurrency < 1 or self.rate <= 0 or self.burst < 1:
            raise ValueError("limits must be positive")


class TokenBucket:
    """A token bucket of request starts; waiters are served in arrival order."""

    def __init__(self, *, rate: float, burst: int, clock: Clock | None = None, sleep: Sleep | None = None):
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._updated: float | None = None
        self._held_until = 0.0
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._lock = asyncio.Lock()

    def _now(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            # Nothing accrues while held off: the pause must not turn into a burst afterwards.
            since = max(self._updated, min(self._held_until, now))
            self._tokens = min(self._burst, self._tokens + max(0.0, now - since) * self._rate)
        self._updated = now

    async def take(self) -> None:
        """Wait until a token is available (and any hold-off has passed), then spend it."""
        async with self._lock:
            while True:
                now = self._now()
                self._refill(now)
                wait = self._held_until - now
                if wait <= _EPSILON and self._tokens >= 1.0 - _EPSILON:
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                wait = wait if wait > _EPSILON else (1.0 - self._tokens) / self._rate
                # Never a near-zero sleep: a clock with coarse resolution would not advance.
                await self._sleep(max(wait, _MIN_SLEEP))

    def hold_off(self, seconds: float) -> None:
        """Start no request for `seconds`; then one may go at once, the rest at the sustained rate."""
        now = self._now()
        self._refill(now)
        self._held_until = max(self._held_until, now + seconds)
        self._tokens = min(self._tokens, 1.0)


class EndpointLimits:
    """The limits of one (endpoint, subscription): a semaphore and a token bucket."""

    def __init__(self, settings: LimitSettings, *, clock: Clock | None = None, sleep: Sleep | None = None):
        self.settings = settings
        self._in_flight = asyncio.Semaphore(settings.max_concurrency)
        self.bucket = TokenBucket(rate=settings.rate, burst=settings.burst, clock=clock, sleep=sleep)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one in-flight slot (and spend one token) for the duration of one HTTP attempt."""
        async with self._in_flight:
            await self.bucket.take()
            yield

    def hold_off(self, seconds: float) -> None:
        """The service asked us to stay away (Retry-After): pause every client of this key."""
        self.bucket.hold_off(seconds)


class LimitsRegistry:
    """One `EndpointLimits` per (endpoint, subscription), created on first use."""

    def __init__(
        self, settings: LimitSettings | None = None, *, clock: Clock | None = None, sleep: Sleep | None = None
    ):
        self.settings = settings or LimitSettings()
        self._clock = clock
        self._sleep = sleep
        self._limits: dict[tuple[str, str], EndpointLimits] = {}

    def for_endpoint(self, endpoint: str, subscription_id: str) -> EndpointLimits:
        """The shared limits of `subscription_id` at `endpoint` (case and trailing slash ignored)."""
        key = (endpoint.rstrip("/").lower(), subscription_id.lower())
        limits = self._limits.get(key)
        if limits is None:
            limits = EndpointLimits(self.settings, clock=self._clock, sleep=self._sleep)
            self._limits[key] = limits
        return limits
