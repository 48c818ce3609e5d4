"""The route table: which remote operation a method, path and `comp=` name.

Resolving a request is a pure function of (method, path, query), free of any web framework, so
the rules of the service's URI space are in one table and testable without a server:

- both URI forms of deployments: `…/deploymentslots/<slot>` and `…/deployments/<name>`;
- a trailing slash is optional (`…/<name>/?comp=upgrade` and `…/<name>?comp=upgrade`);
- path keywords, slots and `comp` values are case-insensitive (the .NET client sends `Production`);
- an unknown resource is 404 ResourceNotFound, a verb the resource does not support is 400
  InvalidHttpVerb (the service's documented code, chosen over a bare 405 so that every error
  carries the documented XML body), and an unknown or missing `comp` is 400
  MissingOrInvalidRequiredQueryParameter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from controller.emulator import errors, records, state, versions
from controller.emulator.names import OperationName

if TYPE_CHECKING:
    from controller.emulator.backend import Backend

_NAMES = OperationName
_V = versions
# (resource kind, method) -> comp ("" for none) -> (operation, minimum x-ms-version)
_TABLE: dict[tuple[str, str], dict[str, tuple[OperationName, versions.ApiVersion]]] = {
    ("subscription", "GET"): {"": (_NAMES.NOT_IMPLEMENTED, _V.V2009_10_01)},
    ("operations", "GET"): {"": (_NAMES.LIST_SUBSCRIPTION_OPERATIONS, _V.V2011_02_25)},
    ("operation", "GET"): {"": (_NAMES.GET_OPERATION_STATUS, _V.V2009_10_01)},
    ("hostedservices", "POST"): {"": (_NAMES.CREATE_HOSTED_SERVICE, _V.V2010_10_28)},
    ("hostedservices", "GET"): {"": (_NAMES.NOT_IMPLEMENTED, _V.V2009_10_01)},
    ("hostedservice", "GET"): {"": (_NAMES.GET_HOSTED_SERVICE_PROPERTIES, _V.V2009_10_01)},
    ("hostedservice", "DELETE"): {
        "": (_NAMES.DELETE_HOSTED_SERVICE, _V.V2010_10_28),
        "media": (_NAMES.DELETE_HOSTED_SERVICE, _V.V2013_08_01),
    },
    ("hostedservice", "PUT"): {"": (_NAMES.NOT_IMPLEMENTED, _V.V2009_10_01)},
    ("hostedservice", "POST"): {"": (_NAMES.NOT_IMPLEMENTED, _V.V2009_10_01)},
    ("deployment", "GET"): {"": (_NAMES.GET_DEPLOYMENT, _V.V2009_10_01)},
    ("deployment", "DELETE"): {
        "": (_NAMES.DELETE_DEPLOYMENT, _V.V2009_10_01),
        "media": (_NAMES.DELETE_DEPLOYMENT, _V.V2013_08_01),
    },
    ("deployment", "POST"): {
        "": (_NAMES.CREATE_DEPLOYMENT, _V.V2009_10_01),
        "upgrade": (_NAMES.UPGRADE_DEPLOYMENT, _V.V2009_10_01),
        "config": (_NAMES.CHANGE_DEPLOYMENT_CONFIGURATION, _V.V2009_10_01),
        "walkupgradedomain": (_NAMES.WALK_UPGRADE_DOMAIN, _V.V2009_10_01),
        "rollback": (_NAMES.ROLLBACK_UPDATE_OR_UPGRADE, _V.V2011_10_01),
        "status": (_NAMES.UPDATE_DEPLOYMENT_STATUS, _V.V2009_10_01),
    },
    ("roleinstance", "POST"): {
        "reboot": (_NAMES.REBOOT_ROLE_INSTANCE, _V.V2010_10_28),
        "reimage": (_NAMES.REIMAGE_ROLE_INSTANCE, _V.V2010_10_28),
        "rebuild": (_NAMES.REBUILD_ROLE_INSTANCE, _V.V2013_06_01),
    },
    ("roleinstances", "POST"): {"delete": (_NAMES.NOT_IMPLEMENTED, _V.V2013_08_01)},
}


@dataclasses.dataclass(frozen=True)
class Target:
    """What a request addresses, from its path."""

    subscription_id: str
    service: str | None = None
    slot: str | None = None
    deployment_name: str | None = None
    instance: str | None = None
    operation_id: str | None = None

    def deployment_ref(self) -> state.DeploymentRef:
        return state.DeploymentRef(service=self.service or "", slot=self.slot, name=self.deployment_name)

    def aliases(self) -> frozenset[str]:
        """Names a fault rule or a log filter may use for this target (lower-case): the service,
        `service/slot`, `service/deployment-name`, the deployment name and the instance."""
        names = {self.service, self.deployment_name, self.instance, self.slot}
        for deployment in (self.slot, self.deployment_name):
            if self.service and deployment:
                names.add(f"{self.service}/{deployment}")
        return frozenset(name.lower() for name in names if name)


@dataclasses.dataclass(frozen=True)
class Route:
    """A resolved request: the operation, its target and the oldest version it exists in."""

    operation: OperationName
    target: Target
    min_version: versions.ApiVersion


@dataclasses.dataclass(frozen=True)
class Call:
    """One request as an operation handler sees it (no web framework types)."""

    route: Route
    version: versions.ApiVersion
    query: Mapping[str, str]  # keys lower-cased
    body: bytes
    caller: records.Caller
    base_url: str  # https://host:port, for URLs the service reports about itself

    @property
    def target(self) -> Target:
        return self.route.target


@dataclasses.dataclass(frozen=True)
class Reply:
    """What a handler answers: a status and an optional XML body."""

    status: int
    body: bytes | None = None


Handler = Callable[[Call, "Backend"], Reply]


def subscription_of(path: str) -> str:
    """The subscription id a path starts with ('' when there is none)."""
    return path.strip("/").split("/", 1)[0]


def resolve(method: str, path: str, query: Mapping[str, str]) -> Route:
    """The operation a request names; raises the documented 404 / 400 when it names none."""
    kind, target = _resource(path)
    by_comp = _TABLE.get((kind, method.upper()))
    if by_comp is None:
        raise errors.InvalidHttpVerb()
    comp = query.get("comp", "").strip().lower()
    if comp not in by_comp or (
        comp == "" and kind == "deployment" and method.upper() == "POST" and target.slot is None
    ):
        raise errors.MissingOrInvalidRequiredQueryParameter(
            f"The value '{comp}' of query parameter comp is not valid."
        )
    if comp == "rebuild" and query.get("resources", "").lower() != "alllocaldrives":
        raise errors.MissingOrInvalidRequiredQueryParameter("Rebuild requires resources=allLocalDrives.")
    operation, min_version = by_comp[comp]
    return Route(operation=operation, target=target, min_version=min_version)


def _resource(path: str) -> tuple[str, Target]:
    segments = path.strip("/").split("/")
    if not segments[0] or "" in segments:
        raise errors.ResourceNotFound()
    subscription, rest = segments[0], [segment.lower() for segment in segments[1:]]
    if not rest:
        return "subscription", Target(subscription)
    if rest[0] == "operations" and len(rest) <= 2:
        if len(rest) == 1:
            return "operations", Target(subscription)
        return "operation", Target(subscription, operation_id=segments[2])
    if rest[:2] != ["services", "hostedservices"]:
        raise errors.ResourceNotFound()
    return _hosted_service_resource(subscription, segments[3:])


def _hosted_service_resource(subscription: str, segments: list[str]) -> tuple[str, Target]:
    if not segments:
        return "hostedservices", Target(subscription)
    service, rest = segments[0], segments[1:]
    if not rest:
        return "hostedservice", Target(subscription, service=service)
    if len(rest) < 2 or rest[0].lower() not in {"deploymentslots", "deployments"}:
        raise errors.ResourceNotFound()
    by_slot = rest[0].lower() == "deploymentslots"
    target = Target(
        subscription,
        service=service,
        slot=state.canonical_slot(rest[1]) if by_slot else None,
        deployment_name=None if by_slot else rest[1],
    )
    if len(rest) == 2:
        return "deployment", target
    if rest[2].lower() != "roleinstances" or len(rest) > 4:
        raise errors.ResourceNotFound()
    if len(rest) == 3:
        return "roleinstances", target
    return "roleinstance", dataclasses.replace(target, instance=rest[3])
