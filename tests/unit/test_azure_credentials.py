"""Management credentials: PEM in memory -> TLS context; the key never lingers on disk or in reprs."""

from __future__ import annotations

import os
import ssl
import stat
import tempfile
from pathlib import Path

import pytest

from controller.azure import credentials, errors
from tests.azure_fixtures import Pki, make_pki


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$TMPDIR for `tempfile`, so the test sees every file the loader creates."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_context_presents_the_certificate_and_verifies_the_server(pki: Pki, private_tmp: Path) -> None:
    creds = credentials.ManagementCredentials(cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem)

    context = credentials.client_ssl_context(creds, ca_pem=pki.ca_pem)

    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version == context.maximum_version == ssl.TLSVersion.TLSv1_2
    assert len(context.get_ca_certs()) == 1  # ca_pem replaces the public trust store
    assert list(private_tmp.iterdir()) == []


def test_without_a_ca_the_public_trust_store_is_used(pki: Pki, private_tmp: Path) -> None:
    creds = credentials.ManagementCredentials(cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem)

    context = credentials.client_ssl_context(creds)

    assert len(context.get_ca_certs()) > 50
    assert context.verify_mode == ssl.CERT_REQUIRED


class _Inspector:
    """Stands in for an SSLContext: looks at the files while they exist, then loads them for real."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[int, bytes]] = {}
        self.directory_mode = 0
        self.real = ssl.create_default_context()

    def load_cert_chain(self, certfile: str, keyfile: str, password: bytes) -> None:
        self.directory_mode = stat.S_IMODE(os.stat(os.path.dirname(keyfile)).st_mode)
        for path in (certfile, keyfile):
            self.seen[path] = (stat.S_IMODE(os.stat(path).st_mode), Path(path).read_bytes())
        self.real.load_cert_chain(certfile, keyfile, password=password)


def test_key_touches_disk_only_encrypted_private_and_briefly(pki: Pki, private_tmp: Path) -> None:
    creds = credentials.ManagementCredentials(cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem)
    inspector = _Inspector()

    credentials._load_cert_chain(inspector, creds)  # type: ignore[arg-type]

    assert inspector.directory_mode == 0o700
    (cert_mode, cert_data), (key_mode, key_data) = inspector.seen.values()
    assert (cert_mode, key_mode) == (0o600, 0o600)
    assert cert_data == pki.client_cert_pem
    assert b"ENCRYPTED PRIVATE KEY" in key_data
    assert pki.client_key_pem not in key_data
    assert all(str(private_tmp) in path for path in inspector.seen)
    assert list(private_tmp.iterdir()) == []  # nothing left behind


def test_files_are_removed_when_loading_fails(pki: Pki, private_tmp: Path) -> None:
    other = make_pki()
    mismatched = credentials.ManagementCredentials(cert_pem=pki.client_cert_pem, key_pem=other.client_key_pem)

    with pytest.raises(errors.CredentialsError, match="cannot be loaded together"):
        credentials.client_ssl_context(mismatched, ca_pem=pki.ca_pem)

    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("cert", "key", "match"),
    [
        (b"garbage", None, "not a PEM X.509 certificate"),
        (None, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not an unencrypted PEM"),
    ],
)
def test_invalid_material_is_a_credentials_error_without_the_material(
    pki: Pki, private_tmp: Path, cert: bytes | None, key: bytes | None, match: str
) -> None:
    creds = credentials.ManagementCredentials(
        cert_pem=cert or pki.client_cert_pem, key_pem=key or pki.client_key_pem
    )

    with pytest.raises(errors.CredentialsError, match=match) as caught:
        credentials.client_ssl_context(creds, ca_pem=pki.ca_pem)

    assert "PRIVATE KEY" not in str(caught.value)
    assert "PRIVATE KEY" not in repr(caught.value)
    assert list(private_tmp.iterdir()) == []


def test_invalid_ca_is_a_credentials_error(pki: Pki) -> None:
    creds = credentials.ManagementCredentials(cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem)

    with pytest.raises(errors.CredentialsError, match="CA bundle"):
        credentials.client_ssl_context(creds, ca_pem=b"not a certificate")


def test_repr_shows_the_thumbprint_never_the_key(pki: Pki) -> None:
    creds = credentials.ManagementCredentials(cert_pem=pki.client_cert_pem, key_pem=pki.client_key_pem)

    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"creds": creds})):
        assert "PRIVATE KEY" not in text
        assert pki.client_key_pem.decode() not in text
        assert creds.thumbprint in text
    assert len(creds.thumbprint) == 40
    assert creds.thumbprint == creds.thumbprint.upper()


def test_repr_of_unusable_credentials_still_hides_the_key() -> None:
    creds = credentials.ManagementCredentials(cert_pem=b"nope", key_pem=b"-----BEGIN PRIVATE KEY-----x")

    assert repr(creds) == "ManagementCredentials(thumbprint='invalid', key=<hidden>)"


def test_from_secret_data(pki: Pki) -> None:
    data = {"tls.crt": pki.client_cert_pem.decode(), "tls.key": pki.client_key_pem, "ca.crt": pki.ca_pem}

    creds = credentials.ManagementCredentials.from_secret_data(data)

    assert creds.cert_pem == pki.client_cert_pem
    assert creds.key_pem == pki.client_key_pem
    assert credentials.ca_from_secret_data(data) == pki.ca_pem
    assert credentials.ca_from_secret_data({}) is None


def test_from_secret_data_names_what_is_missing() -> None:
    with pytest.raises(errors.CredentialsError, match=r"tls\.key"):
        credentials.ManagementCredentials.from_secret_data({"tls.crt": b"x"})


def test_from_pem_bundle_splits_certificate_and_key(pki: Pki) -> None:
    bundle = pki.client_cert_pem + pki.client_key_pem

    creds = credentials.ManagementCredentials.from_pem_bundle(bundle)

    assert creds.cert_pem == pki.client_cert_pem
    assert creds.key_pem == pki.client_key_pem


@pytest.mark.parametrize("bundle", [b"", b"-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n"])
def test_a_bundle_without_exactly_one_key_is_refused(bundle: bytes) -> None:
    with pytest.raises(errors.CredentialsError, match="exactly one private key"):
        credentials.ManagementCredentials.from_pem_bundle(bundle)


def test_a_key_pasted_into_the_certificate_never_reaches_disk_in_clear(pki: Pki, private_tmp: Path) -> None:
    creds = credentials.ManagementCredentials(
        cert_pem=pki.client_cert_pem + pki.client_key_pem, key_pem=pki.client_key_pem
    )
    inspector = _Inspector()

    credentials._load_cert_chain(inspector, creds)  # type: ignore[arg-type]

    written = b"".join(data for _, data in inspector.seen.values())
    assert pki.client_key_pem not in written
    assert b"BEGIN PRIVATE KEY" not in written
