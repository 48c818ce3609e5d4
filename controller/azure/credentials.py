"""Management-certificate authentication: PEM data in memory -> a verifying TLS client context.

The Service Management API authenticates the client certificate in the TLS handshake (reference
§2). The operator reads `tls.crt`, `tls.key` (and optionally `ca.crt`) from a Kubernetes Secret,
so it holds PEM bytes, while `ssl.SSLContext.load_cert_chain` only reads files. The key
therefore touches disk exactly once, in `_load_cert_chain`: inside a fresh private directory
(`tempfile.mkdtemp`: mode 0700, under $TMPDIR), in files created 0600 with O_EXCL, removed in a
`finally` right after loading. As defence in depth the key is first re-encrypted with a one-time
random passphrase that never leaves memory, so even a file that survived a crash is useless.

The server is always verified: against `ca_pem` when given (a private endpoint such as the
emulator; it replaces the public trust store), else against certifi's bundle (what httpx uses by
default). There is no switch to turn verification off.

TLS is pinned to 1.2. In TLS 1.3 the server checks the client certificate after the client
already considers the handshake done and has written its request; a refused certificate then
shows up as a connection reset while reading the answer, which for a mutating call is
indistinguishable from a drop after processing (`OutcomeUnknownError`). In TLS 1.2 a refused
certificate fails the handshake itself (httpx `ConnectError`): provably never sent. The Service
Management endpoints (and the emulator) speak TLS 1.2.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import ssl
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from controller.azure import errors

logger = logging.getLogger(__name__)

# Keys of a `kubernetes.io/tls` Secret (plus the conventional CA entry).
CERT_ENTRY = "tls.crt"
KEY_ENTRY = "tls.key"
CA_ENTRY = "ca.crt"

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----\r?\n?", re.DOTALL)


@dataclass(frozen=True, repr=False)
class ManagementCredentials:
    """A management certificate (PEM, may include its chain) and its private key (PEM).

    Its repr shows the certificate's thumbprint, never the key.
    """

    cert_pem: bytes
    key_pem: bytes = field(compare=False)

    @classmethod
    def from_secret_data(cls, data: Mapping[str, bytes | str]) -> ManagementCredentials:
        """From a TLS Secret's decoded data (`tls.crt`, `tls.key`)."""
        missing = [key for key in (CERT_ENTRY, KEY_ENTRY) if not data.get(key)]
        if missing:
            raise errors.CredentialsError(f"the credentials Secret lacks {', '.join(missing)}")
        return cls(cert_pem=_as_bytes(data[CERT_ENTRY]), key_pem=_as_bytes(data[KEY_ENTRY]))

    @classmethod
    def from_pem_bundle(cls, pem: bytes) -> ManagementCredentials:
        """From one PEM file holding the certificate (chain) and its key (a `.pem` management file)."""
        certificates = _blocks(pem, lambda kind: kind == b"CERTIFICATE")
        keys = [block for block in _pem_blocks(pem) if block[0].endswith(b"PRIVATE KEY")]
        if not certificates or len(keys) != 1:
            raise errors.CredentialsError(
                "a management PEM bundle holds certificates and exactly one private key"
            )
        return cls(cert_pem=certificates, key_pem=keys[0][1])

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the certificate (DER), upper-case hex: how Azure lists management certificates."""
        der = _certificate(self.cert_pem).public_bytes(serialization.Encoding.DER)
        return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()

    def __repr__(self) -> str:
        try:
            thumbprint = self.thumbprint
        except errors.CredentialsError:
            thumbprint = "invalid"
        return f"ManagementCredentials(thumbprint={thumbprint!r}, key=<hidden>)"

    __str__ = __repr__


def ca_from_secret_data(data: Mapping[str, bytes | str]) -> bytes | None:
    """The optional trust anchor (`ca.crt`) of a credentials Secret."""
    value = data.get(CA_ENTRY)
    return _as_bytes(value) if value else None


def _pem_blocks(pem: bytes) -> list[tuple[bytes, bytes]]:
    return [(match.group(1), match.group(0)) for match in _PEM_BLOCK.finditer(pem)]


def _blocks(pem: bytes, wanted: Callable[[bytes], bool]) -> bytes:
    return b"".join(block for kind, block in _pem_blocks(pem) if wanted(kind))


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("ascii") if isinstance(value, str) else value


def _certificate(cert_pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise errors.CredentialsError("the management certificate is not a PEM X.509 certificate") from None


def client_ssl_context(credentials: ManagementCredentials, *, ca_pem: bytes | None = None) -> ssl.SSLContext:
    """A TLS 1.2+ client context presenting `credentials` and verifying the server."""
    context = _verifying_context(ca_pem)
    _certificate(credentials.cert_pem)  # a clear error before OpenSSL's terse one
    _load_cert_chain(context, credentials)
    return context


def _verifying_context(ca_pem: bytes | None) -> ssl.SSLContext:
    try:
        if ca_pem is None:
            context = ssl.create_default_context(cafile=certifi.where())
        else:
            context = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        raise errors.CredentialsError(f"the CA bundle cannot be loaded: {type(exc).__name__}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


def _encrypted_key(key_pem: bytes, passphrase: bytes) -> bytes:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        # Not chained: the parser's message is of no use and the input is secret.
        raise errors.CredentialsError("the management key is not an unencrypted PEM private key") from None
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def _load_cert_chain(context: ssl.SSLContext, credentials: ManagementCredentials) -> None:
    """The one place key material touches disk: private dir, 0600 files, removed at once."""
    passphrase = secrets.token_urlsafe(32).encode("ascii")
    encrypted = _encrypted_key(credentials.key_pem, passphrase)
    directory = tempfile.mkdtemp(prefix="cso-mgmt-")  # created 0700
    paths = [os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")]
    try:
        # Only the certificate blocks: a key pasted into tls.crt must not reach disk in clear.
        _write_private(paths[0], _blocks(credentials.cert_pem, lambda kind: kind == b"CERTIFICATE"))
        _write_private(paths[1], encrypted)
        context.load_cert_chain(paths[0], paths[1], password=passphrase)
    except ssl.SSLError as exc:
        raise errors.CredentialsError(
            f"the management certificate and key cannot be loaded together: {exc.reason or 'invalid'}"
        ) from exc
    finally:
        _remove(paths, directory)


def _write_private(path: str, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _remove(paths: list[str], directory: str) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    try:
        os.rmdir(directory)
    except OSError:
        logger.warning("could not remove the private key directory %s", directory)
