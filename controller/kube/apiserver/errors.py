"""
The requests the server refuses, each rendered as the API server's ``Status`` body.

The tree is drawn in :class:`ApiError`; the server answers any of them in one place
(``KubeApiServer._fail``), and a watch reports :class:`Expired` in-stream.
"""

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import aiohttp.web

from controller.kube.apiserver.admission import FieldError
from controller.kube.apiserver.resources import Body, ResourceKind


class ApiError(Exception):
    """
    A request the API server refuses, answered with a ``Status`` body.

    ApiError
     ├── BadRequest            400  malformed body, name/namespace mismatch, bad parameters
     ├── NotFound              404  unknown resource, subresource or object
     ├── MethodNotAllowed      405
     ├── AlreadyExists         409
     ├── Conflict              409  stale resourceVersion, failed precondition
     ├── Expired               410  a watch from a forgotten resourceVersion (sent in-stream)
     ├── UnsupportedMediaType  415  patch types this server does not apply
     └── Invalid               422  refused fields; a JSON patch that cannot apply
    """

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})

    def status(self) -> Body:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }

    def response(self) -> aiohttp.web.Response:
        return aiohttp.web.json_response(self.status(), status=self.code)


class BadRequest(ApiError):
    code = 400
    reason = "BadRequest"


class NotFound(ApiError):
    code = 404
    reason = "NotFound"

    @classmethod
    def resource(cls) -> "NotFound":
        return cls("the server could not find the requested resource")

    @classmethod
    def object(cls, kind: ResourceKind, name: str) -> "NotFound":
        return cls(f'{kind.qualified_plural} "{name}" not found', details=kind.details(name))


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"

    @classmethod
    def object(cls, kind: ResourceKind, name: str) -> "AlreadyExists":
        return cls(f'{kind.qualified_plural} "{name}" already exists', details=kind.details(name))


class Conflict(ApiError):
    code = 409
    reason = "Conflict"

    @classmethod
    def object(cls, kind: ResourceKind, name: str, problem: str) -> "Conflict":
        message = f'Operation cannot be fulfilled on {kind.qualified_plural} "{name}": {problem}'
        return cls(message, details=kind.details(name))

    @classmethod
    def modified(cls, kind: ResourceKind, name: str) -> "Conflict":
        problem = (
            "the object has been modified; please apply your changes to the latest version and try again"
        )
        return cls.object(kind, name, problem)


class Expired(ApiError):
    code = 410
    reason = "Expired"


class UnsupportedMediaType(ApiError):
    code = 415
    reason = "UnsupportedMediaType"


class Invalid(ApiError):
    code = 422
    reason = "Invalid"

    @classmethod
    def fields(cls, kind: ResourceKind, name: str, errors: Sequence[FieldError]) -> "Invalid":
        listed = [f"{error.path}: {error.message}" for error in errors]
        summary = listed[0] if len(listed) == 1 else f"[{', '.join(listed)}]"
        causes = [{"reason": error.reason, "message": error.message, "field": error.path} for error in errors]
        details = {"name": name, "group": kind.group, "kind": kind.kind, "causes": causes}
        return cls(f'{kind.qualified_kind} "{name}" is invalid: {summary}', details=details)

    @classmethod
    def patch(cls, problem: str) -> "Invalid":
        return cls(f"the server rejected our request due to an error in our request: {problem}")
