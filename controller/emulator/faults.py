"""Fault injection: make chosen requests fail, slow down, or lose their connection.

A rule matches an operation name (`*` for any) and optionally a target (a service name,
`service/slot`, `service/deployment-name`, a deployment name or an instance name) and fires for
`times` matching requests (unlimited when omitted) with probability `rate` (seeded, so runs are
reproducible). The first matching rule that fires decides what happens to the request:

- `error`: answered with `status`, `code`, `message` in the documented error body; not processed.
- `latency`: delayed by `latencySeconds`, then processed normally.
- `drop-before`: the request is received, not processed, and the connection is closed without an
  answer — the client cannot tell this from `drop-after`.
- `drop-after`: the request is received and processed (state changes, an operation is recorded),
  then the connection is closed without an answer: the "outcome unknown" case a careful client
  must resolve (List Subscription Operations, Get Deployment) before re-issuing.

Any rule may also carry `latencySeconds`, applied before its effect. An `error` rule may carry
`retryAfterSeconds`, sent as a `Retry-After` header (how a throttling service asks clients to wait).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from typing import Literal

from controller.emulator import errors

FaultKind = Literal["error", "latency", "drop-before", "drop-after"]
KINDS: tuple[FaultKind, ...] = ("error", "latency", "drop-before", "drop-after")
ANY_OPERATION = "*"


@dataclasses.dataclass
class FaultRule:
    """One fault-injection rule and how often it has fired."""

    id: str
    operation: str
    kind: FaultKind
    target: str | None = None
    status: int = 500
    code: str = "InternalError"
    message: str = "The server encountered an internal error. Please retry the request."
    latency_seconds: float = 0.0
    retry_after_seconds: int | None = None  # sent as Retry-After with an injected error
    times: int | None = None  # remaining firings; None: unlimited
    rate: float = 1.0
    seed: int | None = None
    fired: int = 0
    _random: random.Random = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def matches(self, operation: str, aliases: frozenset[str]) -> bool:
        if self.operation not in (ANY_OPERATION, operation):
            return False
        return self.target is None or self.target.lower() in aliases

    def fire(self) -> bool:
        """Whether the rule fires for a matching request (consuming one of its `times`)."""
        if self.times is not None and self.times <= 0:
            return False
        if self.rate < 1.0 and self._random.random() >= self.rate:
            return False
        self.fired += 1
        if self.times is not None:
            self.times -= 1
        return True

    def error(self) -> errors.EmulatorError:
        retry_after = self.retry_after_seconds
        return errors.InjectedError(self.status, self.code, self.message, retry_after=retry_after)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "operation": self.operation,
            "target": self.target,
            "kind": self.kind,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "latencySeconds": self.latency_seconds,
            "retryAfterSeconds": self.retry_after_seconds,
            "remaining": self.times,
            "rate": self.rate,
            "seed": self.seed,
            "fired": self.fired,
        }


class FaultRegistry:
    """The active rules, in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        return f"fault-{next(self._ids)}"

    def add(self, rule: FaultRule) -> FaultRule:
        self._rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules.clear()

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def pick(self, operation: str, aliases: frozenset[str]) -> FaultRule | None:
        """The first matching rule that fires for this request, if any."""
        for rule in self._rules:
            if rule.matches(operation, aliases) and rule.fire():
                return rule
        return None
