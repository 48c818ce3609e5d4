"""The remote error codes the emulator answers with: one exception class per code, rendered in one place.

Backend code raises these wherever a rule is broken; the HTTP edge (`app.py`) turns any of them
into the documented error body (reference §11) with `render`. Nothing else builds error bodies,
so every error on the wire has the same shape.

    EmulatorError                               status  code
     ├── MissingOrIncorrectVersionHeader          400   MissingOrIncorrectVersionHeader
     ├── InvalidXmlRequest                        400   InvalidXmlRequest
     ├── MissingOrInvalidRequiredQueryParameter   400   MissingOrInvalidRequiredQueryParameter
     ├── InvalidHttpVerb                          400   InvalidHttpVerb
     ├── BadRequest                               400   BadRequest
     ├── ForbiddenError                           403   ForbiddenError
     ├── ResourceNotFound                         404   ResourceNotFound
     ├── ConflictError                            409   ConflictError
     ├── TooManyRequests                          429   TooManyRequests
     ├── InternalError                            500   InternalError
     ├── OperationTimedOut                        500   OperationTimedOut
     ├── NotImplementedByEmulator                 501   NotImplemented   (a real operation the emulator lacks)
     ├── ServerBusy                               503   ServerBusy
     └── InjectedError                            any   any              (fault injection)
"""

from __future__ import annotations

from typing import ClassVar

from controller.azure import wire

# Messages the real service is known to send (reference §2, §11): clients and operators match on them.
FORBIDDEN_MESSAGE = (
    "The server failed to authenticate the request. "
    "Verify that the certificate is valid and is associated with this subscription."
)
EXCLUSIVE_ACCESS_MESSAGE = (
    "Windows Azure is currently performing an operation on this deployment that requires exclusive access."
)
NO_DEPLOYMENTS_MESSAGE = "No deployments were found."


class EmulatorError(Exception):
    """A remote error: an HTTP status, an error code and a message, as the service reports them."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "InternalError"
    default_message: ClassVar[str] = "The server encountered an internal error. Please retry the request."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        """The status to answer with (an instance property so injected faults can choose it)."""
        return self.status

    @property
    def error_code(self) -> str:
        """The `<Code>` to answer with."""
        return self.code

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (e.g. Retry-After of an injected throttling fault)."""
        return {}


class MissingOrIncorrectVersionHeader(EmulatorError):
    status = 400
    code = "MissingOrIncorrectVersionHeader"
    default_message = "The versioning header is not specified or was specified incorrectly."


class InvalidXmlRequest(EmulatorError):
    status = 400
    code = "InvalidXmlRequest"
    default_message = "The request body's XML was invalid or not correctly specified."


class MissingOrInvalidRequiredQueryParameter(EmulatorError):
    status = 400
    code = "MissingOrInvalidRequiredQueryParameter"
    default_message = (
        "A required query parameter was not specified for this request or was specified incorrectly."
    )


class InvalidHttpVerb(EmulatorError):
    status = 400
    code = "InvalidHttpVerb"
    default_message = (
        "The HTTP verb specified was not recognized by the server or isn't valid for this resource."
    )


class BadRequest(EmulatorError):
    status = 400
    code = "BadRequest"
    default_message = "The request is not valid."


class ForbiddenError(EmulatorError):
    status = 403
    code = "ForbiddenError"
    default_message = FORBIDDEN_MESSAGE


class ResourceNotFound(EmulatorError):
    status = 404
    code = "ResourceNotFound"
    default_message = "The requested URI does not represent any resource on the server."


class ConflictError(EmulatorError):
    status = 409
    code = "ConflictError"
    default_message = EXCLUSIVE_ACCESS_MESSAGE


class TooManyRequests(EmulatorError):
    status = 429
    code = "TooManyRequests"
    default_message = "The request is being throttled."


class InternalError(EmulatorError):
    status = 500
    code = "InternalError"


class OperationTimedOut(EmulatorError):
    status = 500
    code = "OperationTimedOut"
    default_message = "The operation could not be completed within the permitted time."


class NotImplementedByEmulator(EmulatorError):
    status = 501
    code = "NotImplemented"
    default_message = "The emulator does not implement this operation."


class ServerBusy(EmulatorError):
    status = 503
    code = "ServerBusy"
    default_message = "The server is currently unable to receive requests. Please retry your request."


class InjectedError(EmulatorError):
    """An error chosen by a fault-injection rule: any status, any code."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self._status = status
        self._code = code
        self._retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {} if self._retry_after is None else {"Retry-After": str(self._retry_after)}

    @property
    def http_status(self) -> int:
        return self._status

    @property
    def error_code(self) -> str:
        return self._code


def render(error: EmulatorError) -> bytes:
    """The documented error body (namespaced `<Error><Code/><Message/></Error>`) for `error`."""
    return wire.Error(code=error.error_code, message=error.message).to_bytes()
