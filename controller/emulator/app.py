"""The HTTP edge: an aiohttp application serving the Service Management API and the admin API.

Every API request goes through the same pipeline, whose order fixes which error wins:

    client certificate registered for the URL's subscription?   403 ForbiddenError
    x-ms-version present and well-formed?                        400 MissingOrIncorrectVersionHeader
    a known resource, verb and comp?                             404 / 400 InvalidHttpVerb / 400 comp
    version at least the operation's minimum?                    400 MissingOrIncorrectVersionHeader
    body read (at most 4 MiB)
    fault injection (latency, error, drop before processing)
    the operation's handler                                      its own documented errors
    fault injection (drop after processing)

Errors are rendered in one place (`errors.render`); an unexpected exception is logged and
answered as 500 InternalError, never a traceback. Every response, admin ones included, carries a
fresh `x-ms-request-id` and the service's usual headers; mutating requests go to the request log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from email.utils import formatdate

from aiohttp import web

from controller.azure.wire.common import MAX_BODY_BYTES
from controller.emulator import admin, certs, control, errors, faults, records, requestlog, routing, versions
from controller.emulator.names import OperationName
from controller.emulator.ops import HANDLERS

logger = logging.getLogger(__name__)

SERVER = "1.0.6198.319 (rd_rdfe_stable.160216-1642) Microsoft-HTTPAPI/2.0"
REGION = "ussouth3"
REQUEST_ID = web.RequestKey("request_id", str)
_MUTATING = frozenset({"POST", "PUT", "DELETE", "PATCH", "MERGE"})
_XML = "application/xml"


class _Dropped(Exception):
    """Close the connection without answering (fault injection)."""


@dataclasses.dataclass
class _Outcome:
    """What the request log records about one request as the pipeline learns it."""

    subscription_id: str
    thumbprint: str | None = None
    operation: OperationName | None = None
    aliases: frozenset[str] = frozenset()
    fault: str | None = None
    error_code: str | None = None


def create_app(ctl: control.Control, admin_token: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1)
    app[admin.CONTROL] = ctl
    app[admin.TOKEN] = admin_token
    app.on_response_prepare.append(_common_headers)
    admin.add_routes(app)
    app.router.add_route("*", "/{path:.*}", _api)
    return app


def new_request_id() -> str:
    """32 lower-case hex characters, like the service's."""
    return secrets.token_hex(16)


async def _api(request: web.Request) -> web.StreamResponse:
    request[REQUEST_ID] = new_request_id()
    ctl = request.app[admin.CONTROL]
    outcome = _Outcome(subscription_id=routing.subscription_of(request.path))
    response: web.StreamResponse | None = None
    try:
        response = _reply(await _serve(request, ctl, outcome))
    except _Dropped:
        if request.transport is not None:
            request.transport.abort()
    except errors.EmulatorError as exc:
        outcome.error_code = exc.error_code
        response = _error(exc)
    except Exception:
        logger.exception("unexpected error serving %s %s", request.method, request.path)
        outcome.error_code = errors.InternalError.code
        response = _error(errors.InternalError())
    if request.method.upper() in _MUTATING:
        _log(ctl.requests, request, outcome, response)
    return response or web.Response(status=500)  # never sent: the connection is gone


async def _serve(request: web.Request, ctl: control.Control, outcome: _Outcome) -> routing.Reply:
    outcome.thumbprint = _client_thumbprint(request)
    subscription = _authenticate(ctl, outcome.subscription_id, outcome.thumbprint)
    version = versions.parse(request.headers.get("x-ms-version"))
    query = {key.lower(): value for key, value in reversed(list(request.query.items()))}  # first wins
    route = routing.resolve(request.method, request.path, query)
    outcome.operation, outcome.aliases = route.operation, _aliases(ctl, subscription, route.target)
    versions.require(version, route.min_version, route.operation.value)
    body = await _body(request)
    fault = ctl.faults.pick(route.operation.value, outcome.aliases)
    if fault is not None:
        outcome.fault = fault.kind
        await _before_processing(fault)
    caller = records.Caller(subscription, outcome.thumbprint or "", request.remote or "", request[REQUEST_ID])
    call = routing.Call(route, version, query, body, caller, f"{request.scheme}://{request.host}")
    return _handle(ctl, call, drop_answer=fault is not None and fault.kind == "drop-after", outcome=outcome)


