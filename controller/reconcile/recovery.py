"""Find out what happened to an intent whose outcome is unknown, before anything is re-issued.

An intent is left without a request id when the controller died between recording it and
recording the answer, or when the call itself ended without an answer (`OutcomeUnknownError`).
Two witnesses are asked:

1. List Subscription Operations for the hosted service since the intent was recorded (minus a
   margin for clock skew): an operation with the intent's name and parameters (deployment,
   domain, instance) that the controller does not already know from its history is the one.
2. Get Deployment: an upgrade landed if the deployment carries the intent's `CsoAppliedDigest`
   (and the controller had not applied that digest before); a walk landed if the update moved
   past the walked domain.

A found request id is adopted and followed. Only when the listing answered completely and
neither witness saw the intent is it certainly not issued. When the listing cannot be had
(a permanent refusal), the outcome cannot be known: the resource stalls with `OutcomeUnknown`
and says how to confirm by hand.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from controller.azure import errors, wire
from controller.azure.client import ServiceManagementClient
from controller.azure.refs import DeploymentRef
from controller.models.status import Applied, Operation, OperationKind, Status
from controller.planning.inputs import ObservedDeployment

OPERATION_NAMES = {
    OperationKind.UPGRADE: frozenset({"UpgradeDeployment"}),
    OperationKind.WALK_UPGRADE_DOMAIN: frozenset({"WalkUpgradeDomain"}),
    OperationKind.REIMAGE: frozenset({"ReimageRoleInstance"}),
    OperationKind.ROLLBACK: frozenset({"RollbackDeploymentUpdateOrUpgrade", "RollbackUpdateOrUpgrade"}),
}
LOOK_AHEAD = timedelta(days=1)  # EndTime: generous, the service's clock may run ahead of ours


class Verdict(enum.Enum):
    """What the witnesses say about an intent."""

    ISSUED = "issued"  # found: follow it (request id when the listing had it)
    NOT_ISSUED = "not-issued"  # certainly never reached Azure: safe to issue
    UNKNOWN = "unknown"  # cannot be known: stop and ask the user


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    request_id: str = ""
    evidence: str = ""


def normalize_request_id(value: str) -> str:
    """Request ids appear dashed (Operation ID) and plain (x-ms-request-id): compare plain."""
    return value.replace("-", "").lower()


def matches(
    listed: wire.SubscriptionOperation,
    intent: Operation,
    ref: DeploymentRef,
    deployment_name: str | None,
    known: frozenset[str],
    since: datetime,
) -> bool:
    """Is `listed` the operation `intent` describes (and not one the controller already knows)?"""
    if listed.operation_name not in OPERATION_NAMES[intent.kind]:
        return False
    if normalize_request_id(listed.operation_id) in known:
        return False
    started = _parse_time(listed.operation_started_time)
    if started is not None and started < since:
        return False
    parameters = {name.lower(): value for name, value in listed.parameters().items()}
    if not _same_deployment(parameters, ref, deployment_name):
        return False
    if intent.kind is OperationKind.WALK_UPGRADE_DOMAIN:
        return parameters.get("upgradedomain") == str(intent.upgrade_domain)
    if intent.kind is OperationKind.REIMAGE:
        return parameters.get("roleinstancename", "").lower() == intent.target.lower()
    return True


def _same_deployment(parameters: dict[str, str], ref: DeploymentRef, deployment_name: str | None) -> bool:
    slot = parameters.get("deploymentslot")
    name = parameters.get("deploymentname")
    if ref.slot is not None and slot is not None:
        return slot.lower() == ref.slot.lower()
    wanted = ref.name or deployment_name
    if wanted is not None and name is not None:
        return name.lower() == wanted.lower()
    return True  # the operation does not say which deployment: the service path already matched


def landed(intent: Operation, deployment: ObservedDeployment | None, applied: Applied | None) -> str:
    """Evidence in the deployment itself that the intent was carried out ("" when none)."""
    if deployment is None:
        return ""
    if intent.kind is OperationKind.UPGRADE:
        ours_before = applied is not None and applied.spec_digest == intent.spec_digest
        if deployment.applied_digest == intent.spec_digest and not ours_before:
            return "the deployment carries the intent's CsoAppliedDigest"
    if intent.kind is OperationKind.WALK_UPGRADE_DOMAIN and intent.upgrade_domain is not None:
        upgrade = deployment.upgrade
        if upgrade is not None and (
            upgrade.current_domain > intent.upgrade_domain
            or (upgrade.current_domain == intent.upgrade_domain and upgrade.domain_state == "During")
        ):
            return f"the update moved past upgrade domain {intent.upgrade_domain}"
    return ""


async def investigate(
    client: ServiceManagementClient,
    ref: DeploymentRef,
    intent: Operation,
    *,
    deployment: ObservedDeployment | None,
    status: Status,
    margin: timedelta,
    now: datetime,
) -> Finding:
    """Ask both witnesses. Transient listing failures propagate (try again later)."""
    since = (intent.requested_at or now) - margin
    known = frozenset(normalize_request_id(entry.request_id) for entry in status.history if entry.request_id)
    listing_failed = ""
    listed: list[wire.SubscriptionOperation] = []
    try:
        listed = await client.list_subscription_operations(
            start=since, end=now + LOOK_AHEAD, object_id=ref.service_path(client.subscription_id)
        )
    except (errors.TransportError, errors.RetryableError, errors.ConflictError, errors.OutcomeUnknownError):
        raise
    except errors.AzureError as exc:
        listing_failed = str(exc)
    name = deployment.name if deployment is not None else None
    found = [op for op in listed if matches(op, intent, ref, name, known, since)]
    if found:
        first = min(found, key=lambda op: _parse_time(op.operation_started_time) or since)
        return Finding(
            Verdict.ISSUED, normalize_request_id(first.operation_id), "List Subscription Operations"
        )
    evidence = landed(intent, deployment, status.applied)
    if evidence:
        return Finding(Verdict.ISSUED, "", evidence)
    if listing_failed:
        return Finding(Verdict.UNKNOWN, "", f"List Subscription Operations failed: {listing_failed}")
    return Finding(Verdict.NOT_ISSUED, "", "no matching operation listed and no trace in the deployment")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    text = _LONG_FRACTION.sub(lambda m: m.group(1)[:7], value.strip()).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_LONG_FRACTION = re.compile(r"(\.\d+)")
