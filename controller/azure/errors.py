"""The one error tree of the Service Management boundary, and the one table that classifies it.

Everything the client raises is an `AzureError`; the class alone tells the caller what to do:

    AzureError
    ├── TransportError          no answer, and re-sending is safe (a read, or a request that never
    │                           left: connection refused, DNS, connect timeout, TLS handshake)
    ├── OutcomeUnknownError     a mutating request may have reached the service and no answer says
    │                           whether it was taken: find out (List Subscription Operations, Get
    │                           Deployment) before issuing it again
    ├── CredentialsError        the management certificate/key/CA cannot be loaded, or TLS failed
    │                           on trust (server certificate not verified, handshake refused)
    ├── ApiError                the service answered with an error (status, code, message, request id)
    │   ├── RetryableError      5xx and 408: transient, retried with backoff (`retry_after` if sent)
    │   │   └── ThrottledError  429 / TooManyRequests
    │   ├── ConflictError       409: another operation holds the deployment; wait, then re-plan
    │   ├── NotFoundError       404: no such service, slot, deployment, instance or operation
    │   ├── ForbiddenError      401/403: certificate not registered, subscription disabled
    │   └── PermanentError      any other 4xx (and unexpected answers): report, don't hammer
    │       └── MalformedResponseError  a success answer whose body is not the documented XML
    ├── OperationFailedError    an asynchronous operation finished `Failed` (its code and message)
    └── OperationTimeoutError   an asynchronous operation did not finish within the wait

Every message is passed through `redaction.redact_text` when the error is built, so no
exception can carry a SAS signature or key material, whatever the service echoed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from controller.azure import redaction, wire


class AzureError(Exception):
    """Base of everything the Service Management client raises.

    `outcome` names the class for metrics (the `outcome` label of request counters).
    """

    outcome: ClassVar[str] = "error"

    def __init__(self, text: str, *, operation: str = "", target: str = "") -> None:
        self.operation = operation
        self.target = target
        super().__init__(redaction.redact_text(_prefixed(operation, target, text)))

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _prefixed(operation: str, target: str, text: str) -> str:
    where = " ".join(part for part in (operation, target) if part)
    return f"{where}: {text}" if where else text


class TransportError(AzureError):
    """No answer arrived, and sending the request again cannot duplicate it."""

    outcome: ClassVar[str] = "transport_error"


class OutcomeUnknownError(AzureError):
    """A mutating request may have been taken by the service; nobody told us whether it was.

    Re-sending could upgrade or reimage twice, so the client never does: the caller records the
    uncertainty and looks the operation up (List Subscription Operations by object id and time,
    or the deployment's state) before deciding to issue it again.
    """

    outcome: ClassVar[str] = "outcome_unknown"

    def __init__(self, reason: str, *, operation: str, target: str, request_id: str = "") -> None:
        self.reason = redaction.redact_text(reason)
        self.request_id = request_id
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(
            f"outcome unknown after {reason}{suffix}; look the operation up before issuing it again",
            operation=operation,
            target=target,
        )


class CredentialsError(AzureError):
    """The management certificate, its key or the CA bundle cannot be used.

    Also raised when TLS fails on trust: the server's certificate does not verify against the CA,
    or the server refused the handshake. Nothing was sent; retrying would fail the same way.
    """

    outcome: ClassVar[str] = "credentials"


class ApiError(AzureError):
    """The service answered with an error status and (usually) an `<Error>` body."""

    outcome: ClassVar[str] = "api_error"

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        request_id: str = "",
        operation: str = "",
        target: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = redaction.redact_text(message)
        self.request_id = request_id
        self.retry_after = retry_after
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(
            f"HTTP {status} {code or '-'}: {message}{suffix}", operation=operation, target=target
        )


class RetryableError(ApiError):
    """A transient failure: the same request may succeed later (`retry_after` seconds, if known)."""

    outcome: ClassVar[str] = "retryable"


class ThrottledError(RetryableError):
    """The subscription is being throttled; `retry_after` says how long to stay away, when sent."""

    outcome: ClassVar[str] = "throttled"


class ConflictError(ApiError):
    """Another operation holds the deployment (409): wait for it, then decide again."""

    outcome: ClassVar[str] = "conflict"


class NotFoundError(ApiError):
    """The hosted service, deployment, instance or operation does not exist."""

    outcome: ClassVar[str] = "not_found"


class ForbiddenError(ApiError):
    """The certificate is not accepted for this subscription, or the subscription is disabled."""

    outcome: ClassVar[str] = "forbidden"


class PermanentError(ApiError):
    """The request is wrong and will stay wrong: report it, do not repeat it."""

    outcome: ClassVar[str] = "permanent"


class MalformedResponseError(PermanentError):
    """A success status whose body is not the documented document."""

    outcome: ClassVar[str] = "malformed_response"


class OperationFailedError(AzureError):
    """An asynchronous operation finished `Failed`; `status`/`code`/`message` say why."""

    outcome: ClassVar[str] = "operation_failed"

    def __init__(self, *, request_id: str, status: int | None, code: str, message: str) -> None:
        self.request_id = request_id
        self.status = status
        self.code = code
        self.message = redaction.redact_text(message)
        super().__init__(f"operation {request_id} failed: HTTP {status or '-'} {code or '-'}: {message}")


class OperationTimeoutError(AzureError):
    """An asynchronous operation was still running when the wait ran out."""

    outcome: ClassVar[str] = "operation_timeout"

    def __init__(self, *, request_id: str, waited: float, last_status: str) -> None:
        self.request_id = request_id
        self.waited = waited
        self.last_status = last_status
        super().__init__(f"operation {request_id} still {last_status} after {waited:.0f}s")


@dataclass(frozen=True)
class Rule:
    """One row of the classification table: statuses and/or an error code, and the class."""

    statuses: range | None
    code: str | None
    error: type[ApiError]

    def matches(self, status: int, code: str) -> bool:
        return (self.statuses is None or status in self.statuses) and (
            self.code is None or self.code.lower() == code.lower()
        )


def _status(value: int) -> range:
    return range(value, value + 1)


# THE classification of error answers (reference §11). First matching row wins. What the
# client does with each class (re-send, surface, wait) is in `retry.py`.
#   retry     429 throttled (Retry-After), 503 ServerBusy, 500 InternalError / OperationTimedOut,
#             other 5xx, 408 request timeout
#   wait      409 ConflictError: another operation runs; surfaced, never retried in the client
#   permanent 404, 401/403, every other 4xx, unexpected statuses
CLASSIFICATION: tuple[Rule, ...] = (
    Rule(_status(429), None, ThrottledError),
    Rule(None, "TooManyRequests", ThrottledError),
    Rule(range(500, 600), None, RetryableError),
    Rule(_status(408), None, RetryableError),
    Rule(_status(409), None, ConflictError),
    Rule(_status(404), None, NotFoundError),
    Rule(_status(401), None, ForbiddenError),
    Rule(_status(403), None, ForbiddenError),
    Rule(None, None, PermanentError),
)


def classify(status: int, code: str) -> type[ApiError]:
    """The error class for an error answer with `status` and Azure error `code`."""
    return next(rule.error for rule in CLASSIFICATION if rule.matches(status, code))


def from_answer(
    *,
    status: int,
    body: bytes,
    reason: str = "",
    request_id: str = "",
    retry_after: float | None = None,
    operation: str = "",
    target: str = "",
) -> ApiError:
    """The classified error for an error answer (status, body, headers already read)."""
    code, message = error_body(body, fallback=reason)
    return classify(status, code)(
        status=status,
        code=code,
        message=message,
        request_id=request_id,
        operation=operation,
        target=target,
        retry_after=retry_after,
    )


def error_body(body: bytes, *, fallback: str = "") -> tuple[str, str]:
    """(code, message) of an `<Error>` body; tolerant, since gateways answer with HTML or nothing."""
    try:
        error = wire.parse(wire.Error, body)
    except wire.MalformedXml:
        text = body[:200].decode("utf-8", errors="replace").strip()
        return "", text or fallback
    return error.code, error.message
