"""
Routing: the semantic reactions, one answer per API operation.

Each request for a served resource is answered from the store: list, get, create, replace,
patch, delete and watch (initial events, then live ones until the deadline). They are registered
with kmock's DSL below every user reaction, so that a test's reaction intercepts a request before
it changes anything.
"""

import copy
import sys
from collections.abc import AsyncIterator
from typing import Final

import kmock

from controller.kube.apiserver import errors, parsing, patches, rules, selectors, watching
from controller.kube.apiserver.resources import Body, ResourceKind
from controller.kube.apiserver.store import ObjectStore

# Below every user reaction (so kmock's DSL can still intercept), above kmock's own fallbacks.
_SEMANTICS: Final = -sys.float_info.max


class ApiRoutes(ObjectStore):
    """
    The answers to requests for served resources, and their routes in kmock's DSL.

    One of the layers of :class:`~.server.KubeApiServer`.
    """

    def _route(self) -> None:
        # Status and headers are fixed per reaction (kmock shares a reaction's response metadata
        # between its requests), hence one reaction for creations (201), one for watches.
        semantics = self**_SEMANTICS
        semantics[kmock.action.CREATE] << 201 << self._answer_create
        semantics[kmock.action.WATCH] << {"Content-Type": "application/json"} << self._answer_watch
        semantics[self._is_resource_request] << self._answer

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
            raise errors.NotFound.resource()
        if not kind.namespaced and request.namespace is not None:
            raise errors.NotFound.resource()
        return kind

    def _answer(self, request: kmock.Request) -> kmock.Payload:
        kind = self._kind_of(request)
        if request.action == kmock.action.LIST:
            return self._list(kind, selectors.Selector.of(request))
        if request.action == kmock.action.FETCH:
            return self._existing(kind, request.namespace, request.name)
        if request.action == kmock.action.UPDATE:
            return self._answer_patch(kind, request)
        if request.action == kmock.action.DELETE:
            return self._answer_delete(kind, request)
        if request.method == kmock.method.PUT and request.name is not None:
            return self._answer_put(kind, request)
        raise errors.MethodNotAllowed(
            f"the server does not allow this method on the requested resource ({request.method})"
        )

    def _answer_create(self, request: kmock.Request) -> kmock.Payload:
        kind = self._kind_of(request)
        return self._create(
            kind, request.namespace, parsing.json_body(request), parsing.WriteOptions.of(request)
        )

    def _answer_put(self, kind: ResourceKind, request: kmock.Request) -> Body:
        old = self._existing(kind, request.namespace, request.name)
        candidate = rules.object_body(parsing.json_body(request))
        rules.check_type(kind, candidate)
        return self._update(kind, old, candidate, request)

    def _answer_patch(self, kind: ResourceKind, request: kmock.Request) -> Body:
        old = self._existing(kind, request.namespace, request.name)
        candidate = patches.patched(kind, copy.deepcopy(old), request.data, parsing.media_type(request))
        return self._update(kind, old, candidate, request)

    def _answer_delete(self, kind: ResourceKind, request: kmock.Request) -> Body:
        old = self._existing(kind, request.namespace, request.name)
        options = request.data if isinstance(request.data, dict) else {}
        self._check_preconditions(kind, old, options.get("preconditions") or {})
        return self._delete(kind, old, parsing.WriteOptions.of(request))

    def _answer_watch(self, request: kmock.Request) -> AsyncIterator[kmock.Payload]:
        # Everything up to registering the watch happens without awaiting: no change can slip
        # between the initial events and the live ones.
        kind, selector = self._kind_of(request), selectors.Selector.of(request)
        deadline = watching.watch_deadline(request)
        since = watching.watch_start(request)
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
        watch = watching.Watch(selector)
        self._watches[kind.resource].add(watch)
        return self._stream(initial, watch=watch, kind=kind, deadline=deadline)

    async def _stream(
        self, initial: list[Body], *, watch: watching.Watch | None, kind: ResourceKind, deadline: float
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
        return {
            "type": "ERROR",
            "object": errors.Expired(f"too old resource version: {since} ({oldest})").status(),
        }

    def _close_watches(self) -> None:
        for watches in self._watches.values():
            for watch in watches:
                watch.close()
