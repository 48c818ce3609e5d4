"""When a failed request is sent again, and how long to wait first.

`errors.CLASSIFICATION` says what an answer means; this module decides what to do about it, and
the difference between reads and writes lives here and nowhere else:

| failure                                              | read (GET)      | mutating (POST)         |
|------------------------------------------------------|-----------------|-------------------------|
| `TransportError` (never sent, or a read)             | re-send         | re-send                 |
| `OutcomeUnknownError` (sent, no answer)              | —               | raise: caller finds out |
| 429 `ThrottledError`, 503 ServerBusy, 408            | re-send         | re-send                 |
| 500 InternalError/OperationTimedOut, 502, 504, 5xx   | re-send         | raise `OutcomeUnknown`  |
| 409 `ConflictError`                                  | raise (wait)    | raise (wait)            |
| 404 / 403 / other 4xx                                | raise           | raise                   |

Why 500 is not re-sent for a mutating call although §11 calls InternalError retryable: the
service registers an asynchronous operation and only then answers 202, and a 500 can be produced
after that point (OperationTimedOut literally says the request ran out of time *while being
processed*; 502/504 come from a gateway that may have forwarded it). A second Upgrade restarts
the rollout (it behaves like rollback-then-apply), a second Reimage reimages twice — so the call
becomes `OutcomeUnknownError` and the controller looks the operation up, which costs one List
Subscription Operations call. 429, 503 and 408 are refusals by design: the front end turns
the request away before it does any work, so sending it again cannot duplicate anything.

Waits use exponential backoff with full jitter (uniform in `[0, min(max_delay, base * 2**n)]`,
which spreads a fleet's retries instead of synchronising them), never shorter than a
`Retry-After` the service sent, and bounded both in attempts and in total time.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import enum
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from controller.azure import errors

logger = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# Answers that mean "turned away before any work": re-sending a mutating call is safe.
REFUSAL_STATUSES = frozenset({408, 429, 503})


class Verdict(enum.Enum):
    """What to do with a failed attempt."""

    RESEND = "resend"
    RAISE = "raise"
    OUTCOME_UNKNOWN = "outcome-unknown"


def judge(error: errors.AzureError, *, mutating: bool) -> Verdict:
    """The table in the module docstring, as code."""
    if isinstance(error, errors.TransportError):
        return Verdict.RESEND
    if isinstance(error, errors.RetryableError):
        if not mutating or error.status in REFUSAL_STATUSES:
            return Verdict.RESEND
        return Verdict.OUTCOME_UNKNOWN
    return Verdict.RAISE


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry loop of one call (every attempt also passes the endpoint limits)."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_elapsed: float = 120.0  # stop retrying when the next wait would end after this
    max_retry_after: float = 120.0  # a Retry-After longer than this is not waited for in-call

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff before retry number `retry_number` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, retry_number - 1))
        return rng.uniform(0.0, ceiling)

    def delay(self, error: errors.AzureError, retry_number: int, rng: random.Random) -> float | None:
        """How long to wait before the retry, or None when the service asked for too long a pause."""
        jittered = self.backoff(retry_number, rng)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is None:
            return jittered
        if retry_after > self.max_retry_after:
            return None
        return max(float(retry_after), jittered)


@dataclass(frozen=True)
class Retrier:
    """Runs one logical call's attempts under a policy; time and randomness are injectable."""

    policy: RetryPolicy
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)  # jitter only; tests pass a seeded one
    clock: Clock | None = None  # default: the running loop's clock (virtual under looptime)

    async def run(self, attempt: Callable[[], Awaitable[T]], *, mutating: bool, describe: str) -> T:
        """Call `attempt` until it returns, re-sending only what `judge` allows."""
        clock = self.clock or asyncio.get_running_loop().time
        started = clock()
        for number in range(1, self.policy.max_attempts + 1):
            try:
                return await attempt()
            except errors.AzureError as error:
                delay = self._next_delay(error, number, clock() - started, mutating=mutating)
                logger.info("%s: attempt %d failed (%s); retrying in %.2fs", describe, number, error, delay)
                await self.sleep(delay)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    def _next_delay(self, error: errors.AzureError, number: int, elapsed: float, *, mutating: bool) -> float:
        verdict = judge(error, mutating=mutating)
        if verdict is Verdict.OUTCOME_UNKNOWN:
            assert isinstance(error, errors.ApiError)
            raise errors.OutcomeUnknownError(
                f"HTTP {error.status} {error.code or '-'}: {error.message}",
                operation=error.operation,
                target=error.target,
                request_id=error.request_id,
            ) from error
        if verdict is Verdict.RAISE or number >= self.policy.max_attempts:
            raise error
        delay = self.policy.delay(error, number, self.rng)
        if delay is None or elapsed + delay > self.policy.max_elapsed:
            raise error
        return delay


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return max(0.0, (moment - datetime.datetime.now(datetime.UTC)).total_seconds())
