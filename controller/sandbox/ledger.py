"""Accounting of the management operations the controller issued, from the emulator's request log.

The sandbox proves the product's first guarantee on screen: each intent is issued once. The
emulator logs every mutating request it received (refused ones too); this module counts them
per kind and finds any intent that was *accepted* twice. What counts as one intent:

- an upgrade: the controller's intent id (from `status.operation`, joined on the request id),
  or else the scenario step, in which the sandbox asks for one change;
- a walk: the domain, within one update (walks are numbered from the last upgrade/rollback);
- a reimage: the instance and intent id (one bump of `spec.reimage`);
- a rollback: one per upgrade.

Refused requests (409 "an operation is in progress", injected faults) are counted apart: the
API did nothing, and a controller waiting out a 409 is doing the right thing.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UPGRADE = "UpgradeDeployment"
CHANGE_CONFIGURATION = "ChangeDeploymentConfiguration"
WALK = "WalkUpgradeDomain"
ROLLBACK = "RollbackDeploymentUpdateOrUpgrade"
REIMAGE = "ReimageRoleInstance"
# Operations that start an update (one rollback each at most), and those after which walks
# start again from domain 0 (a Manual rollback is walked too).
_NEW_UPDATE = frozenset({UPGRADE, CHANGE_CONFIGURATION})
_NEW_WALK = _NEW_UPDATE | {ROLLBACK}


@dataclass(frozen=True)
class LoggedRequest:
    """One mutating request the emulator received, with what the sandbox knows of its intent."""

    sequence: int
    operation: str
    service: str
    deployment: str  # slot or deployment name, as addressed
    target: str  # the instance, "domain N", or "" for the whole deployment
    intent: str  # the controller's intent id for this request (from status), "" when unknown
    request_id: str
    status: int | None
    error_code: str | None
    step: int = 0  # the scenario step during which it arrived

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        where = f"{self.service} {self.target}".strip()
        return f"{self.operation} {where}"


def with_intent(request: LoggedRequest, intent: str) -> LoggedRequest:
    return dataclasses.replace(request, intent=intent)


def counts(requests: Iterable[LoggedRequest]) -> Counter[str]:
    """Accepted requests per operation kind."""
    return Counter(request.operation for request in requests if request.accepted)


def refused(requests: Iterable[LoggedRequest]) -> Counter[str]:
    """Refused or unanswered requests per `operation (status code)`."""
    return Counter(
        f"{request.operation} ({request.error_code or request.status or 'no answer'})"
        for request in requests
        if not request.accepted
    )


def _intent_key(request: LoggedRequest, updates: int, walks: int) -> tuple[object, ...]:
    base = (request.operation, request.service, request.deployment)
    # The controller's intent id when its status showed one; otherwise the scenario step, in
    # which the sandbox asks for each change once.
    intent = request.intent or f"step {request.step}"
    if request.operation in _NEW_UPDATE:
        return (*base, intent)
    if request.operation == WALK:
        return (*base, request.target, walks)
    if request.operation == ROLLBACK:
        return (*base, updates)
    return (*base, request.target, intent)


def duplicates(requests: Sequence[LoggedRequest]) -> list[str]:
    """Every intent accepted more than once, described for the summary."""
    updates: Counter[tuple[str, str]] = Counter()
    walks: Counter[tuple[str, str]] = Counter()
    seen: Counter[tuple[object, ...]] = Counter()
    first: dict[tuple[object, ...], LoggedRequest] = {}
    for request in sorted(requests, key=lambda r: r.sequence):
        if not request.accepted:
            continue
        deployment = (request.service, request.deployment)
        key = _intent_key(request, updates[deployment], walks[deployment])
        seen[key] += 1
        first.setdefault(key, request)
        updates[deployment] += request.operation in _NEW_UPDATE
        walks[deployment] += request.operation in _NEW_WALK
    return [f"{first[key].describe()} accepted {n} times" for key, n in seen.items() if n > 1]


def format_counts(counter: Counter[str]) -> str:
    """`UpgradeDeployment 1, WalkUpgradeDomain 5` (or `none`)."""
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items())) or "none"
