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

The package, one concern per module: ``resources`` (what is served), ``crds`` (reading a CRD),
``admission`` (the seam to the CRD schema), ``errors`` (the refusals), ``rules`` and ``patches``
(what a write does to an object), ``selectors``, ``watching`` (watch histories and live watches),
``parsing`` (requests); the server is built in layers, each using those below it:
``registry`` (served kinds) → ``store`` (objects) → ``routing`` (one answer per operation) →
``server`` (:class:`KubeApiServer`, the HTTP edge).
"""

from controller.kube.apiserver.admission import (
    ApiFieldError,
    FieldError,
    ObjectValidator,
    ValidatorFactory,
    crd_schema_validator,
)
from controller.kube.apiserver.crds import kinds_from_crd
from controller.kube.apiserver.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Expired,
    Invalid,
    MethodNotAllowed,
    NotFound,
    UnsupportedMediaType,
)
from controller.kube.apiserver.resources import (
    BUILTIN_KINDS,
    CONFIGMAPS,
    CUSTOM_RESOURCE_DEFINITIONS,
    EVENTS,
    NAMESPACES,
    SECRETS,
    Body,
    ResourceKind,
)
from controller.kube.apiserver.server import KubeApiServer

__all__ = [
    "BUILTIN_KINDS",
    "CONFIGMAPS",
    "CUSTOM_RESOURCE_DEFINITIONS",
    "EVENTS",
    "NAMESPACES",
    "SECRETS",
    "AlreadyExists",
    "ApiError",
    "ApiFieldError",
    "BadRequest",
    "Body",
    "Conflict",
    "Expired",
    "FieldError",
    "Invalid",
    "KubeApiServer",
    "MethodNotAllowed",
    "NotFound",
    "ObjectValidator",
    "ResourceKind",
    "UnsupportedMediaType",
    "ValidatorFactory",
    "crd_schema_validator",
    "kinds_from_crd",
]
