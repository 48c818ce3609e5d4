"""Following asynchronous operations: polling a request id, and listing what the service did.

Mutating calls answer 202 with a request id; the work happens afterwards and its result is only
visible through Get Operation Status (reference §9). After a crash or an `OutcomeUnknownError`,
List Subscription Operations (§10) is the record of what was taken. These helpers hold the
time-based logic apart from HTTP so it can be tested with plain functions.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable

from controller.azure import errors, wire

TERMINAL_STATUSES = frozenset({wire.SUCCEEDED, wire.FAILED})


async def wait(
    poll: Callable[[], Awaitable[wire.Operation]],
    *,
    request_id: str,
    poll_interval: float,
    timeout: float,  # noqa: ASYNC109 — a polling deadline checked between polls; a poll in flight finishes
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
) -> wire.Operation:
    """Poll until the operation is Succeeded or Failed; `OperationTimeoutError` after `timeout`.

    Anything but the two terminal statuses (InProgress, or a value this code does not know)
    counts as still running: declaring an unknown state finished could start the next step early.
    """
    if poll_interval <= 0 or timeout < 0:
        raise ValueError("poll_interval must be positive and timeout not negative")
    started = clock()
    while True:
        operation = await poll()
        if operation.status in TERMINAL_STATUSES:
            return operation
        remaining = started + timeout - clock()
        if remaining <= 0:
            raise errors.OperationTimeoutError(
                request_id=request_id, waited=clock() - started, last_status=operation.status
            )
        await sleep(min(poll_interval, remaining))


def raise_if_failed(operation: wire.Operation, *, request_id: str) -> wire.Operation:
    """`operation` if it did not fail; otherwise `OperationFailedError` with its code and message."""
    if operation.status != wire.FAILED:
        return operation
    error = operation.error
    raise errors.OperationFailedError(
        request_id=request_id,
        status=operation.http_status_code,
        code=error.code if error else "",
        message=error.message if error else "",
    )


def format_time(moment: datetime.datetime) -> str:
    """A StartTime/EndTime value: UTC, `YYYY-MM-DDThh:mm:ssZ` (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
