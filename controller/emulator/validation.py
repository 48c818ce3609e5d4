"""The documented value rules of request bodies, each a 400 BadRequest when broken.

These rules look at one submitted value at a time (a label, a set of extended properties, ...);
rules that depend on the deployment's state (walk order, rollback allowed, locks) live with the
backend.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping

from controller.azure import wire
from controller.emulator import cscfg, errors

MAX_LABEL_CHARS = 100
MAX_DESCRIPTION_CHARS = 1024
MAX_PROPERTY_NAME_CHARS = 64
MAX_PROPERTY_VALUE_CHARS = 255
# Upgrade / Change Configuration allow 25 pairs per request (reference §4); Create Deployment and
# Create Hosted Service document 50.
MAX_PROPERTIES_PER_UPDATE = 25
MAX_PROPERTIES_PER_CREATE = 50
EXTENSION_STATES = frozenset({"Enable", "Disable", "Uninstall"})
_PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SERVICE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DEPLOYMENT_NAME = re.compile(r"[^\s/\\?#%]{1,100}")


def label(encoded: str) -> str:
    """Decode a base64 Label and check its length (<= 100 characters before encoding)."""
    text = base64_text(encoded, "Label")
    if not text.strip():
        raise errors.BadRequest("The label must not be empty.")
    if len(text) > MAX_LABEL_CHARS:
        raise errors.BadRequest(f"The label must be at most {MAX_LABEL_CHARS} characters long.")
    return text


def configuration(encoded: str) -> cscfg.ServiceConfiguration:
    """Decode a base64 Configuration and parse it as a .cscfg."""
    return cscfg.parse(base64_text(encoded, "Configuration"))


def base64_text(encoded: str, element: str) -> str:
    """Decode a base64 element, refusing anything that is not base64 of UTF-8 text."""
    try:
        return wire.b64decode_text(encoded.strip())
    except wire.MalformedXml:
        raise errors.BadRequest(f"The value of {element} is not a valid base-64 encoded string.") from None


def extended_properties(properties: Iterable[wire.ExtendedProperty], limit: int) -> dict[str, str | None]:
    """Check extended properties; returns name -> value, None meaning "delete this property"."""
    result: dict[str, str | None] = {}
    for prop in properties:
        _property_name(prop.name)
        if prop.name.lower() in (name.lower() for name in result):
            raise errors.BadRequest(f"The extended property '{prop.name}' is specified more than once.")
        if prop.value is not None and len(prop.value) > MAX_PROPERTY_VALUE_CHARS:
            raise errors.BadRequest(
                f"The value of extended property '{prop.name}' exceeds {MAX_PROPERTY_VALUE_CHARS} characters."
            )
        result[prop.name] = prop.value or None  # an empty value is a null value: it deletes
    if len(result) > limit:
        raise errors.BadRequest(f"At most {limit} extended properties may be specified.")
    return result


def _property_name(name: str) -> None:
    if len(name) > MAX_PROPERTY_NAME_CHARS or not _PROPERTY_NAME.fullmatch(name):
        raise errors.BadRequest(
            f"The extended property name '{name}' is not valid: it must start with a letter, contain "
            f"only letters, digits and underscores, and be at most {MAX_PROPERTY_NAME_CHARS} characters."
        )


def merge_properties(current: Mapping[str, str], changes: Mapping[str, str | None]) -> dict[str, str]:
    """Merge changes into current properties by name; a None value deletes the property."""
    merged = dict(current)
    for name, value in changes.items():
        existing = next((key for key in merged if key.lower() == name.lower()), name)
        merged.pop(existing, None)
        if value is not None:
            merged[name] = value
    return merged


def extension_configuration(
    config: wire.ExtensionConfiguration | None, roles: frozenset[str]
) -> wire.ExtensionConfiguration | None:
    """Check extension states and that named roles exist in the configuration being applied."""
    if config is None:
        return None
    known = {role.lower() for role in roles}
    for named in config.named_roles:
        if named.role_name.lower() not in known:
            raise errors.BadRequest(
                f"The role '{named.role_name}' named in ExtensionConfiguration does not exist."
            )
    for extension in _all_extensions(config):
        if not extension.id.strip():
            raise errors.BadRequest("An extension in ExtensionConfiguration has an empty Id.")
        if extension.state is not None and extension.state not in EXTENSION_STATES:
            raise errors.BadRequest(f"The extension state '{extension.state}' is not valid.")
    return config


def _all_extensions(config: wire.ExtensionConfiguration) -> list[wire.Extension]:
    return [*config.all_roles, *(ext for named in config.named_roles for ext in named.extensions)]


def uses_extension_state(config: wire.ExtensionConfiguration | None) -> bool:
    """Whether any extension sets `State` (an element newer than ExtensionConfiguration itself)."""
    return config is not None and any(ext.state is not None for ext in _all_extensions(config))


def package_url(url: str) -> str:
    """A package URL must be an absolute http(s) URL (a blob URL or any SAS URL)."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme.lower() not in {"http", "https"} or not parsed.netloc:
        raise errors.BadRequest(
            "The PackageUrl must be an absolute http or https URL of the service package."
        )
    return url.strip()


def service_name(name: str) -> str:
    """A hosted service name is a DNS label (it becomes `<name>.cloudapp.net`)."""
    if not _SERVICE_NAME.fullmatch(name):
        raise errors.BadRequest(
            f"The hosted service name '{name}' is not valid: use 1-63 letters, digits and hyphens, "
            "not starting or ending with a hyphen."
        )
    return name


def deployment_name(name: str) -> str:
    if not _DEPLOYMENT_NAME.fullmatch(name):
        raise errors.BadRequest(f"The deployment name '{name}' is not valid.")
    return name


def description(text: str | None) -> str | None:
    if text is not None and len(text) > MAX_DESCRIPTION_CHARS:
        raise errors.BadRequest(f"The description must be at most {MAX_DESCRIPTION_CHARS} characters long.")
    return text
