"""Asynchronous operation tracking: Get Operation Status and List Subscription Operations."""

from __future__ import annotations

from pydantic_xml import element, wrapped

from controller.azure.wire.common import Document, WireModel

OPERATIONS_PARAMETER_NS = "http://schemas.datacontract.org/2004/07/Microsoft.WindowsAzure.ServiceManagement"

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"


def dashed_request_id(request_id: str) -> str:
    """The `x-ms-request-id` (32 hex chars) in the dashed form the Operation body's ID uses."""
    plain = request_id.replace("-", "")
    if len(plain) != 32:
        return request_id
    return f"{plain[:8]}-{plain[8:12]}-{plain[12:16]}-{plain[16:20]}-{plain[20:]}"


class OperationError(WireModel, tag="Error"):
    """Why a finished operation failed."""

    code: str = element(tag="Code")
    message: str = element(tag="Message", default="")


class Operation(Document, tag="Operation"):
    """Get Operation Status: InProgress bodies carry only ID and Status; never an empty Error."""

    id: str = element(tag="ID")
    status: str = element(tag="Status")  # InProgress | Succeeded | Failed
    http_status_code: int | None = element(tag="HttpStatusCode", default=None)
    error: OperationError | None = element(default=None)


class OperationParameter(
    WireModel,
    tag="OperationParameter",
    nsmap={"": "http://schemas.microsoft.com/windowsazure", "a": OPERATIONS_PARAMETER_NS},
):
    """A name/value parameter of a recorded operation (children in the datacontract namespace).

    The `a` prefix is declared once per parameter and used literally (`a:Name`), which is what the
    Python client matches on.
    """

    name: str = element(tag="Name", ns="a")
    value: str = element(tag="Value", ns="a", default="")


class OperationCaller(WireModel, tag="OperationCaller"):
    """Who issued a recorded operation."""

    used_service_management_api: bool = element(tag="UsedServiceManagementApi", default=True)
    user_email_address: str | None = element(tag="UserEmailAddress", default=None)
    subscription_certificate_thumbprint: str | None = element(
        tag="SubscriptionCertificateThumbprint", default=None
    )
    client_ip: str | None = element(tag="ClientIP", default=None)


class OperationStatus(WireModel, tag="OperationStatus"):
    """The state of a recorded operation."""

    id: str = element(tag="ID")
    status: str = element(tag="Status")
    http_status_code: int | None = element(tag="HttpStatusCode", default=None)
    error: OperationError | None = element(default=None)


class SubscriptionOperation(WireModel, tag="SubscriptionOperation"):
    """One entry of List Subscription Operations."""

    operation_id: str = element(tag="OperationId")
    operation_object_id: str = element(tag="OperationObjectId")
    operation_name: str = element(tag="OperationName")
    operation_parameters: list[OperationParameter] = wrapped(
        "OperationParameters", element(default_factory=list), default_factory=list
    )
    operation_caller: OperationCaller | None = element(default=None)
    operation_status: OperationStatus = element()
    operation_started_time: str | None = element(tag="OperationStartedTime", default=None)
    operation_completed_time: str | None = element(tag="OperationCompletedTime", default=None)
    operation_kind: str | None = element(tag="OperationKind", default=None)

    def parameters(self) -> dict[str, str]:
        """The operation's parameters as a mapping."""
        return {param.name: param.value for param in self.operation_parameters}


class SubscriptionOperationCollection(Document, tag="SubscriptionOperationCollection"):
    """A page of List Subscription Operations."""

    subscription_operations: list[SubscriptionOperation] = wrapped(
        "SubscriptionOperations", element(default_factory=list), default_factory=list
    )
    continuation_token: str | None = element(tag="ContinuationToken", default=None)


__all__ = [
    "FAILED",
    "IN_PROGRESS",
    "SUCCEEDED",
    "Operation",
    "OperationCaller",
    "OperationError",
    "OperationParameter",
    "OperationStatus",
    "SubscriptionOperation",
    "SubscriptionOperationCollection",
    "dashed_request_id",
]
