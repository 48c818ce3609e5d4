"""
An in-memory Kubernetes API server that keeps the rules our controller and sandbox rely on.

The integration tests and ``cloudservice-operator sandbox`` run kopf, kubectl and our own code
against it. kmock's ``KubernetesEmulator`` stores objects and serves discovery, but writes are
plain dict merges; :class:`KubeApiServer` keeps kmock's discovery, request log, object history
and reaction DSL, and answers reads and writes the way a real API server does:

- metadata: ``uid``, ``creationTimestamp``, ``generateName``, the namespace from the URL;
  ``generation`` is 1 on create and grows only when something outside ``metadata`` and
  ``status`` changes (or a deletion starts), as for custom resources;
- ``resourceVersion``: one counter for the whole server, new on every write that changes
  the object. A write that changes nothing is a no-op, as on a real server: same version,
  no watch event. A stale version in PUT, PATCH or DELETE preconditions answers 409 Conflict;
- the ``status`` subresource: writes to the object keep the stored status, writes to
  ``/status`` change the status only;
- finalizers: DELETE sets ``deletionTimestamp``; the object goes (watch ``DELETED``) when a
  write removes the last finalizer; no finalizer can be added once deleting;
- patches: JSON merge patch, JSON patch (a failed ``test`` answers 422, which kopf expects),
  strategic merge patch for built-in kinds only (applied as a merge patch);
- admission: pruning of undeclared fields (unless ``fieldValidation=Strict``, kubectl's
  default, asks to refuse them), defaults, then validation, by an :class:`ObjectValidator`
  per CRD version (by default the version's own schema and CEL rules, through
  ``controller.kube.crdschema``); refusals answer 422 ``Invalid`` naming each field, in the
  API server's words;
- watches: from a ``resourceVersion`` (replayed from a bounded history; older answers an
  in-stream 410 ``Expired``), ``timeoutSeconds``, the ``sendInitialEvents`` bookmark, label
  and field selectors (equality and existence);
- CRDs given to the constructor or created through the API become served resources;
  ``v1`` namespaces, events, secrets and configmaps are always served.

NOT like a real API server (a test passing here proves nothing about these):

- no authentication or authorization: any token, or none, is accepted, so RBAC is untested;
- no admission webhooks, no server-side apply (415), no garbage collection of owned
  objects, no namespace lifecycle (objects may live in namespaces that do not exist, and
  deleting a namespace deletes nothing in it), no events TTL;
- built-in kinds are not validated; strategic merge patch does not merge lists by key;
- undeclared fields are pruned without a ``Warning`` header; under ``fieldValidation=Strict``
  they answer 422 ``Invalid`` (a real server answers 400 ``strict decoding error``);
- PUT without ``metadata.resourceVersion`` is accepted for custom resources too;
- no version conversion: each served version of a CRD keeps its own objects; no ``scale``
  subresource; DELETE of a collection is not served (405);
- lists are one page (``limit``/``continue`` are ignored); set-based selectors are refused;
- JSON only: kubectl's typed commands for built-in kinds (``kubectl create namespace``,
  ``create configmap``) send protobuf and get 415; ``kubectl apply -f`` sends JSON;
- no OpenAPI documents: ``kubectl apply`` needs ``--validate=false`` (the server still
  validates), ``kubectl explain`` does not work; no Table output (``kubectl get`` shows NAME
  and AGE, not printer columns);
- kmock keeps every request and the last versions of every object in memory for assertions.

User reactions registered with kmock's DSL (``server['patch', ...] << 500``) take precedence
over these semantics: the intercepted request changes nothing, which makes fault injection
simple. (Plain ``KubernetesEmulator`` applies the write and only replaces the response.)
"""

import asyncio
import collections
import contextlib
import copy
import dataclasses
import datetime
import json
import os
import pathlib
import secrets
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, Protocol, Self

import aiohttp.web
import jsonpatch
import jsonpointer
import kmock
import yaml
import yarl
from kmock._internal import rendering  # StreamingError is not exported

from controller.kube import crdschema

Body = dict[str, Any]

# ---------------------------------------------------------------------------------------------
# Admission: the seam to the CRD schema.


class FieldError(Protocol):
    """One refused field, as ``controller.kube.crdschema`` reports it."""

    @property
    def path(self) -> str: ...  # e.g. "spec.package"

    @property
    def message(self) -> str: ...  # e.g. 'Invalid value: "object": exactly one of url or urlSecretRef ...'

    @property
    def reason(self) -> str: ...  # the 422 cause type, e.g. "FieldValueRequired"


class ObjectValidator(Protocol):
    """What admission needs from the schema of one CRD version (``crdschema.CrdSchema``)."""

    def prune(self, obj: Body) -> Body: ...

    def apply_defaults(self, obj: Body) -> Body: ...

    def validate(self, obj: Body, old: Body | None = None) -> Sequence[FieldError]: ...


# Builds the validator of one version of a CRD document: None serves that version without
# validation; a ValueError means the CRD itself is invalid (it is refused with 422).
ValidatorFactory = Callable[[Mapping[str, Any], str], ObjectValidator | None]


@dataclasses.dataclass(frozen=True)
class ApiFieldError:
    """A field refused by the server's own rules rather than by a CRD schema."""

    path: str
    message: str
    reason: str = "FieldValueInvalid"


def crd_schema_validator(crd: Mapping[str, Any], version: str) -> ObjectValidator:
    """The default factory: the version's OpenAPI schema and CEL rules, as the API server checks them."""
    try:
        return crdschema.CrdSchema.from_dict(crd, version)
    except crdschema.CrdSchemaError as exc:
        raise ValueError(str(exc)) from exc


