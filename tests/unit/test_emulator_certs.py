"""The emulator's certificates: created once with owner-only keys, reused, and fit for their use."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from controller.emulator import certs


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs")


def test_the_ca_is_created_once_and_reused(directory: Path) -> None:
    first = certs.authority(directory)
    second = certs.authority(directory)
    assert first.pem == second.pem
    assert first.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert stat.S_IMODE((directory / "ca-key.pem").stat().st_mode) == 0o600


def test_the_server_certificate_names_loopback_and_the_host(directory: Path) -> None:
    ca = certs.authority(directory)
    path = certs.server_certificate(directory, ca, "127.0.0.1")
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    certificate.verify_directly_issued_by(ca.certificate)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    unchanged = path.read_bytes()
    assert certs.server_certificate(directory, ca, "localhost").read_bytes() == unchanged
    reissued = certs.server_certificate(directory, ca, "emulator.example")
    assert reissued.read_bytes() != unchanged
    names = x509.load_pem_x509_certificate(reissued.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "emulator.example" in names.value.get_values_for_type(x509.DNSName)


def test_a_management_certificate_meets_the_service_requirements(directory: Path) -> None:
    ca = certs.authority(directory)
    management = certs.management_certificate(directory, ca, "sub-1")
    assert management.path == directory / "management" / "sub-1.pem"
    assert stat.S_IMODE(management.path.stat().st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(management.pem())
    assert certificate.version == x509.Version.v3
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size >= 2048
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    assert b"PRIVATE KEY" in management.pem()
    assert len(management.thumbprint) == 40
    assert management.thumbprint == management.thumbprint.upper()
    assert certs.management_certificate(directory, ca, "sub-1").thumbprint == management.thumbprint
    assert certs.existing_subscriptions(directory) == ["sub-1"]


def test_the_admin_token_is_stable_and_private(directory: Path) -> None:
    token = certs.admin_token(directory)
    assert len(token) >= 32
    assert certs.admin_token(directory) == token
    assert stat.S_IMODE((directory / "admin-token").stat().st_mode) == 0o600
