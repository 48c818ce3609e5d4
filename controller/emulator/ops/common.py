"""What the operation handlers share: reading a body, versioned element checks, enum values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pydantic_xml import BaseXmlModel

from controller.azure import wire
from controller.emulator import errors, validation, versions
from controller.emulator.routing import Call

ModelT = TypeVar("ModelT", bound=BaseXmlModel)

UPDATE_MODES = ("Auto", "Manual", "Simultaneous")
ROLLBACK_MODES = ("Auto", "Manual")


def body(model: type[ModelT], call: Call) -> ModelT:
    """The request body as `model`; malformed or mis-shaped XML is 400 InvalidXmlRequest."""
    try:
        return wire.parse(model, call.body)
    except wire.MalformedXml as exc:
        raise errors.InvalidXmlRequest(
            f"The request body's XML was invalid or not correctly specified: {exc}"
        ) from None


def choice(value: str, allowed: Iterable[str], element: str) -> str:
    """An enumerated value, matched case-insensitively and returned in its canonical spelling."""
    for option in allowed:
        if option.lower() == value.strip().lower():
            return option
    raise errors.BadRequest(
        f"The value '{value}' of {element} is not valid; use one of {', '.join(allowed)}."
    )


def extended_properties(
    properties: list[wire.ExtendedProperty], call: Call, limit: int
) -> dict[str, str | None]:
    """Checked extended properties of a request; the element exists from 2012-03-01 on."""
    if properties:
        versions.require_element(call.version, versions.V2012_03_01, "ExtendedProperties")
    return validation.extended_properties(properties, limit)


def extension_configuration(
    config: wire.ExtensionConfiguration | None, call: Call
) -> wire.ExtensionConfiguration | None:
    """ExtensionConfiguration exists from 2013-03-01 on, its Extension/State from 2014-06-01 on."""
    if config is not None:
        versions.require_element(call.version, versions.V2013_03_01, "ExtensionConfiguration")
    if validation.uses_extension_state(config):
        versions.require_element(call.version, versions.V2014_06_01, "ExtensionConfiguration/Extension/State")
    return config


def created_properties(changes: dict[str, str | None]) -> dict[str, str]:
    """On creation a property without a value is simply not set."""
    return {name: value for name, value in changes.items() if value is not None}