# ---------------------------------------------------------------------------------------------
# Errors, each rendered as the API server's Status body.


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
    def object(cls, kind: "ResourceKind", name: str) -> "NotFound":
        return cls(f'{kind.qualified_plural} "{name}" not found', details=kind.details(name))


class MethodNotAllowed(ApiError):
    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(ApiError):
    code = 409
    reason = "AlreadyExists"

    @classmethod
    def object(cls, kind: "ResourceKind", name: str) -> "AlreadyExists":
        return cls(f'{kind.qualified_plural} "{name}" already exists', details=kind.details(name))


class Conflict(ApiError):
    code = 409
    reason = "Conflict"

    @classmethod
    def object(cls, kind: "ResourceKind", name: str, problem: str) -> "Conflict":
        message = f'Operation cannot be fulfilled on {kind.qualified_plural} "{name}": {problem}'
        return cls(message, details=kind.details(name))

    @classmethod
    def modified(cls, kind: "ResourceKind", name: str) -> "Conflict":
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
    def fields(cls, kind: "ResourceKind", name: str, errors: Sequence[FieldError]) -> "Invalid":
        listed = [f"{error.path}: {error.message}" for error in errors]
        summary = listed[0] if len(listed) == 1 else f"[{', '.join(listed)}]"
        causes = [{"reason": error.reason, "message": error.message, "field": error.path} for error in errors]
        details = {"name": name, "group": kind.group, "kind": kind.kind, "causes": causes}
        return cls(f'{kind.qualified_kind} "{name}" is invalid: {summary}', details=details)

    @classmethod
    def patch(cls, problem: str) -> "Invalid":
        return cls(f"the server rejected our request due to an error in our request: {problem}")


# ---------------------------------------------------------------------------------------------
# Resources: what is served, and how it is discovered.

# Only what is implemented: creating CRDs, deleting collections, scale are not served.
_VERBS: Final = ("create", "delete", "get", "list", "patch", "update", "watch")


@dataclasses.dataclass(frozen=True)
class ResourceKind:
    """A served resource: its address, discovery information and storage rules."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    has_generation: bool = True  # custom resources have one; core kinds without a spec do not
    strategic_merge: bool = False  # the API server refuses strategic merge patches for custom resources

    @property
    def resource(self) -> kmock.resource:
        return kmock.resource(group=self.group, version=self.version, plural=self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_plural(
        self,
    ) -> str:  # as in 'cloudservicedeployments.classic.cloudservices.io "web" not found'
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(
        self,
    ) -> str:  # as in 'CloudServiceDeployment.classic.cloudservices.io "web" is invalid'
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def details(self, name: str) -> Body:
        return {"name": name, "group": self.group, "kind": self.plural}

    def discovery(self) -> kmock.ResourceInfo:
        return kmock.ResourceInfo(
            kind=self.kind,
            namespaced=self.namespaced,
            singular=self.singular or self.kind.lower(),
            verbs=_VERBS,
            shortnames=self.short_names,
            categories=self.categories,
            subresources=self.subresources,
        )


NAMESPACES: Final = ResourceKind(
    "", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
    subresources=("status",), has_generation=False, strategic_merge=True,
)  # fmt: skip
EVENTS: Final = ResourceKind(
    "", "v1", "events", "Event", namespaced=True, short_names=("ev",),
    has_generation=False, strategic_merge=True,
)  # fmt: skip
SECRETS: Final = ResourceKind(
    "", "v1", "secrets", "Secret", namespaced=True, has_generation=False, strategic_merge=True,
)  # fmt: skip
CONFIGMAPS: Final = ResourceKind(
    "", "v1", "configmaps", "ConfigMap", namespaced=True, short_names=("cm",),
    has_generation=False, strategic_merge=True,
)  # fmt: skip
CUSTOM_RESOURCE_DEFINITIONS: Final = ResourceKind(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
    namespaced=False, short_names=("crd", "crds"), categories=("api-extensions",),
    subresources=("status",), strategic_merge=True,
)  # fmt: skip
# kopf watches nothing until namespaces, events and CRDs are discoverable.
BUILTIN_KINDS: Final = (NAMESPACES, EVENTS, SECRETS, CONFIGMAPS, CUSTOM_RESOURCE_DEFINITIONS)


def kinds_from_crd(crd: Mapping[str, Any]) -> list[ResourceKind]:
    """The resources a CRD serves, one per served version; ValueError says what is wrong."""
    spec = _section(crd, "spec")
    names = _section(spec, "names", "spec.names")
    group, plural, kind = (
        _text(spec, "group", "spec"),
        _text(names, "plural", "spec.names"),
        _text(names, "kind", "spec.names"),
    )
    scope = spec.get("scope", "Namespaced")
    if scope not in ("Namespaced", "Cluster"):
        raise ValueError(f'spec.scope: Unsupported value: "{scope}"')
    versions = spec.get("versions")
    if not isinstance(versions, list) or not all(isinstance(version, dict) for version in versions):
        raise ValueError("spec.versions: Required value: a list of versions")
    served = [
        ResourceKind(
            group,
            _text(version, "name", "spec.versions[]"),
            plural,
            kind,
            namespaced=scope == "Namespaced",
            singular=names.get("singular") or kind.lower(),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=("status",) if "status" in (version.get("subresources") or {}) else (),
        )
        for version in versions
        if version.get("served", True)
    ]
    if not served:
        raise ValueError("spec.versions: Invalid value: must have at least one served version")
    return served


def _section(parent: Mapping[str, Any], key: str, path: str | None = None) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise ValueError(f"{path or key}: Required value")
    return value


def _text(parent: Mapping[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}.{key}: Required value")
    return value


def _crd_status(crd: Body) -> Body:
    """What the API server reports once it serves a CRD (``kubectl wait --for=condition=Established``)."""
    now = _now()
    spec = crd["spec"]
    return {
        "acceptedNames": copy.deepcopy(spec["names"]),
        "storedVersions": [version["name"] for version in spec["versions"] if version.get("storage")],
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Object rules, free of I/O: they take bodies and return bodies.

# Set by the server; what a client sends for them is ignored.
_SERVER_FIELDS: Final = (
    "name", "namespace", "uid", "creationTimestamp", "resourceVersion", "generation",
    "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
)  # fmt: skip
# The API server omits these when empty; kopf knows and ignores the difference.
_OMITTED_WHEN_EMPTY: Final = ("finalizers", "labels", "annotations")
# The API server's alphabet for generated names: no vowels, no look-alike characters.
_NAME_SUFFIX_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _object_body(data: Any) -> Body:
    """A private copy of a request body that has the shape of an object."""
    if not isinstance(data, dict) or not isinstance(data.get("metadata", {}), dict):
        raise BadRequest("the body of the request was in an unknown format: expected a JSON object")
    body = copy.deepcopy(data)
    body.setdefault("metadata", {})
    return body


def _check_type(kind: ResourceKind, obj: Body) -> None:
    api_version = obj.setdefault("apiVersion", kind.api_version)
    obj_kind = obj.setdefault("kind", kind.kind)
    if (api_version, obj_kind) != (kind.api_version, kind.kind):
        raise BadRequest(
            f"the object is a {api_version}/{obj_kind}, this URL serves {kind.api_version}/{kind.kind}"
        )


def _with_server_fields(kind: ResourceKind, old: Body, candidate: Body) -> Body:
    """A write to the object: the client's body, with the server's fields (and status) kept."""
    new = candidate
    new["apiVersion"], new["kind"] = kind.api_version, kind.kind
    meta, old_meta = new["metadata"], old["metadata"]
    for field in _SERVER_FIELDS:
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    if kind.has_status:
        _keep(new, old, "status")
    return new


def _with_status_of(candidate: Body, old: Body) -> Body:
    """A write to ``/status``: the stored object with the client's status, nothing else."""
    new = copy.deepcopy(old)
    _keep(new, candidate, "status")
    return new