def _handle(
    ctl: control.Control, call: routing.Call, *, drop_answer: bool, outcome: _Outcome
) -> routing.Reply:
    """Run the operation's handler; with a drop-after fault, whatever it answers is lost."""
    try:
        reply = HANDLERS[call.route.operation](call, ctl.backend)
    except errors.EmulatorError as exc:
        if not drop_answer:
            raise
        outcome.error_code = exc.error_code  # processed (and refused); the answer is lost
        raise _Dropped() from None
    if drop_answer:
        raise _Dropped()
    return reply


def _client_thumbprint(request: web.Request) -> str | None:
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return certs.thumbprint_of_der(der) if der else None


def _authenticate(ctl: control.Control, subscription_id: str, thumbprint: str | None) -> str:
    """The subscription's canonical id, if the client certificate is one of its management certificates."""
    subscription = ctl.backend.state.subscription(subscription_id) if subscription_id else None
    if subscription is None or thumbprint is None or thumbprint not in subscription.thumbprints:
        raise errors.ForbiddenError()
    return subscription.id


def _aliases(ctl: control.Control, subscription_id: str, target: routing.Target) -> frozenset[str]:
    """Names of the target for fault rules and log filters: a deployment addressed by slot is
    also known by its name (and the reverse), so one rule covers both URI forms."""
    aliases = target.aliases()
    if target.service and (target.slot or target.deployment_name):
        try:
            deployment = ctl.backend.state.deployment(subscription_id, target.deployment_ref())[1]
        except errors.EmulatorError:
            return aliases
        both = routing.Target(
            subscription_id, target.service, deployment.slot, deployment.name, target.instance
        )
        aliases |= both.aliases()
    return aliases


async def _body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise errors.InvalidXmlRequest(f"The request body is larger than {MAX_BODY_BYTES} bytes.") from None


async def _before_processing(fault: faults.FaultRule) -> None:
    if fault.latency_seconds:
        await asyncio.sleep(fault.latency_seconds)
    if fault.kind == "error":
        raise fault.error()
    if fault.kind == "drop-before":
        raise _Dropped()


def _reply(reply: routing.Reply) -> web.Response:
    if reply.body is None:
        return web.Response(status=reply.status)
    return web.Response(status=reply.status, body=reply.body, content_type=_XML, charset="utf-8")


def _error(error: errors.EmulatorError) -> web.Response:
    return web.Response(
        status=error.http_status,
        body=errors.render(error),
        content_type=_XML,
        charset="utf-8",
        headers=error.headers,
    )


def _log(
    log: requestlog.RequestLog, request: web.Request, outcome: _Outcome, response: web.StreamResponse | None
) -> None:
    log.add(
        requestlog.RequestEntry(
            sequence=0,
            time=request.app[admin.CONTROL].backend.clock.now(),
            method=request.method.upper(),
            path=request.path,
            query=request.query_string,
            operation=outcome.operation.value if outcome.operation else None,
            subscription_id=outcome.subscription_id,
            aliases=outcome.aliases,
            request_id=request[REQUEST_ID],
            status=response.status if response is not None else None,
            error_code=outcome.error_code,
            fault=outcome.fault,
            thumbprint=outcome.thumbprint,
        )
    )


async def _common_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers the service puts on every response (reference §1), admin responses included."""
    if "x-ms-request-id" not in response.headers:
        response.headers["x-ms-request-id"] = request.get(REQUEST_ID) or new_request_id()
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Server"] = SERVER
    response.headers["x-ms-servedbyregion"] = REGION
    response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    response.headers["Date"] = formatdate(usegmt=True)
