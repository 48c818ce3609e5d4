"""Get Operation Status and List Subscription Operations: how clients follow asynchronous requests.

List Subscription Operations is the crash-recovery tool (reference §10): StartTime and EndTime
are required (`YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ssZ` or with up to 7 fraction digits; StartTime at
most 90 days back; a date-only EndTime means the end of that day), ObjectIdFilter matches the
object's path exactly (case-insensitive, trailing slash ignored), OperationResultFilter is one of
Succeeded/Failed/InProgress, and pages end with an opaque ContinuationToken.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re

from controller.azure import wire
from controller.emulator import backend, errors, records
from controller.emulator.ops import common, views
from controller.emulator.routing import Call, Reply

LOOKBACK = datetime.timedelta(days=90)
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?Z?)?")
_TOKEN_PREFIX = "emulator-operations:"  # noqa: S105  # a continuation token, not a secret


def get_operation_status(call: Call, emulator: backend.Backend) -> Reply:
    record = emulator.operation(call.caller.subscription_id, call.target.operation_id or "")
    return Reply(200, views.operation(record).to_bytes())


def list_subscription_operations(call: Call, emulator: backend.Backend) -> Reply:
    query = records.OperationQuery(
        subscription_id=call.caller.subscription_id,
        start=_time(call, "StartTime", end_of_day=False),
        end=_time(call, "EndTime", end_of_day=True),
        object_id=_parameter(call, "ObjectIdFilter") or None,
        result=_result_filter(call),
        after_sequence=_continuation(call),
    )
    if query.end < query.start:
        raise errors.MissingOrInvalidRequiredQueryParameter("EndTime must not be earlier than StartTime.")
    if query.start < emulator.now - LOOKBACK.total_seconds():
        raise errors.MissingOrInvalidRequiredQueryParameter("StartTime must be at most 90 days in the past.")
    page, last_sequence = emulator.list_operations(query)
    document = wire.SubscriptionOperationCollection(
        subscription_operations=[views.subscription_operation(record) for record in page],
        continuation_token=_token(last_sequence) if last_sequence is not None else None,
    )
    return Reply(200, document.to_bytes())


def _parameter(call: Call, name: str) -> str:
    return call.query.get(name.lower(), "").strip()


def _time(call: Call, name: str, *, end_of_day: bool) -> float:
    value = _parameter(call, name)
    match = _TIME.fullmatch(value)
    if match is None:
        raise errors.MissingOrInvalidRequiredQueryParameter(
            f"The query parameter {name} is required, in the form YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ."
        )
    date, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime.datetime.fromisoformat(date).replace(tzinfo=datetime.UTC)
        if hour is not None:
            moment = moment.replace(hour=int(hour), minute=int(minute), second=int(second))
            moment += datetime.timedelta(seconds=float(f"0.{fraction or 0}"))
        elif end_of_day:
            moment += datetime.timedelta(days=1, milliseconds=-1)  # float seconds: µs would round away
    except ValueError:
        raise errors.MissingOrInvalidRequiredQueryParameter(
            f"The query parameter {name} is not a valid time."
        ) from None
    return moment.timestamp()


def _result_filter(call: Call) -> str | None:
    value = _parameter(call, "OperationResultFilter")
    if not value:
        return None
    try:
        return common.choice(value, records.RESULTS, "OperationResultFilter")
    except errors.BadRequest as exc:
        raise errors.MissingOrInvalidRequiredQueryParameter(exc.message) from None


def _continuation(call: Call) -> int:
    value = _parameter(call, "ContinuationToken")
    if not value:
        return 0
    try:
        padded = value + "=" * (-len(value) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        decoded = ""
    if not decoded.startswith(_TOKEN_PREFIX) or not decoded[len(_TOKEN_PREFIX) :].isdigit():
        raise errors.MissingOrInvalidRequiredQueryParameter("The ContinuationToken is not valid.")
    return int(decoded[len(_TOKEN_PREFIX) :])


def _token(sequence: int) -> str:
    """Opaque to clients; unpadded so it needs no escaping in a query string."""
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{sequence}".encode("ascii")).decode("ascii").rstrip("=")
