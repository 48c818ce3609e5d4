"""The one table: which failures are retried and which stall, with what reason."""

from __future__ import annotations

import pytest

from controller.azure import errors
from controller.reconcile import canonical, kube, problems
from controller.reconcile.problems import Problem, SourceError


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            SourceError("SecretNotFound", "Secret x not found"),
            Problem(False, "SecretNotFound", "Secret x not found"),
        ),
        (canonical.InvalidConfiguration("bad xml"), Problem(False, "InvalidConfiguration", "bad xml")),
        (errors.CredentialsError("bad key"), Problem(False, "InvalidCredentials", "bad key")),
        (
            errors.ConflictError(status=409, code="ConflictError", message="busy"),
            Problem(True, "WaitingForConflict", "ConflictError: busy"),
        ),
        (
            errors.ThrottledError(status=429, code="TooManyRequests", message="slow down", retry_after=7),
            Problem(True, "AzureRetrying", "TooManyRequests: slow down", 7),
        ),
        (
            errors.RetryableError(status=503, code="ServerBusy", message="busy"),
            Problem(True, "AzureRetrying", "ServerBusy: busy"),
        ),
        (
            errors.TransportError("connection refused"),
            Problem(True, "AzureUnreachable", "connection refused"),
        ),
        (
            errors.ForbiddenError(status=403, code="ForbiddenError", message="cert"),
            Problem(False, "ForbiddenError", "ForbiddenError: cert"),
        ),
        (
            errors.NotFoundError(status=404, code="ResourceNotFound", message="gone"),
            Problem(False, "ResourceNotFound", "ResourceNotFound: gone"),
        ),
        (
            errors.PermanentError(status=400, code="Bad Code!", message="x"),
            Problem(False, "AzureError", "Bad Code!: x"),
        ),
        (
            kube.KubeUnavailable(503, "ServiceUnavailable", "down"),
            Problem(True, "KubernetesRetrying", "503 ServiceUnavailable: down"),
        ),
        (
            kube.KubeError(403, "Forbidden", "rbac"),
            Problem(False, "KubernetesForbidden", "403 Forbidden: rbac"),
        ),
        (RuntimeError("bug"), Problem(True, "UnexpectedError", "RuntimeError: bug")),
    ],
)
def test_classification(exc: BaseException, expected: Problem) -> None:
    assert problems.classify(exc) == expected


def test_messages_are_redacted() -> None:
    exc = errors.PermanentError(status=400, code="BadRequest", message="x")
    exc.message = "see https://a.blob.core.windows.net/p/w.cspkg?sv=1&sig=SECRET"  # as echoed by a service
    assert "SECRET" not in problems.classify(exc).message
    assert "SECRET" not in problems.classify(RuntimeError("sig=SECRET")).message
