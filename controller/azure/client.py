"""The controller's one gateway to Azure: an async Service Management client with typed models.

One typed method per remote operation (keyword-only arguments, wire models in and out, request
ids for asynchronous operations). Every HTTP attempt goes through one pipeline:

    limits (semaphore + token bucket) -> httpx -> 307 redirects -> classification -> retry loop

- Errors: `errors` draws the tree and holds the one classification table; `_transport_error`
  below is the one place that maps httpx exceptions onto it (chained with `from`).
- Retries: `retry` decides what may be sent again. Reads are retried freely within bounds; a
  mutating call is re-sent only if it certainly never reached the service or was refused
  (429/503/408). A mutating call whose outcome is unknown raises `OutcomeUnknownError`.
- Mutating calls always use a fresh connection (no keep-alive pool): on a pooled connection the
  server may close an idle socket just as we write, and httpx reports that as "server
  disconnected" — indistinguishable from a drop after processing, so it would turn a harmless
  race into `OutcomeUnknownError` (encode/httpx#2983). A handshake per write is cheap; writes are
  rare. Reads keep their pool.
- 307/308 are followed by hand (same method and body, https only, bounded): httpx's own
  redirect handling would also follow 301-303 and plain-http locations.
- The transport is the seam for tests (`transport=httpx.MockTransport(...)`); nothing is patched.
- Cancelling a mutating call (e.g. a task timeout around it) leaves its outcome unknown exactly
  like a lost answer: the caller that cancels must look the operation up before re-issuing.

This is the only module of the project importing httpx.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar
from urllib.parse import quote

import httpx

from controller.azure import credentials as creds
from controller.azure import errors, limits, operations, redaction, retry, wire
from controller.azure.refs import DeploymentRef

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=wire.WireModel)

# 2014-10-01 is what the Python and Go SDKs send; it covers everything used here (Simultaneous
# mode needs >= 2012-12-01, ExtensionConfiguration >= 2013-03-01, Extension State >= 2014-06-01).
DEFAULT_API_VERSION = "2014-10-01"
# List Subscription Operations and Get Operation Status: the Python SDK's version, whose
# documents (nested OperationStatus, `a:`-prefixed parameters) are the shapes modelled in wire.
DEFAULT_OPERATIONS_API_VERSION = "2014-10-01"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
MAX_REDIRECTS = 5
USER_AGENT = "cloudservice-operator"
REDIRECT_STATUSES = frozenset({307, 308})
# httpx failures that prove the request never reached a server: safe to send again, even a write.
_NEVER_SENT: tuple[type[httpx.HTTPError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RequestObserver(Protocol):
    """Metrics hook: called once per HTTP attempt (retries and redirects included).

    `operation` is the API operation (e.g. `UpgradeDeployment`), `outcome` is `success`,
    `redirect` or an error class's `outcome` (`throttled`, `conflict`, `outcome_unknown`, ...),
    `status` the HTTP status when an answer came, `seconds` the attempt's latency.
    """

    def on_request(self, operation: str, outcome: str, status: int | None, seconds: float) -> None: ...


@dataclass(frozen=True)
class _Call:
    """One logical API call: what to send, and how to name it in errors, logs and metrics."""

    operation: str
    method: str
    path: str
    target: str
    api_version: str
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    @property
    def mutating(self) -> bool:
        return self.method != "GET"


class ServiceManagementClient:
    """Typed async client of the classic Service Management API for one subscription.

    Build it once per (endpoint, subscription, credentials) and close it with `aclose()` (or use
    `async with`). Pass the same `limits` registry to every client of the process so request
    limits are shared per subscription (see `limits`).
    """

    def __init__(
        self,
        *,
        endpoint: str,
        subscription_id: str,
        credentials: creds.ManagementCredentials | None = None,
        ca_pem: bytes | None = None,
        api_version: str = DEFAULT_API_VERSION,
        operations_api_version: str = DEFAULT_OPERATIONS_API_VERSION,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry_policy: retry.RetryPolicy | None = None,
        limits_registry: limits.LimitsRegistry | None = None,
        observer: RequestObserver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not endpoint.lower().startswith("https://"):
            raise ValueError("the Service Management endpoint must be an https:// URL")
        if credentials is None and transport is None:
            raise ValueError("credentials are required (only a test transport may do without)")
        self.endpoint = endpoint.rstrip("/")
        self.subscription_id = subscription_id
        self._api_version = api_version
        self._operations_api_version = operations_api_version
        self._observer = observer
        self._sleep = sleep
        self._retrier = retry.Retrier(
            retry_policy or retry.RetryPolicy(), sleep=sleep, rng=rng or random.Random()
        )
        self._limits = (limits_registry or limits.LimitsRegistry()).for_endpoint(
            self.endpoint, subscription_id
        )
        self._thumbprint = credentials.thumbprint if credentials else "-"
        context = (
            creds.client_ssl_context(credentials, ca_pem=ca_pem) if credentials and not transport else None
        )
        self._reads = self._http(context, transport, timeout, keepalive=True)
        self._writes = self._http(context, transport, timeout, keepalive=False)

    @staticmethod
    def _http(
        context: ssl.SSLContext | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout: httpx.Timeout,
        *,
        keepalive: bool,
    ) -> httpx.AsyncClient:
        pool = httpx.Limits(max_connections=100, max_keepalive_connections=20 if keepalive else 0)
        return httpx.AsyncClient(
            verify=context or True,  # never False: there is no way to switch verification off
            transport=transport,
            timeout=timeout,
            limits=pool,
            follow_redirects=False,
            trust_env=False,  # proxies/CA bundles from the environment must not change who we trust
            headers={"User-Agent": USER_AGENT, "Accept": "application/xml"},
        )

    def __repr__(self) -> str:
        return (
            f"ServiceManagementClient(endpoint={self.endpoint!r}, subscription_id={self.subscription_id!r}, "
            f"certificate={self._thumbprint!r})"
        )

    async def aclose(self) -> None:
        """Close both connection pools."""
        await self._reads.aclose()
        await self._writes.aclose()

    async def __aenter__(self) -> ServiceManagementClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- deployments -------------------------------------------------------------------------

    async def get_deployment(self, *, ref: DeploymentRef) -> wire.Deployment:
        """Get Deployment by slot or name; `NotFoundError` when the slot is empty."""
        call = self._deployment_call("GetDeployment", "GET", ref)
        return await self._read(call, wire.Deployment)

    async def upgrade_deployment(self, *, ref: DeploymentRef, body: wire.UpgradeDeployment) -> str:
        """Upgrade Deployment (`wire.UpgradeDeployment.build(...)` takes plain text); the request id."""
        return await self._mutate(self._deployment_call("UpgradeDeployment", "POST", ref, "upgrade", body))

    async def change_deployment_configuration(
        self, *, ref: DeploymentRef, body: wire.ChangeConfiguration
    ) -> str:
        """Change Deployment Configuration; the request id."""
        return await self._mutate(
            self._deployment_call("ChangeDeploymentConfiguration", "POST", ref, "config", body)
        )

    async def walk_upgrade_domain(self, *, ref: DeploymentRef, upgrade_domain: int) -> str:
        """Walk Upgrade Domain `upgrade_domain` (zero-based) of a Manual update; the request id."""
        body = wire.WalkUpgradeDomain(upgrade_domain=upgrade_domain)
        call = self._deployment_call("WalkUpgradeDomain", "POST", ref, "walkupgradedomain", body)
        return await self._mutate(_retarget(call, f"{ref} domain {upgrade_domain}"))

    async def rollback_update_or_upgrade(
        self, *, ref: DeploymentRef, mode: str = "Auto", force: bool = False
    ) -> str:
        """Rollback Update Or Upgrade (answers 200, not 202); the request id."""
        body = wire.RollbackUpdateOrUpgrade(mode=mode, force=force)
        return await self._mutate(
            self._deployment_call("RollbackDeploymentUpdateOrUpgrade", "POST", ref, "rollback", body)
        )

    async def update_deployment_status(self, *, ref: DeploymentRef, status: str) -> str:
        """Update Deployment Status to `Running` or `Suspended`; the request id."""
        body = wire.UpdateDeploymentStatus(status=status)
        return await self._mutate(
            self._deployment_call("UpdateDeploymentStatus", "POST", ref, "status", body)
        )

    async def reimage_role_instance(self, *, ref: DeploymentRef, instance: str) -> str:
        """Reimage Role Instance (fresh OS image); the request id."""
        return await self._mutate(
            self._instance_call("ReimageRoleInstance", ref, instance, (("comp", "reimage"),))
        )

    async def reboot_role_instance(self, *, ref: DeploymentRef, instance: str) -> str:
        """Reboot Role Instance; the request id."""
        return await self._mutate(
            self._instance_call("RebootRoleInstance", ref, instance, (("comp", "reboot"),))
        )

    async def rebuild_role_instance(self, *, ref: DeploymentRef, instance: str) -> str:
        """Rebuild Role Instance (reimage + re-initialise all local drives); the request id."""
        params = (("comp", "rebuild"), ("resources", "allLocalDrives"))
        return await self._mutate(self._instance_call("RebuildRoleInstance", ref, instance, params))

    # -- hosted services (seeding) -----------------------------------------------------------

    async def create_hosted_service(self, *, body: wire.CreateHostedService) -> str:
        """Create Hosted Service (synchronous: 201 Created); the request id."""
        path = f"/{self.subscription_id}/services/hostedservices"
        call = self._call("CreateHostedService", "POST", path, body.service_name, body=body.to_bytes())
        return await self._mutate(call)

    async def get_hosted_service(self, *, service: str, embed_detail: bool = False) -> wire.HostedService:
        """Get Hosted Service Properties (with its deployments when `embed_detail`)."""
        path = f"/{self.subscription_id}/services/hostedservices/{quote(service, safe='')}"
        params = (("embed-detail", "true"),) if embed_detail else ()
        call = self._call("GetHostedServiceProperties", "GET", path, service, params=params)
        return await self._read(call, wire.HostedService)

    async def create_deployment(self, *, ref: DeploymentRef, body: wire.CreateDeployment) -> str:
        """Create Deployment in `ref.slot` (`wire.CreateDeployment.build(...)`); the request id."""
        if ref.slot is None:
            raise ValueError("Create Deployment addresses a slot, not a deployment name")
        call = self._call(
            "CreateDeployment", "POST", ref.path(self.subscription_id), str(ref), body=body.to_bytes()
        )
        return await self._mutate(call)

    # -- operations --------------------------------------------------------------------------

    async def get_operation_status(self, *, request_id: str) -> wire.Operation:
        """Get Operation Status of a request id (InProgress / Succeeded / Failed)."""
        path = f"/{self.subscription_id}/operations/{request_id}"
        call = self._call(
            "GetOperationStatus", "GET", path, f"request {request_id}", version=self._operations_api_version
        )
        return await self._read(call, wire.Operation)

    async def wait_for_operation(
        self,
        *,
        request_id: str,
        poll_interval: float = 5.0,
        timeout: float = 900.0,  # noqa: ASYNC109 — a polling deadline (contract name), checked between polls
        raise_on_failure: bool = False,
    ) -> wire.Operation:
        """Poll until the operation finishes and return it (Failed ones carry their Error).

        `OperationTimeoutError` if still running after `timeout` seconds; with
        `raise_on_failure`, a Failed operation raises `OperationFailedError` instead.
        """
        operation = await operations.wait(
            lambda: self.get_operation_status(request_id=request_id),
            request_id=request_id,
            poll_interval=poll_interval,
            timeout=timeout,
            sleep=self._sleep,
            clock=asyncio.get_running_loop().time,
        )
        return operations.raise_if_failed(operation, request_id=request_id) if raise_on_failure else operation

    async def list_subscription_operations(
        self,
        *,
        start: datetime.datetime,
        end: datetime.datetime,
        object_id: str | None = None,
        result: str | None = None,
        max_pages: int = 100,
    ) -> list[wire.SubscriptionOperation]:
        """List Subscription Operations in [start, end], following ContinuationToken to the end.

        `object_id` is an object's path, e.g. `ref.service_path(subscription_id)`; `result` one
        of Succeeded / Failed / InProgress. A listing is complete or an error: recovery must
        never conclude "not issued" from a partial answer.
        """
        base = [("StartTime", operations.format_time(start)), ("EndTime", operations.format_time(end))]
        base += [("ObjectIdFilter", object_id)] if object_id else []
        base += [("OperationResultFilter", result)] if result else []
        found: list[wire.SubscriptionOperation] = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(max_pages):
            params = tuple(base + ([("ContinuationToken", token)] if token else []))
            page = await self._read(self._operations_list_call(params), wire.SubscriptionOperationCollection)
            found += page.subscription_operations
            token = page.continuation_token or None
            if token is None:
                return found
            if token in seen:
                raise self._listing_error("the service repeated a ContinuationToken")
            seen.add(token)
        raise self._listing_error(f"more than {max_pages} pages")

    def _operations_list_call(self, params: tuple[tuple[str, str], ...]) -> _Call:
        path = f"/{self.subscription_id}/operations"
        return self._call(
            "ListSubscriptionOperations",
            "GET",
            path,
            "subscription",
            params=params,
            version=self._operations_api_version,
        )

    @staticmethod
    def _listing_error(reason: str) -> errors.MalformedResponseError:
        return errors.MalformedResponseError(
            status=200, code="IncompleteListing", message=reason, operation="ListSubscriptionOperations"
        )

    # -- building calls ----------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        target: str,
        *,
        params: tuple[tuple[str, str], ...] = (),
        body: bytes | None = None,
        version: str | None = None,
    ) -> _Call:
        return _Call(operation, method, path, target, version or self._api_version, params, body)

    def _deployment_call(
        self,
        operation: str,
        method: str,
        ref: DeploymentRef,
        comp: str | None = None,
        body: wire.Document | None = None,
    ) -> _Call:
        path = ref.path(self.subscription_id)
        if comp is None:
            return self._call(operation, method, path, str(ref))
        # `…/<slot-or-name>/?comp=…`: the trailing slash is what the SDKs send (reference §1).
        content = body.to_bytes() if body is not None else b""
        return self._call(operation, method, f"{path}/", str(ref), params=(("comp", comp),), body=content)

    def _instance_call(
        self, operation: str, ref: DeploymentRef, instance: str, params: tuple[tuple[str, str], ...]
    ) -> _Call:
        path = f"{ref.path(self.subscription_id)}/roleinstances/{quote(instance, safe='')}"
        # Body-less POST: Content-Length: 0 is required by the docs (httpx sends it for b"").
        return self._call(operation, "POST", path, f"{ref} instance {instance}", params=params, body=b"")

    # -- the pipeline ------------------------------------------------------------------------

    async def _read(self, call: _Call, model: type[ModelT]) -> ModelT:
        response = await self._retrier.run(
            lambda: self._attempt(call), mutating=False, describe=_describe(call)
        )
        try:
            return wire.parse(model, response.content)
        except wire.MalformedXml as exc:
            raise errors.MalformedResponseError(
                status=response.status_code,
                code="MalformedResponse",
                message=str(exc),
                request_id=_request_id(response),
                operation=call.operation,
                target=call.target,
            ) from exc

    async def _mutate(self, call: _Call) -> str:
        response = await self._retrier.run(
            lambda: self._attempt(call), mutating=True, describe=_describe(call)
        )
        request_id = _request_id(response)
        if not request_id:
            logger.warning("%s: accepted without an x-ms-request-id", _describe(call))
        return request_id

    async def _attempt(self, call: _Call) -> httpx.Response:
        """One attempt: send, follow 307s, return a 2xx answer or raise the classified error."""
        url = httpx.URL(self.endpoint + call.path, params=call.params)
        for _ in range(MAX_REDIRECTS + 1):
            response, started = await self._send(call, url)
            if response.status_code in REDIRECT_STATUSES:
                self._observe(call, "redirect", response.status_code, started)
                url = _redirect_target(call, response, url)
                continue
            if response.is_success:
                self._observe(call, "success", response.status_code, started)
                return response
            error = _api_error(call, response)
            self._observe(call, error.outcome, response.status_code, started)
            if isinstance(error, errors.RetryableError) and error.retry_after:
                self._limits.hold_off(error.retry_after)  # the whole subscription stays away
            raise error
        raise errors.PermanentError(
            status=307, code="TooManyRedirects", message=f"more than {MAX_REDIRECTS} redirects",
            operation=call.operation, target=call.target,
        )  # fmt: skip

    async def _send(self, call: _Call, url: httpx.URL) -> tuple[httpx.Response, float]:
        """Send once within the endpoint limits; the answer and when sending started."""
        client = self._writes if call.mutating else self._reads
        headers = {"x-ms-version": call.api_version}
        if call.body is not None:
            headers["Content-Type"] = "application/xml"
        async with self._limits.slot():
            started = asyncio.get_running_loop().time()
            try:
                response = await client.request(call.method, url, content=call.body, headers=headers)
            except httpx.HTTPError as exc:
                error = _transport_error(call, exc)
                self._observe(call, error.outcome, None, started)
                raise error from exc
        logger.debug("%s %s -> %d", call.method, redaction.redact_url(str(url)), response.status_code)
        return response, started

    def _observe(self, call: _Call, outcome: str, status: int | None, started: float) -> None:
        if self._observer is None:
            return
        seconds = asyncio.get_running_loop().time() - started
        try:
            self._observer.on_request(call.operation, outcome, status, seconds)
        except Exception:  # metrics must never break a call
            logger.warning("request observer failed for %s", call.operation, exc_info=True)


def _retarget(call: _Call, target: str) -> _Call:
    return _Call(call.operation, call.method, call.path, target, call.api_version, call.params, call.body)


def _describe(call: _Call) -> str:
    return f"{call.operation} {call.target}"


def _request_id(response: httpx.Response) -> str:
    return str(response.headers.get("x-ms-request-id", ""))


def _redirect_target(call: _Call, response: httpx.Response, current: httpx.URL) -> httpx.URL:
    """Where a 307 sends us: https only, or the redirect is refused (our client cert goes along)."""
    location = response.headers.get("Location", "")
    try:
        target = current.join(location) if location else None
    except httpx.InvalidURL:
        target = None
    if target is None or target.scheme != "https":
        raise errors.PermanentError(
            status=response.status_code, code="InsecureRedirect",
            message=f"refusing to follow a redirect to {redaction.redact_url(location) or 'nowhere'}",
            request_id=_request_id(response), operation=call.operation, target=call.target,
        )  # fmt: skip
    return target


def _api_error(call: _Call, response: httpx.Response) -> errors.ApiError:
    return errors.from_answer(
        status=response.status_code,
        body=response.content,
        reason=response.reason_phrase,
        request_id=_request_id(response),
        retry_after=retry.parse_retry_after(response.headers.get("Retry-After")),
        operation=call.operation,
        target=call.target,
    )


def _transport_error(call: _Call, exc: httpx.HTTPError) -> errors.AzureError:
    """THE mapping of httpx failures: safe to re-send, outcome unknown, or a trust failure."""
    trust_failure = _tls_trust_failure(exc)
    if trust_failure:
        return errors.CredentialsError(trust_failure, operation=call.operation, target=call.target)
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, _NEVER_SENT) or not call.mutating:
        return errors.TransportError(reason, operation=call.operation, target=call.target)
    return errors.OutcomeUnknownError(reason, operation=call.operation, target=call.target)


def _tls_trust_failure(exc: BaseException) -> str | None:
    """Why TLS failed on trust (before any byte of the request was sent), if that is the cause."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            detail = getattr(current, "verify_message", "") or "verification failed"
            return f"the server's certificate is not trusted: {detail}"
        if isinstance(current, ssl.SSLError) and "ALERT" in (current.reason or "").upper():
            return f"the server refused the TLS handshake ({current.reason}): is the certificate registered?"
        current = current.__cause__ or current.__context__
    return None
