"""The client over real TLS: mutual authentication, trust failures, connections, dropped answers.

An in-process aiohttp HTTPS server stands in for the endpoint (the emulator has its own tests in
`test_client_emulator.py`); it requires a client certificate, as the Service Management API does.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from controller.azure import client, credentials, errors, retry, wire
from controller.azure.refs import DeploymentRef
from tests.azure_fixtures import SUBSCRIPTION, Pki, TlsServer, make_pki, tls_server

REF = DeploymentRef(service="contoso-web", slot="Production")
DEPLOYMENT = wire.Deployment(name="d", deployment_slot="Production", status="Running")
QUICK = retry.RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def _client(pki: Pki, url: str, *, ca_pem: bytes | None) -> client.ServiceManagementClient:
    return client.ServiceManagementClient(
        endpoint=url,
        subscription_id=SUBSCRIPTION,
        credentials=credentials.ManagementCredentials(
            cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem
        ),
        ca_pem=ca_pem,
        retry_policy=QUICK,
    )


@asynccontextmanager
async def serving(
    pki: Pki, handler: Callable[[web.Request], Awaitable[web.StreamResponse]], **kwargs: bytes
) -> AsyncIterator[tuple[TlsServer, client.ServiceManagementClient]]:
    async with tls_server(pki, handler, **kwargs) as server:
        azure = _client(pki, server.url, ca_pem=pki.ca_pem)
        try:
            yield server, azure
        finally:
            await azure.aclose()


def _leftovers(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def _deployment(request: web.Request) -> web.StreamResponse:
    return web.Response(body=DEPLOYMENT.to_bytes(), content_type="application/xml")


async def _accepted(request: web.Request) -> web.StreamResponse:
    if request.method == "GET":
        return await _deployment(request)
    await request.read()
    return web.Response(status=202, headers={"x-ms-request-id": "1" * 32})


async def test_mutual_tls_round_trip(pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    async with serving(pki, _deployment) as (server, azure):
        assert await azure.get_deployment(ref=REF) == DEPLOYMENT

    assert server.seen[0][:2] == (
        "GET",
        f"/{SUBSCRIPTION}/services/hostedservices/contoso-web/deploymentslots/production",
    )
    assert _leftovers(tmp_path) == []  # the key's temporary files are gone


async def test_a_server_outside_the_ca_is_refused_without_retrying(pki: Pki) -> None:
    async with tls_server(pki, _deployment) as server:
        azure = _client(pki, server.url, ca_pem=make_pki().ca_pem)
        async with azure:
            with pytest.raises(errors.CredentialsError, match="not trusted"):
                await azure.get_deployment(ref=REF)

    assert server.seen == []


async def test_the_public_trust_store_does_not_trust_a_private_endpoint(pki: Pki) -> None:
    async with tls_server(pki, _deployment) as server, _client(pki, server.url, ca_pem=None) as azure:
        with pytest.raises(errors.CredentialsError):
            await azure.get_deployment(ref=REF)

    assert server.seen == []


async def test_a_certificate_refused_in_the_handshake_is_safe_to_send_again(pki: Pki) -> None:
    """TLS 1.2: the refusal is a handshake failure, so even a write is known never to have been sent."""
    stranger = make_pki()

    async with serving(pki, _accepted, trusted_client_pem=stranger.client_cert_pem) as (server, azure):
        with pytest.raises(errors.TransportError) as caught:
            await azure.reboot_role_instance(ref=REF, instance="WebRole1_IN_0")

    assert server.seen == []
    assert "ConnectError" in str(caught.value)


async def test_writes_use_a_fresh_connection_and_reads_reuse_theirs(pki: Pki) -> None:
    async with serving(pki, _accepted) as (server, azure):
        await azure.get_deployment(ref=REF)
        await azure.get_deployment(ref=REF)
        await azure.reboot_role_instance(ref=REF, instance="WebRole1_IN_0")
        await azure.reboot_role_instance(ref=REF, instance="WebRole1_IN_0")

    ports = [port for _, _, port in server.seen]
    assert ports[0] == ports[1]
    assert len({ports[0], ports[2], ports[3]}) == 3


def _drop_first(method: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler that processes every request but drops the connection instead of answering the first."""
    dropped = False

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal dropped
        if request.method == method and not dropped:
            dropped = True
            await request.read()
            assert request.transport is not None
            request.transport.close()  # processed, then gone: the client never hears back
            return web.Response(status=202)
        return await _accepted(request)

    return handler


async def test_a_write_dropped_after_processing_is_outcome_unknown_and_not_re_sent(pki: Pki) -> None:
    async with serving(pki, _drop_first("POST")) as (server, azure):
        with pytest.raises(errors.OutcomeUnknownError) as caught:
            await azure.reimage_role_instance(ref=REF, instance="WebRole1_IN_0")

    assert [method for method, _, _ in server.seen] == ["POST"]
    assert caught.value.operation == "ReimageRoleInstance"
    assert "WebRole1_IN_0" in caught.value.target


async def test_a_read_dropped_mid_answer_is_retried(pki: Pki) -> None:
    async with serving(pki, _drop_first("GET")) as (server, azure):
        assert await azure.get_deployment(ref=REF) == DEPLOYMENT

    assert [method for method, _, _ in server.seen] == ["GET", "GET"]
