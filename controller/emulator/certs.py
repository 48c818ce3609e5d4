"""The emulator's certificates: a CA, the HTTPS server certificate it signs, management certificates.

Files in the state directory (created on first start, reused afterwards):

    ca.pem                      the CA certificate: the trust anchor clients need
    ca-key.pem                  its key (0600), to sign server and management certificates later
    server.pem                  server certificate (127.0.0.1, ::1, localhost, the --host) + key (0600)
    management/<sub>.pem        a subscription's management certificate + key (0600)
    admin-token                 the admin API's bearer token (0600)

Management certificates follow the service's requirements (X.509 v3, RSA >= 2048 bits, client
authentication usage). Thumbprints are the SHA-1 of the DER certificate in upper-case hex, the
form the portal shows and the form the service records as SubscriptionCertificateThumbprint.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import ipaddress
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
SERVER_FILE = "server.pem"
MANAGEMENT_DIR = "management"
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105  # a file name, not a secret
_DEFAULT_NAMES = ("127.0.0.1", "::1", "localhost")
_RENEW_BEFORE = datetime.timedelta(days=30)


@dataclasses.dataclass(frozen=True)
class Authority:
    """The emulator's CA."""

    certificate: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


@dataclasses.dataclass(frozen=True)
class ManagementCertificate:
    """A subscription's management certificate: its PEM file (certificate + key) and thumbprint."""

    subscription_id: str
    path: Path
    certificate_pem: bytes
    thumbprint: str

    def pem(self) -> bytes:
        """Certificate and key, as clients load them (`cert=` of requests, `load_cert_chain`)."""
        return self.path.read_bytes()


def thumbprint(certificate: x509.Certificate) -> str:
    """SHA-1 of the DER encoding, upper-case hex."""
    return thumbprint_of_der(certificate.public_bytes(serialization.Encoding.DER))


def thumbprint_of_der(der: bytes) -> str:
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


def authority(state_dir: Path) -> Authority:
    """The CA of `state_dir`, created on first use."""
    cert_path, key_path = state_dir / CA_FILE, state_dir / CA_KEY_FILE
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ValueError(f"{key_path} does not hold an EC or RSA key")
        return Authority(x509.load_pem_x509_certificate(cert_path.read_bytes()), key)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudservice-operator emulator CA")])
    builder = _builder(name, name, key, days=3650).add_extension(
        x509.BasicConstraints(ca=True, path_length=0), critical=True
    )
    builder = builder.add_extension(_key_usage(ca=True), critical=True)
    certificate = builder.sign(key, hashes.SHA256())
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Authority(certificate, key)


def server_certificate(state_dir: Path, ca: Authority, host: str) -> Path:
    """`server.pem`, (re)issued when missing, expiring, from another CA or not naming `host`."""
    path = state_dir / SERVER_FILE
    names = _server_names(host)
    if path.exists() and _server_usable(path.read_bytes(), ca, names):
        return path
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudservice-operator emulator")])
    builder = _issued(_builder(subject, ca.certificate.subject, key, days=397), ca)
    builder = builder.add_extension(
        x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False
    )
    builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    certificate = builder.sign(ca.key, hashes.SHA256())
    _write_private(path, certificate.public_bytes(serialization.Encoding.PEM) + _key_pem(key))
    return path


def management_certificate(state_dir: Path, ca: Authority, subscription_id: str) -> ManagementCertificate:
    """`management/<sub>.pem`, created on first use (RSA 2048, client authentication)."""
    path = state_dir / MANAGEMENT_DIR / f"{subscription_id}.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"management {subscription_id}")])
        builder = _issued(_builder(subject, ca.certificate.subject, key, days=1825), ca)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        certificate = builder.sign(ca.key, hashes.SHA256())
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, certificate.public_bytes(serialization.Encoding.PEM) + _key_pem(key))
    return uploaded_certificate(path.read_bytes(), subscription_id, path)


def uploaded_certificate(pem: bytes, subscription_id: str, path: Path) -> ManagementCertificate:
    """A management certificate from PEM (a key in the same data is ignored here)."""
    certificate = x509.load_pem_x509_certificate(pem)
    return ManagementCertificate(
        subscription_id=subscription_id,
        path=path,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        thumbprint=thumbprint(certificate),
    )


def existing_subscriptions(state_dir: Path) -> list[str]:
    """Subscriptions whose management certificate an earlier run created."""
    directory = state_dir / MANAGEMENT_DIR
    return sorted(path.stem for path in directory.glob("*.pem")) if directory.is_dir() else []


def admin_token(state_dir: Path) -> str:
    """The admin API bearer token, created on first use."""
    path = state_dir / ADMIN_TOKEN_FILE
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(32).encode("ascii") + b"\n")
    return path.read_text("ascii").strip()


def _builder(subject: x509.Name, issuer: x509.Name, key: PrivateKey, *, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _issued(builder: x509.CertificateBuilder, ca: Authority) -> x509.CertificateBuilder:
    """An end-entity certificate of the CA (strict verifiers want AKI and key usage)."""
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(_key_usage(ca=False), critical=True)
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _server_names(host: str) -> list[str]:
    names = list(_DEFAULT_NAMES)
    if host not in names and host not in {"0.0.0.0", "::", ""}:  # noqa: S104  # wildcard binds need no SAN
        names.append(host)
    return names


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _server_usable(pem: bytes, ca: Authority, names: list[str]) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
        alt_names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    present = {str(value) for value in alt_names.get_values_for_type(x509.IPAddress)}
    present |= set(alt_names.get_values_for_type(x509.DNSName))
    fresh = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > _RENEW_BEFORE
    return fresh and _issued_by(certificate, ca) and set(names) <= present


def _issued_by(certificate: x509.Certificate, ca: Authority) -> bool:
    try:
        certificate.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, atomically (a crash never leaves half a key)."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, 0o600)  # O_CREAT's mode is filtered by the umask; be explicit
    os.replace(temporary, path)
