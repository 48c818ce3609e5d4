"""
Request parsing: from aiohttp's request to kmock's, and the parts of a request a write reads.

kmock 0.8 reads "/api/v1/namespaces[/name]" as a namespace prefix (listing namespaces fails with
a 500, fetching one finds no resource), so requests are parsed here.
"""

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import aiohttp.web
import kmock

from controller.kube.apiserver import errors


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


async def parse_request(raw: aiohttp.web.BaseRequest, *, request_id: int) -> kmock.Request:
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


def media_type(request: kmock.Request) -> str:
    value = next((value for key, value in request.headers.items() if key.lower() == "content-type"), "")
    return value.split(";", 1)[0].strip().lower()


def json_body(request: kmock.Request) -> Any:
    """The body of a create or replace; protobuf (kubectl's typed commands) and CBOR are refused."""
    content_type = media_type(request)
    if content_type not in ("", "application/json"):
        raise errors.UnsupportedMediaType(
            f"the body of the request was in an unknown format ({content_type}): only JSON is served"
        )
    return request.data


@dataclasses.dataclass(frozen=True)
class WriteOptions:
    """How a write asks to be handled, from its query parameters."""

    dry_run: bool = False  # dryRun=All: answer as if written, keep nothing
    strict_fields: bool = False  # fieldValidation=Strict (kubectl's default): refuse undeclared fields

    @classmethod
    def of(cls, request: kmock.Request) -> "WriteOptions":
        return cls(
            dry_run=request.params.get("dryRun") == "All",
            strict_fields=request.params.get("fieldValidation") == "Strict",
        )
