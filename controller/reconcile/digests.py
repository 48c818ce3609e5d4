"""Digests of the desired content: what status and the `CsoAppliedDigest` property remember.

A digest stands in for a value the controller must compare later but must not (or cannot) keep:
the package URL (its SAS signature is a secret, and Get Deployment never returns it), a large
configuration, the extended properties and extensions. Every digest is sha256 hex over a
canonical form, so a reformatted configuration or a reordered mapping gives the same digest.

The package's identity is its URL without the shared access signature: rotating a SAS token
(new expiry, new signature) does not make a new package, while a different blob, path,
snapshot or version does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from controller.azure import redaction, wire
from controller.models import spec as specs
from controller.planning.inputs import Digests
from controller.reconcile import canonical

ENABLE = "Enable"


def _sha256(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def package_identity(url: str) -> str:
    """The URL of the package without SAS parameters (and without user info or fragment)."""
    parts = urlsplit(url.strip())
    kept = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in redaction.SAS_PARAMETERS
    )
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, urlencode(kept), ""))


def package_digest(url: str) -> str:
    return _sha256("package", package_identity(url))


def label_digest(label: str) -> str:
    return _sha256("label", label)


def properties_digest(properties: Mapping[str, str]) -> str:
    return _sha256("extended-properties", json.dumps(dict(sorted(properties.items())), separators=(",", ":")))


Normalized = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, tuple[tuple[str, str], ...]], ...]]


def _extensions(items: Iterable[tuple[str, str | None]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((ext_id, state or ENABLE) for ext_id, state in items))


class _Extension(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str | None: ...


class _NamedRole(Protocol):
    @property
    def role_name(self) -> str: ...
    @property
    def extensions(self) -> Sequence[_Extension]: ...


def _normalize(all_roles: Sequence[_Extension], named_roles: Sequence[_NamedRole]) -> Normalized:
    named = tuple(
        sorted(
            (role.role_name, _extensions((e.id, e.state) for e in role.extensions)) for role in named_roles
        )
    )
    return _extensions((e.id, e.state) for e in all_roles), named


def normalize_desired_extensions(config: specs.ExtensionConfiguration | None) -> Normalized:
    """AllRoles and NamedRoles as sorted (id, state) tuples; absent means none."""
    if config is None:
        return ((), ())
    return _normalize(config.all_roles, config.named_roles)


def normalize_observed_extensions(config: wire.ExtensionConfiguration) -> Normalized:
    """The same normal form for what Get Deployment returned."""
    return _normalize(config.all_roles, config.named_roles)


def extensions_digest(normalized: Normalized) -> str:
    return _sha256("extensions", json.dumps(normalized, separators=(",", ":")))


def spec_digest(
    *, package: str, configuration: str, label: str, extended_properties: str, extensions: str
) -> str:
    """The digest of the whole desired content (the value of `CsoAppliedDigest`)."""
    return _sha256("spec", package, configuration, label, extended_properties, extensions)


def desired_digests(
    *,
    package_url: str,
    configuration: str,
    label: str,
    extended_properties: Mapping[str, str],
    extension_configuration: specs.ExtensionConfiguration | None,
) -> Digests:
    """All digests of a desired state; `canonical.InvalidConfiguration` for a malformed .cscfg."""
    package = package_digest(package_url)
    config = canonical.configuration_digest(configuration)
    label_value = label_digest(label)
    props = properties_digest(extended_properties)
    extensions = extensions_digest(normalize_desired_extensions(extension_configuration))
    return Digests(
        package=package,
        configuration=config,
        label=label_value,
        extended_properties=props,
        extensions=extensions,
        spec=spec_digest(
            package=package,
            configuration=config,
            label=label_value,
            extended_properties=props,
            extensions=extensions,
        ),
    )