def _keep(target: Body, source: Body, key: str) -> None:
    if key in source:
        target[key] = source[key]
    else:
        target.pop(key, None)


def _drop_empty_metadata(obj: Body) -> None:
    meta = obj["metadata"]
    for field in _OMITTED_WHEN_EMPTY:
        if field in meta and not meta[field]:
            del meta[field]


def _desired_state(kind: ResourceKind, obj: Body) -> Body:
    """The part of an object whose changes are a new generation."""
    ignored = {"apiVersion", "kind", "metadata"} | ({"status"} if kind.has_status else set())
    return {key: value for key, value in obj.items() if key not in ignored}


def _is_terminating(obj: Body) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def _finalizer_errors(new: Body, old: Body | None) -> list[FieldError]:
    if old is None or not _is_terminating(old):
        return []
    added = set(new["metadata"].get("finalizers", [])) - set(old["metadata"].get("finalizers", []))
    if not added:
        return []
    message = (
        "Forbidden: no new finalizers can be added if the object is being deleted,"
        f" found new finalizers {sorted(added)!r}"
    )
    return [ApiFieldError("metadata.finalizers", message, "FieldValueForbidden")]


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, ``null`` removes a key, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


def _json_patch(target: Body, operations: Any) -> Body:
    """RFC 6902. A failed ``test`` (kopf's resourceVersion guard) answers 422, as kopf expects."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise BadRequest("the body of the request was in an unknown format: expected a JSON patch list")
    try:
        patched = jsonpatch.apply_patch(target, operations)
    except jsonpatch.InvalidJsonPatch as exc:
        raise BadRequest(f"invalid JSON patch: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise Invalid.patch(str(exc)) from exc
    return _object_body(patched)


def _patched(kind: ResourceKind, old: Body, patch: Any, content_type: str) -> Body:
    match content_type:
        case "application/json-patch+json":
            return _json_patch(old, patch)
        case "application/merge-patch+json":
            return _object_body(_merge_patch(old, _object_body(patch)))
        case "application/strategic-merge-patch+json" if kind.strategic_merge:
            return _object_body(_merge_patch(old, _object_body(patch)))  # no list merging by key
        case _:
            raise UnsupportedMediaType(
                f"the body of the request was in an unknown format ({content_type or 'no Content-Type'})"
                " - accepted media types include: application/json-patch+json, application/merge-patch+json"
            )


# ---------------------------------------------------------------------------------------------
# Selectors: which objects a list or a watch sees.


@dataclasses.dataclass(frozen=True)
class _Requirement:
    key: str
    operator: str  # "=", "!=", "exists", "absent"
    value: str = ""

    def holds(self, actual: str | None) -> bool:
        match self.operator:
            case "=":
                return actual == self.value
            case "!=":
                return actual != self.value
            case "exists":
                return actual is not None
            case _:
                return actual is None


def _parse_selector(text: str, parameter: str) -> tuple[_Requirement, ...]:
    requirements: list[_Requirement] = []
    for term in filter(None, (part.strip() for part in text.split(","))):
        if term.startswith("!"):
            requirements.append(_Requirement(term[1:].strip(), "absent"))
        elif any(operator in term for operator in ("!=", "==", "=")):
            operator = next(operator for operator in ("!=", "==", "=") if operator in term)
            key, value = term.split(operator, 1)
            requirements.append(_Requirement(key.strip(), "!=" if operator == "!=" else "=", value.strip()))
        elif " " in term or "(" in term:
            raise BadRequest(
                f"unable to parse requirement {term!r} in {parameter}: set-based selectors are not served"
            )
        else:
            requirements.append(_Requirement(term, "exists"))
    return tuple(requirements)


def _field(obj: Body, path: str) -> str | None:
    value: Any = obj
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None or isinstance(value, dict | list) else str(value)


@dataclasses.dataclass(frozen=True)
class _Selector:
    namespace: str | None
    name: str | None
    labels: tuple[_Requirement, ...] = ()
    fields: tuple[_Requirement, ...] = ()

    @classmethod
    def of(cls, request: kmock.Request) -> "_Selector":
        return cls(
            namespace=request.namespace,
            name=request.name,
            labels=_parse_selector(request.params.get("labelSelector", ""), "labelSelector"),
            fields=_parse_selector(request.params.get("fieldSelector", ""), "fieldSelector"),
        )

    def matches(self, obj: Body) -> bool:
        meta = obj["metadata"]
        labels = meta.get("labels") or {}
        return (
            self.namespace in (None, meta.get("namespace"))
            and self.name in (None, meta["name"])
            and all(requirement.holds(labels.get(requirement.key)) for requirement in self.labels)
            and all(requirement.holds(_field(obj, requirement.key)) for requirement in self.fields)
        )


# ---------------------------------------------------------------------------------------------
# Watches: every committed change goes to the history of its resource and to its live watches.


@dataclasses.dataclass(frozen=True)
class _Change:
    revision: int
    type: str  # ADDED, MODIFIED, DELETED
    obj: Body  # as the event shows it (for DELETED: the last state, with the deletion's version)
    previous: Body | None  # before a MODIFIED: selectors see objects enter and leave

    def event_for(self, selector: _Selector) -> Body | None:
        now = selector.matches(self.obj)
        before = self.previous is not None and selector.matches(self.previous)
        if self.type != "MODIFIED":
            event_type = self.type if now else None
        else:
            event_type = {(True, True): "MODIFIED", (False, True): "ADDED", (True, False): "DELETED"}.get(
                (before, now)
            )
        return None if event_type is None else {"type": event_type, "object": self.obj}


@dataclasses.dataclass
class _History:
    """The last changes of one resource, so that watches can resume from a resourceVersion."""

    limit: int
    changes: collections.deque[_Change] = dataclasses.field(default_factory=collections.deque)
    forgotten: int = 0  # the newest revision no longer kept

    def record(self, change: _Change) -> None:
        if len(self.changes) >= self.limit:
            self.forgotten = self.changes.popleft().revision
        self.changes.append(change)

    def since(self, revision: int) -> list[_Change] | None:
        """The changes after a revision, or None when some of them are forgotten."""
        if revision < self.forgotten:
            return None
        return [change for change in self.changes if change.revision > revision]


@dataclasses.dataclass(eq=False)
class _Watch:
    selector: _Selector
    queue: asyncio.Queue[Body | None] = dataclasses.field(default_factory=asyncio.Queue)

    def offer(self, change: _Change) -> None:
        event = change.event_for(self.selector)
        if event is not None:
            self.queue.put_nowait(event)

    def close(self) -> None:
        self.queue.put_nowait(None)

    async def next_event(self, deadline: float) -> Body | None:
        """The next event, or None when the watch times out or the server stops."""
        try:
            async with asyncio.timeout_at(deadline):
                return await self.queue.get()
        except TimeoutError:
            return None


# The API server's minRequestTimeout: how long a watch lasts without timeoutSeconds.
_DEFAULT_WATCH_SECONDS: Final = 1800.0


def _watch_deadline(request: kmock.Request) -> float:
    timeout = _number(request, "timeoutSeconds")
    return asyncio.get_running_loop().time() + (_DEFAULT_WATCH_SECONDS if timeout is None else timeout)


def _watch_start(request: kmock.Request) -> int | None:
    """The revision a watch resumes after; None (or "0") starts with the current objects."""
    return _number(request, "resourceVersion") or None


def _number(request: kmock.Request, parameter: str) -> int | None:
    text = request.params.get(parameter)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{parameter}: Invalid value: {text!r}: must be an integer") from None


# ---------------------------------------------------------------------------------------------
# Request parsing. kmock 0.8 reads "/api/v1/namespaces[/name]" as a namespace prefix (listing
# namespaces fails with a 500, fetching one finds no resource), so requests are parsed here.


@dataclasses.dataclass(frozen=True)
class _ApiPath:
    group: str
    version: str | None = None
    plural: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def _parse_api_path(path: str) -> _ApiPath | None:
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "api":
        group, rest = "", parts[1:]
    elif len(parts) >= 2 and parts[0] == "apis":
        group, rest = parts[1], parts[2:]
    else:
        return None
    version, rest = (rest[0], rest[1:]) if rest else (None, [])
    namespace = None
    namespace_subresource = len(rest) == 3 and rest[2] in ("status", "finalize")
    if len(rest) >= 3 and rest[0] == "namespaces" and not namespace_subresource:
        namespace, rest = rest[1], rest[2:]
    return _ApiPath(
        group,
        version,
        plural=rest[0] if rest else None,
        namespace=namespace,
        name=rest[1] if len(rest) > 1 else None,
        subresource="/".join(rest[2:]) or None,
    )


def _guess_action(method: str, path: _ApiPath, params: Mapping[str, str]) -> kmock.action | None:
    if method == "GET" and params.get("watch") in ("true", "1"):
        return kmock.action.WATCH
    if path.name is None:
        return {"GET": kmock.action.LIST, "POST": kmock.action.CREATE}.get(method)
    return {"GET": kmock.action.FETCH, "PATCH": kmock.action.UPDATE, "DELETE": kmock.action.DELETE}.get(
        method
    )


async def _parse_request(raw: aiohttp.web.BaseRequest, *, request_id: int) -> kmock.Request:
    body = await raw.read()
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None  # writes refuse it with 400; kmock's request log keeps the text
    params = dict(raw.query)
    path = _parse_api_path(raw.path)
    return kmock.Request(
        id=request_id,
        method=raw.method,
        url=raw.url,
        params=params,
        headers=dict(raw.headers),
        cookies=dict(raw.cookies),
        body=body,
        text=body.decode("utf-8", errors="replace"),
        data=data,
        action=None if path is None else _guess_action(raw.method, path, params),
        resource=None
        if path is None
        else kmock.resource(group=path.group, version=path.version, plural=path.plural),
        namespace=None if path is None else path.namespace,
        name=None if path is None else path.name,
        subresource=None if path is None else path.subresource,
        raw_request=raw,
    )


def _content_type(request: kmock.Request) -> str:
    value = next((value for key, value in request.headers.items() if key.lower() == "content-type"), "")
    return value.split(";", 1)[0].strip().lower()


def _json_body(request: kmock.Request) -> Any:
    """The body of a create or replace; protobuf (kubectl's typed commands) and CBOR are refused."""
    content_type = _content_type(request)
    if content_type not in ("", "application/json"):
        raise UnsupportedMediaType(
            f"the body of the request was in an unknown format ({content_type}): only JSON is served"
        )
    return request.data


@dataclasses.dataclass(frozen=True)
class _WriteOptions:
    """How a write asks to be handled, from its query parameters."""

    dry_run: bool = False  # dryRun=All: answer as if written, keep nothing
    strict_fields: bool = False  # fieldValidation=Strict (kubectl's default): refuse undeclared fields

    @classmethod
    def of(cls, request: kmock.Request) -> "_WriteOptions":
        return cls(
            dry_run=request.params.get("dryRun") == "All",
            strict_fields=request.params.get("fieldValidation") == "Strict",
        )


# ---------------------------------------------------------------------------------------------
# The server.

# Below every user reaction (so kmock's DSL can still intercept), above kmock's own fallbacks.
_SEMANTICS: Final = -sys.float_info.max


class KubeApiServer(kmock.KubernetesEmulator):
    """
    A Kubernetes API server in memory, for tests and the sandbox (see the module docstring).

    Start it with :meth:`serve` and point clients at :attr:`url` (or a :meth:`kubeconfig`)::

        async with KubeApiServer(crds=[crd]).serve() as server:
            server.kubeconfig(tmp / "kubeconfig")

    Objects and requests stay inspectable with kmock's API: ``server.objects[...]``, ``list(server)``.
    It is not thread-safe: use it from the event loop that serves it (clients may be anywhere).
    Run an in-process kopf in a thread with its own loop, as kopf's embedding guide advises: on
    exit, kopf waits for, then cancels, every task its loop started after it, this server's too.
    """

    def __init__(
        self,
        *,
        crds: Iterable[Mapping[str, Any]] = (),
        validator_factory: ValidatorFactory = crd_schema_validator,
        watch_history: int = 1000,
        object_history: int = 20,
        strict: bool = False,
    ) -> None:
        """
        ``crds`` are served from the start (and listed under apiextensions, as kopf expects).
        ``validator_factory`` builds each CRD's admission. ``watch_history`` changes per resource
        can be resumed by watches; ``object_history`` versions per object stay in ``objects``.
        ``strict`` is kmock's: on exit, raise the errors of the emulation itself (500s).
        """
        super().__init__(strict=strict)
        self._validator_factory = validator_factory
        self._watch_history = watch_history
        self._object_history = object_history
        self._kinds: dict[kmock.resource, ResourceKind] = {}
        self._validators: dict[kmock.resource, ObjectValidator] = {}
        self._kinds_by_crd: dict[str, list[ResourceKind]] = {}
        self._histories: dict[kmock.resource, _History] = {}
        self._watches: dict[kmock.resource, set[_Watch]] = collections.defaultdict(set)
        self._revision = 0
        self._site_url: yarl.URL | None = None
        for kind in BUILTIN_KINDS:
            self._serve_kind(kind)
        self._create(NAMESPACES, None, {"metadata": {"name": "default"}}, _WriteOptions())
        for crd in crds:
            self._create(CUSTOM_RESOURCE_DEFINITIONS, None, dict(crd), _WriteOptions())
        self._route()

    def _route(self) -> None:
        # Status and headers are fixed per reaction (kmock shares a reaction's response metadata
        # between its requests), hence one reaction for creations (201), one for watches.
        semantics = self**_SEMANTICS
        semantics[kmock.action.CREATE] << 201 << self._answer_create
        semantics[kmock.action.WATCH] << {"Content-Type": "application/json"} << self._answer_watch
        semantics[self._is_resource_request] << self._answer

    # -- serving ------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[Self]:
        """Listen on ``host:port`` (0: a free port) until the block exits; open watches end then."""
        async with self:  # kmock's handler activation: stream feeding, error collection
            # handler_cancellation: a watch whose client went away ends now, not at its deadline.
            web_server = aiohttp.web.Server(self, handler_cancellation=True)
            runner = aiohttp.web.ServerRunner(web_server, shutdown_timeout=1.0)
            await runner.setup()
            try:
                await aiohttp.web.TCPSite(runner, host, port).start()
                bound_port: int = runner.addresses[0][1]
                self._site_url = yarl.URL.build(scheme="http", host=host, port=bound_port)
                yield self
            finally:
                self._site_url = None
                self._close_watches()
                await runner.cleanup()

    @property
    def url(self) -> yarl.URL:
        """Where the server listens: while :meth:`serve` runs, or through a kmock ``Server``."""
        return self._site_url if self._site_url is not None else super().url

    def kubeconfig(self, path: str | os.PathLike[str], *, namespace: str = "default") -> pathlib.Path:
        """Write a kubeconfig for kubectl and ``kopf run`` (any token does: nothing is authenticated)."""
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "sandbox", "cluster": {"server": str(self.url)}}],
            "users": [{"name": "sandbox", "user": {"token": "sandbox"}}],
            "contexts": [
                {
                    "name": "sandbox",
                    "context": {"cluster": "sandbox", "user": "sandbox", "namespace": namespace},
                }
            ],
            "current-context": "sandbox",
        }
        target = pathlib.Path(path)
        target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return target

    def events(self, namespace: str | None = None) -> list[Body]:
        """The Events posted so far, oldest first (e.g. what the controller reported)."""
        posted = [
            event
            for event in self._live_objects(EVENTS)
            if namespace in (None, event["metadata"]["namespace"])
        ]
        return sorted(posted, key=lambda event: int(event["metadata"]["resourceVersion"]))

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # Replaces kmock's entry point for its request parsing (see _parse_request).
        request = await _parse_request(raw_request, request_id=len(self._requests))
        self._requests.append(request)
        try:
            return await self._handle(request)
        except rendering.StreamingError as exc:
            return await self._fail_stream(exc)
        except Exception as exc:  # every failure gets an answer; bugs are also collected
            return await self._fail(exc)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        # Skips KubernetesEmulator._handle, which merges every write into the store before
        # any reaction runs; here the semantic reactions (see _route) do the writes.
        return await super(kmock.KubernetesEmulator, self)._handle(request)

    async def _fail(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, ApiError):
            return exc.response()
        if isinstance(exc, kmock.KubernetesError):  # kmock's discovery: unknown group or endpoint
            return NotFound(exc.message or "the server could not find the requested resource").response()
        if not self._errors:
            raise exc
        self._errors[-1].append(exc)  # a bug in the emulation: kmock's strict mode re-raises it on exit
        return await self._render_error(exc)

    async def _fail_stream(self, exc: rendering.StreamingError) -> aiohttp.web.StreamResponse:
        response: aiohttp.web.StreamResponse = exc.args[0]
        cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
        if not response.prepared:
            return await self._fail(cause)
        if self._errors:
            self._errors[-1].append(cause)
        await self._stream_error(cause, response)  # too late for a status code: kmock reports in-stream
        await response.write_eof()
        return response

    # -- routing (the semantic reactions) -----------------------------------------------------

    async def _serve_version(self, request: kmock.Request) -> kmock.Payload:
        # kmock lists the core group as "/v1" and gives subresources the short names of their
        # resource (kubectl then warns that "wd" is ambiguous); the API server does neither.
        listing = await super()._serve_version(request)
        if isinstance(listing, dict):
            listing["groupVersion"] = listing["groupVersion"].removeprefix("/")
            for entry in listing["resources"]:
                if "/" in entry["name"]:
                    entry.update(
                        singularName="", shortNames=[], categories=[], verbs=["get", "patch", "update"]
                    )
        return listing

    def _is_resource_request(self, request: kmock.Request) -> bool:
        return request.resource is not None and request.resource.plural is not None

    def _kind_of(self, request: kmock.Request) -> ResourceKind:
        kind = None if request.resource is None else self._kinds.get(request.resource)
        if kind is None or (request.subresource is not None and request.subresource not in kind.subresources):
            raise NotFound.resource()
        if not kind.namespaced and request.namespace is not None:
            raise NotFound.resource()
        return kind

    def _answer(self, request: kmock.Request) -> kmock.Payload:
        kind = self._kind_of(request)
        if request.action == kmock.action.LIST:
            return self._list(kind, _Selector.of(request))
        if request.action == kmock.action.FETCH:
            return self._existing(kind, request.namespace, request.name)
        if request.action == kmock.action.UPDATE:
            return self._answer_patch(kind, request)
        if request.action == kmock.action.DELETE:
            return self._answer_delete(kind, request)
        if request.method == kmock.method.PUT and request.name is not None:
            return self._answer_put(kind, request)
        raise MethodNotAllowed(
            f"the server does not allow this method on the requested resource ({request.method})"
        )

    def _answer_create(self, request: kmock.Request) -> kmock.Payload:
        kind = self._kind_of(request)
        return self._create(kind, request.namespace, _json_body(request), _WriteOptions.of(request))

    def _answer_put(self, kind: ResourceKind, request: kmock.Request) -> Body:
        old = self._existing(kind, request.namespace, request.name)
        candidate = _object_body(_json_body(request))
        _check_type(kind, candidate)
        return self._update(kind, old, candidate, request)

    def _answer_patch(self, kind: ResourceKind, request: kmock.Request) -> Body:
        old = self._existing(kind, request.namespace, request.name)
        candidate = _patched(kind, copy.deepcopy(old), request.data, _content_type(request))
        return self._update(kind, old, candidate, request)

    def _answer_delete(self, kind: ResourceKind, request: kmock.Request) -> Body:
        old = self._existing(kind, request.namespace, request.name)
        options = request.data if isinstance(request.data, dict) else {}
        self._check_preconditions(kind, old, options.get("preconditions") or {})
        return self._delete(kind, old, _WriteOptions.of(request))

    def _answer_watch(self, request: kmock.Request) -> AsyncIterator[kmock.Payload]:
        # Everything up to registering the watch happens without awaiting: no change can slip
        # between the initial events and the live ones.
        kind, selector = self._kind_of(request), _Selector.of(request)
        deadline = _watch_deadline(request)
        since = _watch_start(request)
        if since is None:
            initial = [
                {"type": "ADDED", "object": obj} for obj in self._live_objects(kind) if selector.matches(obj)
            ]
            if request.params.get("sendInitialEvents") == "true":
                initial.append(self._initial_events_end(kind))
        else:
            changes = self._history(kind).since(since)
            if changes is None:
                return self._stream([self._expired(kind, since)], watch=None, kind=kind, deadline=deadline)
            initial = [event for change in changes if (event := change.event_for(selector)) is not None]
        watch = _Watch(selector)
        self._watches[kind.resource].add(watch)
        return self._stream(initial, watch=watch, kind=kind, deadline=deadline)

    async def _stream(
        self, initial: list[Body], *, watch: _Watch | None, kind: ResourceKind, deadline: float
    ) -> AsyncIterator[kmock.Payload]:
        try:
            yield b""  # sends the headers: the client knows the watch is established
            for event in initial:
                yield event
            while watch is not None and (live := await watch.next_event(deadline)) is not None:
                yield live
        finally:
            if watch is not None:
                self._watches[kind.resource].discard(watch)

    def _initial_events_end(self, kind: ResourceKind) -> Body:
        metadata = {
            "resourceVersion": str(self._revision),
            "annotations": {"k8s.io/initial-events-end": "true"},
        }
        return {
            "type": "BOOKMARK",
            "object": {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": metadata},
        }

    def _expired(self, kind: ResourceKind, since: int) -> Body:
        oldest = self._history(kind).forgotten + 1
        return {"type": "ERROR", "object": Expired(f"too old resource version: {since} ({oldest})").status()}

    def _close_watches(self) -> None:
        for watches in self._watches.values():
            for watch in watches:
                watch.close()

    # -- reading ------------------------------------------------------------------------------

    def _list(self, kind: ResourceKind, selector: _Selector) -> Body:
        return {
            "apiVersion": kind.api_version,
            "kind": f"{kind.kind}List",
            "metadata": {"resourceVersion": str(self._revision)},
            "items": [obj for obj in self._live_objects(kind) if selector.matches(obj)],
        }

    def _live_objects(self, kind: ResourceKind) -> list[Body]:
        found = [
            obj.raw
            for (resource, _, _), obj in self.objects.items()
            if resource == kind.resource and not obj.deleted
        ]
        return sorted(found, key=lambda obj: (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))

    def _stored(self, kind: ResourceKind, namespace: str | None, name: str) -> Body | None:
        key = (kind.resource, namespace, name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return self.objects[key].raw

    def _existing(self, kind: ResourceKind, namespace: str | None, name: str | None) -> Body:
        found = None if name is None else self._stored(kind, namespace, name)
        if found is None:
            raise NotFound.object(kind, name or "")
        return found

    # -- writing ------------------------------------------------------------------------------

    def _create(self, kind: ResourceKind, namespace: str | None, data: Any, options: _WriteOptions) -> Body:
        obj = _object_body(data)
        _check_type(kind, obj)
        meta = obj["metadata"]
        namespace = self._namespace_for(kind, namespace, meta.get("namespace"))
        name = meta.get("name") or self._generated_name(kind, namespace, meta.get("generateName"))
        if self._stored(kind, namespace, name) is not None:
            raise AlreadyExists.object(kind, name)
        for field in _SERVER_FIELDS:
            meta.pop(field, None)
        meta.update(name=name, uid=str(uuid.uuid4()), creationTimestamp=_now())
        if namespace is not None:
            meta["namespace"] = namespace
        if kind.has_generation:
            meta["generation"] = 1
        if kind.has_status:
            obj.pop("status", None)  # only /status writes set it
        obj = self._admit(kind, obj, None, options)
        _drop_empty_metadata(obj)
        return self._write(kind, "ADDED", obj, previous=None, dry_run=options.dry_run)

    def _update(self, kind: ResourceKind, old: Body, candidate: Body, request: kmock.Request) -> Body:
        name, options = old["metadata"]["name"], _WriteOptions.of(request)
        self._check_identity(kind, candidate, request)
        wanted_version = candidate["metadata"].get("resourceVersion")
        if wanted_version and wanted_version != old["metadata"]["resourceVersion"]:
            raise Conflict.modified(kind, name)
        if request.subresource == "status":
            new = _with_status_of(candidate, old)
        else:
            new = _with_server_fields(kind, old, candidate)
        new = self._admit(kind, new, old, options)
        _drop_empty_metadata(new)
        if kind.has_generation and _desired_state(kind, new) != _desired_state(kind, old):
            new["metadata"]["generation"] = old["metadata"].get("generation", 0) + 1
        if new == old:
            return old  # nothing changed: no new resourceVersion, no event
        if _is_terminating(new) and not new["metadata"].get("finalizers"):
            # The last finalizer is gone: the object goes; the client sees its final state.
            self._write(kind, "DELETED", old, previous=old, dry_run=options.dry_run)
            return new
        return self._write(kind, "MODIFIED", new, previous=old, dry_run=options.dry_run)

    def _delete(self, kind: ResourceKind, old: Body, options: _WriteOptions) -> Body:
        if _is_terminating(old):
            return old
        if not old["metadata"].get("finalizers"):
            return self._write(kind, "DELETED", old, previous=old, dry_run=options.dry_run)
        new = copy.deepcopy(old)
        new["metadata"].update(deletionTimestamp=_now(), deletionGracePeriodSeconds=0)
        if kind.has_generation:
            new["metadata"]["generation"] = old["metadata"].get("generation", 0) + 1
        return self._write(kind, "MODIFIED", new, previous=old, dry_run=options.dry_run)

    def _admit(self, kind: ResourceKind, obj: Body, old: Body | None, options: _WriteOptions) -> Body:
        """Pruning, defaults, then validation, in the API server's order; one 422 names every field."""
        errors: list[FieldError] = []
        validator = self._validators.get(kind.resource)
        if validator is not None:
            # Undeclared fields are dropped silently, unless the client asked to hear about them.
            obj = validator.apply_defaults(obj if options.strict_fields else validator.prune(obj))
            errors.extend(validator.validate(obj, old))
        errors.extend(_finalizer_errors(obj, old))
        if errors:
            raise Invalid.fields(kind, obj["metadata"]["name"], errors)
        return obj

    def _write(
        self, kind: ResourceKind, event_type: str, obj: Body, *, previous: Body | None, dry_run: bool
    ) -> Body:
        served: list[tuple[ResourceKind, ObjectValidator | None]] = []  # a deleted CRD serves nothing
        if kind == CUSTOM_RESOURCE_DEFINITIONS and event_type != "DELETED":
            served = self._compile_crd(obj)
            obj.setdefault("status", _crd_status(obj))
        if dry_run:
            return obj
        committed = self._commit(kind, event_type, obj, previous)
        if kind == CUSTOM_RESOURCE_DEFINITIONS:
            self._serve_crd(obj["metadata"]["name"], served)
        return committed

    def _commit(self, kind: ResourceKind, event_type: str, obj: Body, previous: Body | None) -> Body:
        self._revision += 1
        if event_type == "DELETED":  # shown as it was, with the deletion's version; the stored body stays
            shown = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self._revision)}}
        else:
            shown = obj
            shown["metadata"]["resourceVersion"] = str(self._revision)
        key = (kind.resource, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        self._store(key, None if event_type == "DELETED" else shown)
        change = _Change(self._revision, event_type, shown, previous if event_type == "MODIFIED" else None)
        self._history(kind).record(change)
        for watch in self._watches[kind.resource]:
            watch.offer(change)
        return shown

    def _store(self, key: tuple[kmock.resource, str | None, str], obj: Body | None) -> None:
        if key not in self.objects:
            self.objects[key] = [obj]  # a new history (a re-created object continues its old one)
        else:
            self.objects[key].history.append(obj)
            del self.objects[key].history[: -self._object_history]

    def _history(self, kind: ResourceKind) -> _History:
        return self._histories.setdefault(kind.resource, _History(self._watch_history))

    # -- rules needing the store --------------------------------------------------------------

    def _namespace_for(self, kind: ResourceKind, from_url: str | None, from_body: str | None) -> str | None:
        if not kind.namespaced:
            return None
        if from_url and from_body and from_url != from_body:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        return from_url or from_body or "default"

    def _generated_name(self, kind: ResourceKind, namespace: str | None, prefix: str | None) -> str:
        if not prefix:
            error = ApiFieldError(
                "metadata.name", "Required value: name or generateName is required", "FieldValueRequired"
            )
            raise Invalid.fields(kind, "", [error])
        while True:
            name = prefix + "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))
            if self._stored(kind, namespace, name) is None:
                return name

    def _check_identity(self, kind: ResourceKind, candidate: Body, request: kmock.Request) -> None:
        meta = candidate["metadata"]
        if meta.get("name", request.name) != request.name:
            raise BadRequest(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({request.name})"
            )
        if kind.namespaced and meta.get("namespace", request.namespace) != request.namespace:
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )

    def _check_preconditions(self, kind: ResourceKind, old: Body, preconditions: Mapping[str, Any]) -> None:
        meta = old["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field)
            if wanted and wanted != meta[field]:
                problem = f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: "
                problem += str(meta[field])
                raise Conflict.object(kind, meta["name"], problem)

    # -- custom resource definitions ----------------------------------------------------------

    def _compile_crd(self, crd: Body) -> list[tuple[ResourceKind, ObjectValidator | None]]:
        """What a CRD will serve, version by version; a CRD that cannot be served is refused with 422."""
        name = crd["metadata"]["name"]
        try:
            kinds = kinds_from_crd(crd)
            served = [(kind, self._validator_factory(crd, kind.version)) for kind in kinds]
        except ValueError as exc:
            raise Invalid.fields(
                CUSTOM_RESOURCE_DEFINITIONS, name, [ApiFieldError("spec", str(exc))]
            ) from exc
        expected = f"{kinds[0].plural}.{kinds[0].group}"
        if name != expected:
            message = f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'
            raise Invalid.fields(CUSTOM_RESOURCE_DEFINITIONS, name, [ApiFieldError("metadata.name", message)])
        return served

    def _serve_crd(self, name: str, served: list[tuple[ResourceKind, ObjectValidator | None]]) -> None:
        """Serve what a CRD declares now; stop serving what it no longer declares."""
        kept = {kind.resource for kind, _ in served}
        for kind in self._kinds_by_crd.pop(name, []):
            if kind.resource not in kept:
                self._forget_kind(kind)
        for kind, validator in served:
            self._serve_kind(kind)
            if validator is not None:
                self._validators[kind.resource] = validator
            else:
                self._validators.pop(kind.resource, None)
        if served:
            self._kinds_by_crd[name] = [kind for kind, _ in served]

    def _serve_kind(self, kind: ResourceKind) -> None:
        self._kinds[kind.resource] = kind
        self.resources[kind.resource] = kind.discovery()

    def _forget_kind(self, kind: ResourceKind) -> None:
        del self._kinds[kind.resource]
        del self.resources[kind.resource]
        self._validators.pop(kind.resource, None)
        for watch in self._watches.pop(kind.resource, set()):
            watch.close()
