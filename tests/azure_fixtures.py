"""Test helpers of the Azure client area: certificates, a scripted fake service, a sleep recorder.

The fake service is an `httpx.MockTransport` handler (the transport is the client's test seam):
it answers from a script and records every request it saw, so tests assert on what reached the
"service" rather than on how the client got there.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import random
import ssl
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controller.azure import client, limits, retry, wire

# looptime 0.9 asks the event loop policy for "the" loop before every test, sync ones included;
# before any async test ran, Python 3.11's policy answers by creating a loop that nobody closes,
# and its ResourceWarning (an error under filterwarnings=error) then fails a random later test.
# Declaring "no current loop" once makes the policy raise instead, which looptime expects.
# (Belongs in tests/conftest.py; kept here so these modules also pass when run on their own.)
asyncio.set_event_loop(None)

SUBSCRIPTION = "9f0c6a0e-1111-2222-3333-444455556666"
ENDPOINT = "https://management.example.test"
REQUEST_ID = "47993b1bcf4c7ea986f42e9923168c47"
SAS_URL = (
    "https://acct.blob.core.windows.net/pkgs/web-42.cspkg?sv=2022-11-02&sr=b&sp=r&se=2030-01-01&sig=SECRET"
)


# -- certificates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A CA, a server certificate it signed (127.0.0.1/localhost) and a self-signed client cert."""

    ca_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes
    client_cert_pem: bytes
    client_key_pem: bytes


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None,
    *,
    ca: bool = False,
    server: bool = False,
) -> bytes:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def make_pki() -> Pki:
    ca_key, server_key, client_key = _key(), _key(), _key()
    ca_pem = _certificate("test CA", ca_key, ca=True)
    return Pki(
        ca_pem=ca_pem,
        server_cert_pem=_certificate("localhost", server_key, ("test CA", ca_key), server=True),
        server_key_pem=_key_pem(server_key),
        client_cert_pem=_certificate("management certificate", client_key),
        client_key_pem=_key_pem(client_key),
    )


# -- a scripted fake service -------------------------------------------------------------------

Step = httpx.Response | type[httpx.HTTPError] | httpx.HTTPError | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeService:
    """Answers each request with the next scripted step (the last one repeats)."""

    steps: list[Step]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, type):
            raise step(f"scripted {step.__name__}", request=request)
        if isinstance(step, httpx.HTTPError):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)


def accepted(request_id: str = REQUEST_ID, status: int = 202) -> httpx.Response:
    return httpx.Response(status, headers={"x-ms-request-id": request_id})


def xml(document: wire.Document, status: int = 200, request_id: str = "0" * 32) -> httpx.Response:
    return httpx.Response(
        status,
        content=document.to_bytes(),
        headers={"Content-Type": "application/xml; charset=utf-8", "x-ms-request-id": request_id},
    )


def error(
    status: int,
    code: str,
    message: str = "",
    *,
    request_id: str = "e" * 32,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.Response(
        status,
        content=wire.Error(code=code, message=message).to_bytes(),
        headers={
            "Content-Type": "application/xml; charset=utf-8",
            "x-ms-request-id": request_id,
            **(headers or {}),
        },
    )


# -- time --------------------------------------------------------------------------------------


@dataclass
class SleepRecorder:
    """An injectable sleep that records each delay and then sleeps (virtually, under looptime)."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(delay)


@dataclass
class RecordingObserver:
    """A `RequestObserver` that keeps every call."""

    calls: list[tuple[str, str, int | None, float]] = field(default_factory=list)

    def on_request(self, operation: str, outcome: str, status: int | None, seconds: float) -> None:
        self.calls.append((operation, outcome, status, seconds))


FAST_RETRIES = retry.RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0, max_elapsed=60.0)


def make_client(
    service: FakeService,
    *,
    sleep: SleepRecorder | None = None,
    policy: retry.RetryPolicy = FAST_RETRIES,
    registry: limits.LimitsRegistry | None = None,
    observer: client.RequestObserver | None = None,
) -> client.ServiceManagementClient:
    return client.ServiceManagementClient(
        endpoint=ENDPOINT,
        subscription_id=SUBSCRIPTION,
        transport=httpx.MockTransport(service),
        retry_policy=policy,
        limits_registry=registry,
        observer=observer,
        sleep=sleep or SleepRecorder(),
        rng=random.Random(7),
    )


# -- a real HTTPS server with client-certificate authentication --------------------------------


@dataclass
class TlsServer:
    """What an in-process HTTPS test server saw: requests and the client ports they came from."""

    url: str = ""
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path_qs, client port)


def _server_context(pki: Pki, trusted_client_pem: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=trusted_client_pem.decode())
    with tempfile.TemporaryDirectory() as directory:
        cert, key = Path(directory, "cert.pem"), Path(directory, "key.pem")
        cert.write_bytes(pki.server_cert_pem)
        key.write_bytes(pki.server_key_pem)
        context.load_cert_chain(cert, key)
    return context


@contextlib.asynccontextmanager
async def tls_server(
    pki: Pki,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    *,
    trusted_client_pem: bytes | None = None,
) -> AsyncIterator[TlsServer]:
    """Serve `handler` over TLS at 127.0.0.1, requiring a client certificate.

    Management certificates are self-signed, so the server trusts the client certificate itself
    (`trusted_client_pem`, by default the PKI's client certificate).
    """
    context = _server_context(pki, trusted_client_pem or pki.client_cert_pem)
    server = TlsServer()

    async def recording(request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        server.seen.append((request.method, request.path_qs, peer[1] if peer else 0))
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recording)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    server.url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()
