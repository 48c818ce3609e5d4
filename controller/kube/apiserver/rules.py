"""
The rules a write applies to an object, free of I/O: they take bodies and return bodies.

Server-set metadata, status isolation (writes to the object keep the stored status, writes to
``/status`` change nothing else), the part of an object whose changes are a new generation, and
what finalizers allow once a deletion has started. The store applies them in order.
"""

import copy
import datetime
from typing import Any, Final

from controller.kube.apiserver import admission, errors
from controller.kube.apiserver.admission import FieldError
from controller.kube.apiserver.resources import Body, ResourceKind

# Set by the server; what a client sends for them is ignored.
SERVER_FIELDS: Final = (
    "name", "namespace", "uid", "creationTimestamp", "resourceVersion", "generation",
    "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
)  # fmt: skip
# The API server omits these when empty; kopf knows and ignores the difference.
_OMITTED_WHEN_EMPTY: Final = ("finalizers", "labels", "annotations")


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_body(data: Any) -> Body:
    """A private copy of a request body that has the shape of an object."""
    if not isinstance(data, dict) or not isinstance(data.get("metadata", {}), dict):
        raise errors.BadRequest("the body of the request was in an unknown format: expected a JSON object")
    body = copy.deepcopy(data)
    body.setdefault("metadata", {})
    return body


def check_type(kind: ResourceKind, obj: Body) -> None:
    api_version = obj.setdefault("apiVersion", kind.api_version)
    obj_kind = obj.setdefault("kind", kind.kind)
    if (api_version, obj_kind) != (kind.api_version, kind.kind):
        raise errors.BadRequest(
            f"the object is a {api_version}/{obj_kind}, this URL serves {kind.api_version}/{kind.kind}"
        )


def with_server_fields(kind: ResourceKind, old: Body, candidate: Body) -> Body:
    """A write to the object: the client's body, with the server's fields (and status) kept."""
    new = candidate
    new["apiVersion"], new["kind"] = kind.api_version, kind.kind
    meta, old_meta = new["metadata"], old["metadata"]
    for field in SERVER_FIELDS:
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    if kind.has_status:
        _keep(new, old, "status")
    return new


def with_status_of(candidate: Body, old: Body) -> Body:
    """A write to ``/status``: the stored object with the client's status, nothing else."""
    new = copy.deepcopy(old)
    _keep(new, candidate, "status")
    return new


def _keep(target: Body, source: Body, key: str) -> None:
    if key in source:
        target[key] = source[key]
    else:
        target.pop(key, None)


def drop_empty_metadata(obj: Body) -> None:
    meta = obj["metadata"]
    for field in _OMITTED_WHEN_EMPTY:
        if field in meta and not meta[field]:
            del meta[field]


def desired_state(kind: ResourceKind, obj: Body) -> Body:
    """The part of an object whose changes are a new generation."""
    ignored = {"apiVersion", "kind", "metadata"} | ({"status"} if kind.has_status else set())
    return {key: value for key, value in obj.items() if key not in ignored}


def is_terminating(obj: Body) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def finalizer_errors(new: Body, old: Body | None) -> list[FieldError]:
    if old is None or not is_terminating(old):
        return []
    added = set(new["metadata"].get("finalizers", [])) - set(old["metadata"].get("finalizers", []))
    if not added:
        return []
    message = (
        "Forbidden: no new finalizers can be added if the object is being deleted,"
        f" found new finalizers {sorted(added)!r}"
    )
    return [admission.ApiFieldError("metadata.finalizers", message, "FieldValueForbidden")]
