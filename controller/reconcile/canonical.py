"""Canonical form of a service configuration (.cscfg), so equal configurations compare equal.

Get Deployment returns the configuration Azure holds, which need not be byte-identical to what
was sent: whitespace, comments, attribute order, quoting and the XML declaration may differ.
Both sides are therefore parsed with the hardened wire parser (no DTDs, no entities, comments and
processing instructions dropped) and serialized as Canonical XML 2.0 with whitespace-only text
removed; c14n already sorts attributes and fixes quoting and namespace declarations.
"""

from __future__ import annotations

import hashlib

from lxml import etree

from controller.azure import wire


class InvalidConfiguration(ValueError):
    """The configuration is not a well-formed, safe XML document."""


def canonical_configuration(text: str) -> bytes:
    """The canonical bytes of a .cscfg document; `InvalidConfiguration` when it does not parse."""
    try:
        root = wire.parse_tree(text.encode("utf-8"))
    except wire.MalformedXml as exc:
        raise InvalidConfiguration(f"the service configuration is not valid XML: {exc}") from None
    canonical: str = etree.canonicalize(root, strip_text=True, with_comments=False)
    return canonical.encode("utf-8")


def configuration_digest(text: str) -> str:
    """sha256 of the canonical configuration."""
    return hashlib.sha256(canonical_configuration(text)).hexdigest()


def observed_configuration_digest(text: str) -> str:
    """Like `configuration_digest`, for what Azure returned: an unparsable one still gets a digest.

    It then simply differs from any valid desired configuration, which is the truth: an upgrade
    is needed to put a valid one in place.
    """
    try:
        return configuration_digest(text)
    except InvalidConfiguration:
        return hashlib.sha256(b"unparsable\x00" + text.encode("utf-8")).hexdigest()
