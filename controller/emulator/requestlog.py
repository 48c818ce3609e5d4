"""The log of every mutating request the emulator received, and how it was answered.

This is what tests use to prove exactly-once behaviour ("the controller issued one upgrade, not
two"), so it records requests that were rejected, faulted or dropped as well as accepted ones.
Read-only requests (GETs) are not logged: an operator polls them constantly.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from collections.abc import Callable, Mapping

from controller.emulator.clock import timestamp

MAX_ENTRIES = 10_000


@dataclasses.dataclass(frozen=True)
class RequestEntry:
    """One mutating request and its outcome."""

    sequence: int
    time: float
    method: str
    path: str
    query: str
    operation: str | None
    subscription_id: str
    aliases: frozenset[str]
    request_id: str
    status: int | None  # None when the connection was dropped before any answer
    error_code: str | None
    fault: str | None
    thumbprint: str | None

    def to_json(self) -> dict[str, object]:
        return {
            "sequence": self.sequence,
            "time": timestamp(self.time),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "operation": self.operation,
            "subscriptionId": self.subscription_id,
            "requestId": self.request_id,
            "status": self.status,
            "errorCode": self.error_code,
            "fault": self.fault,
            "thumbprint": self.thumbprint,
        }


class RequestLog:
    """The latest mutating requests, oldest first."""

    def __init__(self) -> None:
        self._entries: deque[RequestEntry] = deque(maxlen=MAX_ENTRIES)
        self._sequence = itertools.count(1)

    def add(self, draft: RequestEntry) -> RequestEntry:
        """Append an entry, numbering it (the draft's sequence is ignored)."""
        entry = dataclasses.replace(draft, sequence=next(self._sequence))
        self._entries.append(entry)
        return entry

    def entries(self, filters: Mapping[str, str]) -> list[RequestEntry]:
        """Entries matching every given filter: operation, method, target, status, code, fault, since."""
        return [entry for entry in self._entries if _matches(entry, filters)]

    def clear(self) -> None:
        self._entries.clear()


def _matches(entry: RequestEntry, filters: Mapping[str, str]) -> bool:
    checks: dict[str, Callable[[str], bool]] = {
        "operation": lambda value: (entry.operation or "").lower() == value.lower(),
        "method": lambda value: entry.method.upper() == value.upper(),
        "target": lambda value: value.lower() in entry.aliases,
        "status": lambda value: str(entry.status) == value,
        "code": lambda value: (entry.error_code or "").lower() == value.lower(),
        "fault": lambda value: (entry.fault or "") == value,
        "since": lambda value: value.isdigit() and entry.sequence > int(value),
    }
    return all(checks[name](value) for name, value in filters.items() if name in checks)
