"""Management-certificate authentication: the client certificate must belong to the URL's subscription."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from controller.azure import wire
from controller.emulator import certs, control
from controller.emulator.server import EmulatorServer

pytest.register_assert_rewrite("tests.emulator_fixtures")  # before the import below
pytest_plugins = ["tests.emulator_fixtures"]

from tests.emulator_fixtures import (  # noqa: E402
    OTHER_SUBSCRIPTION,
    SERVICE,
    SUBSCRIPTION,
    VERSION,
    Sm,
    client_context,
    recent_window,
)

FORBIDDEN = wire.Error(
    code="ForbiddenError",
    message="The server failed to authenticate the request. "
    "Verify that the certificate is valid and is associated with this subscription.",
)


async def get(emulator: EmulatorServer, context: ssl.SSLContext, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        base_url=emulator.url, verify=context, headers={"x-ms-version": VERSION}
    ) as client:
        return await client.get(path)


async def test_a_request_without_a_certificate_gets_the_403_body(emulator: EmulatorServer) -> None:
    response = await get(
        emulator, client_context(emulator, None), f"/{SUBSCRIPTION}/services/hostedservices/{SERVICE}"
    )
    assert response.status_code == 403
    assert wire.parse(wire.Error, response.content) == FORBIDDEN
    assert len(response.headers["x-ms-request-id"]) == 32


async def test_another_subscriptions_certificate_is_refused(emulator: EmulatorServer) -> None:
    response = await get(
        emulator, client_context(emulator, OTHER_SUBSCRIPTION), f"/{SUBSCRIPTION}/operations"
    )
    assert response.status_code == 403
    assert wire.parse(wire.Error, response.content) == FORBIDDEN


async def test_an_unknown_subscription_is_refused(emulator: EmulatorServer) -> None:
    response = await get(
        emulator, client_context(emulator), "/00000000-0000-0000-0000-000000000000/operations"
    )
    assert response.status_code == 403


async def test_authentication_comes_before_every_other_check(emulator: EmulatorServer) -> None:
    async with httpx.AsyncClient(base_url=emulator.url, verify=client_context(emulator, None)) as client:
        response = await client.put(f"/{SUBSCRIPTION}/nowhere")  # no version header, bad path, bad verb
    assert response.status_code == 403


async def test_the_caller_thumbprint_is_recorded(deployed: Sm, emulator: EmulatorServer) -> None:
    expected = certs.thumbprint(x509.load_pem_x509_certificate(emulator.management_pem(SUBSCRIPTION)))
    response = await deployed.get("/operations", params=recent_window())
    collection = wire.parse(wire.SubscriptionOperationCollection, response.content)
    thumbprints = {
        op.operation_caller.subscription_certificate_thumbprint
        for op in collection.subscription_operations
        if op.operation_caller
    }
    assert thumbprints == {expected}


def self_signed(tmp_path: Path) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "my own management certificate")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    path = tmp_path / "own.pem"
    path.write_bytes(
        certificate_pem
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path, certificate_pem.decode()


async def test_an_uploaded_self_signed_certificate_authenticates(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    path, certificate_pem = self_signed(tmp_path)
    context = ssl.create_default_context(cadata=emulator.ca_pem.decode())
    context.load_cert_chain(path)
    emulator.control.add_subscription(
        control.SubscriptionInput(subscription_id=SUBSCRIPTION, certificate_pem=certificate_pem)
    )
    response = await get(emulator, context, f"/{SUBSCRIPTION}/services/hostedservices/{SERVICE}")
    assert response.status_code == 404  # authenticated
    response = await get(emulator, context, f"/{OTHER_SUBSCRIPTION}/services/hostedservices/{SERVICE}")
    assert response.status_code == 403


async def test_a_certificate_known_to_nobody_fails_the_handshake(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """A documented limitation: the service would answer 403; Python's TLS stack cannot accept
    an unknown client certificate, so the handshake fails instead."""
    path, _ = self_signed(tmp_path)
    context = ssl.create_default_context(cadata=emulator.ca_pem.decode())
    context.load_cert_chain(path)
    with pytest.raises(httpx.TransportError):
        await get(emulator, context, f"/{SUBSCRIPTION}/operations")
