"""Asynchronous operation records: what Get Operation Status and List Subscription Operations read.

Every accepted mutating request gets a record keyed by its request id. A record finishes at most
once (`succeed`/`fail` on a finished record do nothing), so a late or superseded transition can
never turn a Failed operation into a Succeeded one or the reverse.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import OrderedDict
from collections.abc import Iterable

from controller.emulator import errors

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
RESULTS = (IN_PROGRESS, SUCCEEDED, FAILED)
MAX_RECORDS = 20_000  # the service keeps 90 days; a long-running emulator keeps the latest ones


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who issued a request: the subscription, its certificate, its address and the request id."""

    subscription_id: str
    thumbprint: str
    client_ip: str
    request_id: str


@dataclasses.dataclass
class OperationRecord:
    """One asynchronous operation."""

    sequence: int
    id: str
    subscription_id: str
    name: str
    object_id: str
    parameters: tuple[tuple[str, str], ...]
    thumbprint: str
    client_ip: str
    started: float
    status: str = IN_PROGRESS
    completed: float | None = None
    http_status_code: int | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclasses.dataclass(frozen=True)
class OperationQuery:
    """The filters of List Subscription Operations."""

    subscription_id: str
    start: float
    end: float
    object_id: str | None = None
    result: str | None = None
    after_sequence: int = 0
    limit: int = 100


class OperationLog:
    """All operation records, oldest first."""

    def __init__(self) -> None:
        self._records: OrderedDict[str, OperationRecord] = OrderedDict()
        self._sequence = itertools.count(1)

    def start(
        self, caller: Caller, *, name: str, object_id: str, parameters: Iterable[tuple[str, str]], now: float
    ) -> OperationRecord:
        record = OperationRecord(
            sequence=next(self._sequence),
            id=caller.request_id,
            subscription_id=caller.subscription_id,
            name=name,
            object_id=object_id,
            parameters=tuple(parameters),
            thumbprint=caller.thumbprint,
            client_ip=caller.client_ip,
            started=now,
        )
        self._records[record.id] = record
        while len(self._records) > MAX_RECORDS:
            self._records.popitem(last=False)
        return record

    def succeed(self, operation_id: str | None, now: float) -> None:
        record = self._records.get(operation_id or "")
        if record is not None and record.status == IN_PROGRESS:
            record.status, record.completed, record.http_status_code = SUCCEEDED, now, 200

    def fail(self, operation_id: str | None, now: float, error: errors.EmulatorError) -> None:
        record = self._records.get(operation_id or "")
        if record is not None and record.status == IN_PROGRESS:
            record.status, record.completed = FAILED, now
            record.http_status_code = error.http_status
            record.error_code, record.error_message = error.error_code, error.message

    def get(self, subscription_id: str, operation_id: str) -> OperationRecord:
        """A record of the subscription; the dashed form of the id (the body's ID) works too."""
        record = self._records.get(operation_id.replace("-", "").lower())
        if record is None or record.subscription_id.lower() != subscription_id.lower():
            raise errors.ResourceNotFound(f"The operation request ID '{operation_id}' was not found.")
        return record

    def query(self, query: OperationQuery) -> tuple[list[OperationRecord], int | None]:
        """One page of matching records, and the sequence to continue after (None: last page)."""
        matches = [record for record in self._records.values() if _matches(record, query)]
        page = matches[: query.limit]
        more = len(matches) > query.limit
        return page, (page[-1].sequence if more and page else None)

    def all(self) -> list[OperationRecord]:
        return list(self._records.values())

    def clear(self) -> None:
        self._records.clear()


def _matches(record: OperationRecord, query: OperationQuery) -> bool:
    return (
        record.sequence > query.after_sequence
        and record.subscription_id.lower() == query.subscription_id.lower()
        and query.start <= record.started <= query.end
        and (query.object_id is None or record.object_id.lower() == query.object_id.lower().rstrip("/"))
        and (query.result is None or record.status == query.result)
    )
