"""Read what the spec refers to: credentials, package URL and configuration, in its own namespace.

Only the resource's own namespace is ever read (the references carry a name, never a
namespace), so a resource cannot borrow another team's credentials. What is read here is secret
(the management key, a SAS package URL): `Sources` never shows it in its repr, and every error
names the object and key, never the content.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from controller.azure import credentials as creds
from controller.azure import errors
from controller.models.spec import CloudServiceDeploymentSpec, KeyRef
from controller.reconcile import kube
from controller.reconcile.problems import INVALID_CREDENTIALS, SourceError

SECRET_NOT_FOUND = "SecretNotFound"  # noqa: S105 - a condition reason, not a password
SECRET_KEY_MISSING = "SecretKeyMissing"  # noqa: S105 - a condition reason
CONFIGMAP_NOT_FOUND = "ConfigMapNotFound"
CONFIGMAP_KEY_MISSING = "ConfigMapKeyMissing"
INVALID_PACKAGE_URL = "InvalidPackageUrl"


@dataclass(frozen=True, repr=False)
class Sources:
    """The resolved inputs of one resource. Holds secrets: never logged."""

    credentials: creds.ManagementCredentials
    ca_pem: bytes | None
    package_url: str = field(compare=False)
    configuration: str

    @property
    def credentials_digest(self) -> str:
        """Identifies the credentials (to share clients) without revealing them."""
        digest = hashlib.sha256()
        for part in (self.credentials.cert_pem, self.credentials.key_pem, self.ca_pem or b""):
            digest.update(hashlib.sha256(part).digest())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"Sources(credentials={self.credentials!r})"


async def read_sources(client: kube.KubeClient, namespace: str, spec: CloudServiceDeploymentSpec) -> Sources:
    """Credentials, package URL and configuration of `spec`, from `namespace`."""
    credential_data = await _secret(client, namespace, spec.credentials_secret_ref.name)
    try:
        credentials = creds.ManagementCredentials.from_secret_data(credential_data)
        credentials.thumbprint  # noqa: B018 - parses the certificate: a clear error now, not at TLS time
    except errors.CredentialsError as exc:
        raise SourceError(INVALID_CREDENTIALS, f"Secret {spec.credentials_secret_ref.name}: {exc}") from None
    ca_pem = creds.ca_from_secret_data(credential_data)
    return Sources(
        credentials=credentials,
        ca_pem=ca_pem,
        package_url=await _package_url(client, namespace, spec),
        configuration=await _configuration(client, namespace, spec),
    )


async def _package_url(client: kube.KubeClient, namespace: str, spec: CloudServiceDeploymentSpec) -> str:
    if spec.package.url is not None:
        return spec.package.url
    ref = spec.package.url_secret_ref
    assert ref is not None  # the spec model guarantees exactly one
    url = _text(await _secret(client, namespace, ref.name), ref, "Secret").strip()
    if not url.lower().startswith("https://"):
        raise SourceError(
            INVALID_PACKAGE_URL, f"Secret {ref.name} key {ref.key} does not hold an https:// URL"
        )
    return url


async def _configuration(client: kube.KubeClient, namespace: str, spec: CloudServiceDeploymentSpec) -> str:
    if spec.configuration.inline is not None:
        return spec.configuration.inline
    ref = spec.configuration.config_map_ref
    assert ref is not None
    try:
        data = await client.read_configmap(namespace, ref.name)
    except kube.KubeNotFound:
        raise SourceError(
            CONFIGMAP_NOT_FOUND, f"ConfigMap {ref.name} not found in namespace {namespace}"
        ) from None
    if ref.key not in data:
        raise SourceError(CONFIGMAP_KEY_MISSING, f"ConfigMap {ref.name} has no key {ref.key}")
    return data[ref.key]


async def _secret(client: kube.KubeClient, namespace: str, name: str) -> dict[str, bytes]:
    try:
        return await client.read_secret(namespace, name)
    except kube.KubeNotFound:
        raise SourceError(SECRET_NOT_FOUND, f"Secret {name} not found in namespace {namespace}") from None


def _text(data: dict[str, bytes], ref: KeyRef, kind: str) -> str:
    if ref.key not in data:
        raise SourceError(SECRET_KEY_MISSING, f"{kind} {ref.name} has no key {ref.key}")
    try:
        return data[ref.key].decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(SECRET_KEY_MISSING, f"{kind} {ref.name} key {ref.key} is not UTF-8 text") from None
