"""
The object store: reads, and writes that follow the API server's rules.

A write is checked (identity, preconditions, admission), given its server-set fields, its
generation and a new ``resourceVersion`` from one counter for the whole server, then committed:
stored in kmock's ``objects``, recorded in its resource's watch history and offered to the live
watches. A write that changes nothing commits nothing. Writing a CRD changes what is served.
"""

import copy
import secrets
import uuid
from collections.abc import Mapping
from typing import Any, Final

import kmock

from controller.kube.apiserver import admission, crds, errors, parsing, resources, rules, selectors, watching
from controller.kube.apiserver.admission import FieldError, ObjectValidator
from controller.kube.apiserver.registry import ResourceRegistry
from controller.kube.apiserver.resources import Body, ResourceKind

# The API server's alphabet for generated names: no vowels, no look-alike characters.
_NAME_SUFFIX_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"


class ObjectStore(ResourceRegistry):
    """
    Objects by resource, namespace and name, with their history and their watches' history.

    One of the layers of :class:`~.server.KubeApiServer`, which sets the state declared here.
    """

    _watch_history: int
    _object_history: int
    _histories: dict[kmock.resource, watching.History]
    _revision: int

    # -- reading ------------------------------------------------------------------------------

    def _list(self, kind: ResourceKind, selector: selectors.Selector) -> Body:
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
            raise errors.NotFound.object(kind, name or "")
        return found

    # -- writing ------------------------------------------------------------------------------

    def _create(
        self, kind: ResourceKind, namespace: str | None, data: Any, options: parsing.WriteOptions
    ) -> Body:
        obj = rules.object_body(data)
        rules.check_type(kind, obj)
        meta = obj["metadata"]
        namespace = self._namespace_for(kind, namespace, meta.get("namespace"))
        name = meta.get("name") or self._generated_name(kind, namespace, meta.get("generateName"))
        if self._stored(kind, namespace, name) is not None:
            raise errors.AlreadyExists.object(kind, name)
        for field in rules.SERVER_FIELDS:
            meta.pop(field, None)
        meta.update(name=name, uid=str(uuid.uuid4()), creationTimestamp=rules.now())
        if namespace is not None:
            meta["namespace"] = namespace
        if kind.has_generation:
            meta["generation"] = 1
        if kind.has_status:
            obj.pop("status", None)  # only /status writes set it
        obj = self._admit(kind, obj, None, options)
        rules.drop_empty_metadata(obj)
        return self._write(kind, "ADDED", obj, previous=None, dry_run=options.dry_run)

    def _update(self, kind: ResourceKind, old: Body, candidate: Body, request: kmock.Request) -> Body:
        name, options = old["metadata"]["name"], parsing.WriteOptions.of(request)
        self._check_identity(kind, candidate, request)
        wanted_version = candidate["metadata"].get("resourceVersion")
        if wanted_version and wanted_version != old["metadata"]["resourceVersion"]:
            raise errors.Conflict.modified(kind, name)
        if request.subresource == "status":
            new = rules.with_status_of(candidate, old)
        else:
            new = rules.with_server_fields(kind, old, candidate)
        new = self._admit(kind, new, old, options)
        rules.drop_empty_metadata(new)
        if kind.has_generation and rules.desired_state(kind, new) != rules.desired_state(kind, old):
            new["metadata"]["generation"] = old["metadata"].get("generation", 0) + 1
        if new == old:
            return old  # nothing changed: no new resourceVersion, no event
        if rules.is_terminating(new) and not new["metadata"].get("finalizers"):
            # The last finalizer is gone: the object goes; the client sees its final state.
            self._write(kind, "DELETED", old, previous=old, dry_run=options.dry_run)
            return new
        return self._write(kind, "MODIFIED", new, previous=old, dry_run=options.dry_run)

    def _delete(self, kind: ResourceKind, old: Body, options: parsing.WriteOptions) -> Body:
        if rules.is_terminating(old):
            return old
        if not old["metadata"].get("finalizers"):
            return self._write(kind, "DELETED", old, previous=old, dry_run=options.dry_run)
        new = copy.deepcopy(old)
        new["metadata"].update(deletionTimestamp=rules.now(), deletionGracePeriodSeconds=0)
        if kind.has_generation:
            new["metadata"]["generation"] = old["metadata"].get("generation", 0) + 1
        return self._write(kind, "MODIFIED", new, previous=old, dry_run=options.dry_run)

    def _admit(self, kind: ResourceKind, obj: Body, old: Body | None, options: parsing.WriteOptions) -> Body:
        """Pruning, defaults, then validation, in the API server's order; one 422 names every field."""
        refused: list[FieldError] = []
        validator = self._validators.get(kind.resource)
        if validator is not None:
            # Undeclared fields are dropped silently, unless the client asked to hear about them.
            obj = validator.apply_defaults(obj if options.strict_fields else validator.prune(obj))
            refused.extend(validator.validate(obj, old))
        refused.extend(rules.finalizer_errors(obj, old))
        if refused:
            raise errors.Invalid.fields(kind, obj["metadata"]["name"], refused)
        return obj

    def _write(
        self, kind: ResourceKind, event_type: str, obj: Body, *, previous: Body | None, dry_run: bool
    ) -> Body:
        served: list[tuple[ResourceKind, ObjectValidator | None]] = []  # a deleted CRD serves nothing
        if kind == resources.CUSTOM_RESOURCE_DEFINITIONS and event_type != "DELETED":
            served = self._compile_crd(obj)
            obj.setdefault("status", crds.crd_status(obj))
        if dry_run:
            return obj
        committed = self._commit(kind, event_type, obj, previous)
        if kind == resources.CUSTOM_RESOURCE_DEFINITIONS:
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
        change = watching.Change(
            self._revision, event_type, shown, previous if event_type == "MODIFIED" else None
        )
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

    def _history(self, kind: ResourceKind) -> watching.History:
        return self._histories.setdefault(kind.resource, watching.History(self._watch_history))

    # -- rules needing the store --------------------------------------------------------------

    def _namespace_for(self, kind: ResourceKind, from_url: str | None, from_body: str | None) -> str | None:
        if not kind.namespaced:
            return None
        if from_url and from_body and from_url != from_body:
            raise errors.BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        return from_url or from_body or "default"

    def _generated_name(self, kind: ResourceKind, namespace: str | None, prefix: str | None) -> str:
        if not prefix:
            error = admission.ApiFieldError(
                "metadata.name", "Required value: name or generateName is required", "FieldValueRequired"
            )
            raise errors.Invalid.fields(kind, "", [error])
        while True:
            name = prefix + "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))
            if self._stored(kind, namespace, name) is None:
                return name

    def _check_identity(self, kind: ResourceKind, candidate: Body, request: kmock.Request) -> None:
        meta = candidate["metadata"]
        if meta.get("name", request.name) != request.name:
            raise errors.BadRequest(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({request.name})"
            )
        if kind.namespaced and meta.get("namespace", request.namespace) != request.namespace:
            raise errors.BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
            )

    def _check_preconditions(self, kind: ResourceKind, old: Body, preconditions: Mapping[str, Any]) -> None:
        meta = old["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field)
            if wanted and wanted != meta[field]:
                problem = f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: "
                problem += str(meta[field])
                raise errors.Conflict.object(kind, meta["name"], problem)
