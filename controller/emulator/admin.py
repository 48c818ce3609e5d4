"""The admin API: JSON under `/emulator/`, on the same HTTPS port as the Service Management API.

Every request needs `Authorization: Bearer <token>`, the token being the content of
`<state-dir>/admin-token` (401 otherwise). No client certificate is needed. Errors are
`{"error": {"code": ..., "message": ...}}` with a 4xx status.

    GET    /emulator/state           everything: subscriptions, services, deployments (instances,
                                     update in progress), timings, clock, package behaviours
    POST   /emulator/seed            create subscriptions, hosted services and steady deployments:
                                     {"subscriptions": [id], "hostedServices": [{"subscriptionId",
                                     "name", "label", "location", "extendedProperties", "deployments":
                                     [{"slot", "name", "packageUrl", "configuration" (cscfg XML, not
                                     base64), "label", "status", "extendedProperties",
                                     "upgradeDomainCount", "instanceSize", "sdkVersion"}]}]}
    GET    /emulator/subscriptions   subscriptions and certificate thumbprints / PEM paths
    POST   /emulator/subscriptions   {"subscriptionId", "certificatePem"?}: add a subscription with a
                                     generated management certificate (management/<id>.pem), and
                                     register an uploaded certificate too when given
    GET    /emulator/requests        the mutating-request log; filters (query): operation, method,
                                     target (service, service/slot, deployment or instance name),
                                     status, code, fault, since (a sequence number)
    DELETE /emulator/requests        clear the log
    GET    /emulator/operations      operation records; filters: subscription, operation, status
    GET    /emulator/faults          fault rules and how often each fired
    POST   /emulator/faults          add a rule: {"operation" (OperationName or "*"), "target"?,
                                     "kind": error|latency|drop-before|drop-after, "status", "code",
                                     "message", "latencySeconds", "retryAfterSeconds"?, "times"?,
                                     "rate", "seed"?}
    DELETE /emulator/faults          remove all rules
    DELETE /emulator/faults/{id}     remove one rule
    GET    /emulator/packages        package behaviours
    PUT    /emulator/packages        {"packageUrl", "behaviour": healthy|cycling|failing,
                                     "errorStatus", "errorCode", "errorMessage"}
    DELETE /emulator/packages        every package healthy again
    GET    /emulator/timings         {"acceptSeconds", "instanceStepSeconds", "upgradeDomainSeconds",
                                     "healthTimeoutSeconds"}
    PUT    /emulator/timings         change some of them (affects transitions scheduled afterwards)
    GET    /emulator/clock           {"now", "frozen"}
    POST   /emulator/clock           {"advanceSeconds"?, "frozen"?}: time travel forward / freeze
    GET    /emulator/settings        {"operationsPageSize"}
    PUT    /emulator/settings        {"operationsPageSize"}: page size of List Subscription Operations
    POST   /emulator/reset           empty emulator (subscriptions and certificates stay)
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pydantic
from aiohttp import web

from controller.emulator import control, errors, snapshots

CONTROL = web.AppKey("control", control.Control)
TOKEN = web.AppKey("admin_token", str)
PREFIX = "/emulator"

InputT = TypeVar("InputT", bound=pydantic.BaseModel)
AdminHandler = Callable[[web.Request, control.Control], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application) -> None:
    routes = [
        ("GET", "/state", get_state),
        ("POST", "/seed", post_seed),
        ("GET", "/subscriptions", get_subscriptions),
        ("POST", "/subscriptions", post_subscription),
        ("GET", "/requests", get_requests),
        ("DELETE", "/requests", delete_requests),
        ("GET", "/operations", get_operations),
        ("GET", "/faults", get_faults),
        ("POST", "/faults", post_fault),
        ("DELETE", "/faults", delete_faults),
        ("DELETE", "/faults/{rule_id}", delete_fault),
        ("GET", "/packages", get_packages),
        ("PUT", "/packages", put_package),
        ("DELETE", "/packages", delete_packages),
        ("GET", "/timings", get_timings),
        ("PUT", "/timings", put_timings),
        ("GET", "/clock", get_clock),
        ("POST", "/clock", post_clock),
        ("GET", "/settings", get_settings),
        ("PUT", "/settings", put_settings),
        ("POST", "/reset", post_reset),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, _admin(handler))
    app.router.add_route("*", PREFIX + "/{tail:.*}", _admin(_unknown))


def _admin(handler: AdminHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Authenticate, run, and turn errors into the admin API's JSON error shape."""

    async def run(request: web.Request) -> web.StreamResponse:
        if not _authorized(request):
            response = _error(
                401, "Unauthorized", "Send 'Authorization: Bearer <token>' (see <state-dir>/admin-token)."
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        try:
            return await handler(request, request.app[CONTROL])
        except errors.EmulatorError as exc:
            return _error(exc.http_status, exc.error_code, exc.message)
        except pydantic.ValidationError as exc:
            return _error(400, "BadRequest", _validation_message(exc))

    return run


def _authorized(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), request.app[TOKEN].encode()
    )


