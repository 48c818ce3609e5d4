"""
The server: its public face (:meth:`~KubeApiServer.serve`, ``url``, ``kubeconfig``, ``events``)
and the HTTP edge, where every request is parsed, logged for kmock and answered, failures too.

:class:`KubeApiServer` is built in layers, each in its own module, each using only those below:
``registry.ResourceRegistry`` (what is served), ``store.ObjectStore`` (objects and their rules),
``routing.ApiRoutes`` (one answer per operation), and this one.
"""

import collections
import contextlib
import os
import pathlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Self

import aiohttp.web
import kmock
import yaml
import yarl
from kmock._internal import rendering  # StreamingError is not exported

from controller.kube.apiserver import admission, errors, parsing, resources, watching
from controller.kube.apiserver.admission import ObjectValidator, ValidatorFactory
from controller.kube.apiserver.resources import Body, ResourceKind
from controller.kube.apiserver.routing import ApiRoutes


class KubeApiServer(ApiRoutes):
    """
    A Kubernetes API server in memory, for tests and the sandbox (see the package docstring).

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
        validator_factory: ValidatorFactory = admission.crd_schema_validator,
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
        self._histories: dict[kmock.resource, watching.History] = {}
        self._watches: dict[kmock.resource, set[watching.Watch]] = collections.defaultdict(set)
        self._revision = 0
        self._site_url: yarl.URL | None = None
        for kind in resources.BUILTIN_KINDS:
            self._serve_kind(kind)
        self._create(resources.NAMESPACES, None, {"metadata": {"name": "default"}}, parsing.WriteOptions())
        for crd in crds:
            self._create(resources.CUSTOM_RESOURCE_DEFINITIONS, None, dict(crd), parsing.WriteOptions())
        self._route()

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
            for event in self._live_objects(resources.EVENTS)
            if namespace in (None, event["metadata"]["namespace"])
        ]
        return sorted(posted, key=lambda event: int(event["metadata"]["resourceVersion"]))

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # Replaces kmock's entry point for its request parsing (see parsing.parse_request).
        request = await parsing.parse_request(raw_request, request_id=len(self._requests))
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
        if isinstance(exc, errors.ApiError):
            return exc.response()
        if isinstance(exc, kmock.KubernetesError):  # kmock's discovery: unknown group or endpoint
            return errors.NotFound(
                exc.message or "the server could not find the requested resource"
            ).response()
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
