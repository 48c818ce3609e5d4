"""THE table that turns any failure of a reconcile into what the user sees and when to retry.

Transient failures (the service is busy, unreachable, throttling, or another operation holds
the deployment) keep the resource `Reconciling` with an honest reason and are retried with
backoff. Permanent ones (bad credentials, a missing Secret or ConfigMap, a refused request, an
invalid configuration) make it `Stalled` with the Azure error code and message: retrying cannot
help until the user changes something. Each resource fails on its own; nothing here stops the
controller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from controller.azure import errors, redaction
from controller.reconcile import canonical, kube

AZURE_RETRYING = "AzureRetrying"
AZURE_UNREACHABLE = "AzureUnreachable"
WAITING_FOR_CONFLICT = "WaitingForConflict"
KUBERNETES_RETRYING = "KubernetesRetrying"
INVALID_CREDENTIALS = "InvalidCredentials"
INVALID_CONFIGURATION = "InvalidConfiguration"
INVALID_SPEC = "InvalidSpec"
OUTCOME_UNKNOWN = "OutcomeUnknown"
UNEXPECTED = "UnexpectedError"

_REASON = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class SourceError(Exception):
    """A Secret, ConfigMap or key the spec refers to is missing or unusable (permanent)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Problem:
    """Why a reconcile could not finish: transient (retry) or permanent (Stalled)."""

    transient: bool
    reason: str
    message: str
    retry_after: float | None = None


def classify(exc: BaseException) -> Problem:
    """The problem an exception stands for; the message is redacted."""
    problem = _classify(exc)
    return Problem(
        problem.transient, problem.reason, redaction.redact_text(problem.message), problem.retry_after
    )


def _classify(exc: BaseException) -> Problem:
    match exc:
        case SourceError():
            return Problem(False, exc.reason, exc.message)
        case canonical.InvalidConfiguration():
            return Problem(False, INVALID_CONFIGURATION, str(exc))
        case errors.CredentialsError():
            return Problem(False, INVALID_CREDENTIALS, str(exc))
        case errors.ConflictError():
            return Problem(True, WAITING_FOR_CONFLICT, _azure_message(exc))
        case errors.RetryableError():
            return Problem(True, AZURE_RETRYING, _azure_message(exc), exc.retry_after)
        case errors.TransportError():
            return Problem(True, AZURE_UNREACHABLE, str(exc))
        case errors.OutcomeUnknownError():
            return Problem(True, OUTCOME_UNKNOWN, str(exc))
        case errors.ApiError():
            # Forbidden, NotFound and every other refusal: the code says what to fix.
            return Problem(False, azure_reason(exc.code, "AzureError"), _azure_message(exc))
        case errors.AzureError():
            return Problem(True, AZURE_RETRYING, str(exc))
        case kube.KubeUnavailable() | kube.KubeConflict():
            return Problem(True, KUBERNETES_RETRYING, str(exc))
        case kube.KubeError():
            return Problem(False, f"Kubernetes{azure_reason(exc.reason, 'Error')}", str(exc))
        case _:
            return Problem(True, UNEXPECTED, f"{type(exc).__name__}: {exc}")


def azure_reason(code: str, fallback: str) -> str:
    """An Azure error code as a condition reason (which must be CamelCase identifier-like)."""
    return code if code and _REASON.match(code) else fallback


def _azure_message(exc: errors.ApiError) -> str:
    return f"{exc.code or exc.status}: {exc.message}" if exc.message else str(exc)