async def _input(request: web.Request, model: type[InputT]) -> InputT:
    try:
        data = await request.json() if request.can_read_body else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.BadRequest("The body is not JSON.") from None
    return model.model_validate(data)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _error(status: int, code: str, message: str) -> web.Response:
    return _json({"error": {"code": code, "message": message}}, status=status)


def _validation_message(exc: pydantic.ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}" for error in exc.errors()]
    return "; ".join(parts)


async def _unknown(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    return _error(404, "NotFound", f"No admin endpoint {request.method} {request.path}.")


async def get_state(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    return _json(snapshots.everything(ctl))


async def post_seed(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    services = ctl.seed(await _input(request, control.Seed))
    now = ctl.backend.clock.now()
    return _json({"hostedServices": [snapshots.hosted_service(service, now) for service in services]}, 201)


async def get_subscriptions(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    return _json({"subscriptions": snapshots.subscriptions(ctl)})


async def post_subscription(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    certificates = ctl.add_subscription(await _input(request, control.SubscriptionInput))
    return _json(snapshots.subscription_json(certificates[0].subscription_id, certificates), 201)


async def get_requests(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    return _json({"requests": [entry.to_json() for entry in ctl.requests.entries(request.query)]})


async def delete_requests(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    ctl.requests.clear()
    return web.Response(status=204)


async def get_operations(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    ctl.backend.advance()
    records = [
        record
        for record in ctl.backend.operations.all()
        if snapshots.operation_matches(record, request.query)
    ]
    return _json({"operations": [snapshots.operation(record) for record in records]})


async def get_faults(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    return _json({"faults": [rule.to_json() for rule in ctl.faults.rules()]})


async def post_fault(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    rule = ctl.add_fault(await _input(request, control.FaultInput))
    return _json(rule.to_json(), 201)


async def delete_faults(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    ctl.faults.clear()
    return web.Response(status=204)


async def delete_fault(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    if not ctl.faults.remove(request.match_info["rule_id"]):
        return _error(404, "NotFound", "No such fault rule.")
    return web.Response(status=204)


async def get_packages(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    packages = [{"packageUrl": url, **behaviour.to_json()} for url, behaviour in ctl.backend.packages.items()]
    return _json({"packages": packages})


async def put_package(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    payload = await _input(request, control.PackageInput)
    behaviour = ctl.set_package(payload)
    return _json({"packageUrl": payload.package_url, **behaviour.to_json()})


async def delete_packages(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    ctl.backend.packages.clear()
    return web.Response(status=204)


async def get_timings(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    return _json(ctl.backend.timings.to_json())


async def put_timings(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    try:
        changes = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.BadRequest("The body is not JSON.") from None
    if not isinstance(changes, dict):
        raise errors.BadRequest("The body must be a JSON object of timings.")
    return _json(ctl.set_timings(changes).to_json())


async def get_clock(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    return _json(snapshots.clock(ctl))


async def post_clock(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    ctl.move_clock(await _input(request, control.ClockInput))
    return _json(snapshots.clock(ctl))


async def get_settings(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    return _json({"operationsPageSize": ctl.backend.page_size})


async def put_settings(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    ctl.set_settings(await _input(request, control.SettingsInput))
    return _json({"operationsPageSize": ctl.backend.page_size})


async def post_reset(request: web.Request, ctl: control.Control) -> web.StreamResponse:
    ctl.reset()
    return web.Response(status=204)
