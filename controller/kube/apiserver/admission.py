"""
Admission: the seam between the server and the schema of a CRD.

The server prunes, defaults and validates each write through an :class:`ObjectValidator` per CRD
version, built by a :data:`ValidatorFactory`; the default factory adapts
``controller.kube.crdschema``, and tests may stand in a validator of their own.
"""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from controller.kube import crdschema
from controller.kube.apiserver.resources import Body


class FieldError(Protocol):
    """One refused field, as ``controller.kube.crdschema`` reports it."""

    @property
    def path(self) -> str: ...  # e.g. "spec.package"

    @property
    def message(self) -> str: ...  # e.g. 'Invalid value: "object": exactly one of url or urlSecretRef ...'

    @property
    def reason(self) -> str: ...  # the 422 cause type, e.g. "FieldValueRequired"


class ObjectValidator(Protocol):
    """What admission needs from the schema of one CRD version (``crdschema.CrdSchema``)."""

    def prune(self, obj: Body) -> Body: ...

    def apply_defaults(self, obj: Body) -> Body: ...

    def validate(self, obj: Body, old: Body | None = None) -> Sequence[FieldError]: ...


# Builds the validator of one version of a CRD document: None serves that version without
# validation; a ValueError means the CRD itself is invalid (it is refused with 422).
ValidatorFactory = Callable[[Mapping[str, Any], str], ObjectValidator | None]


@dataclasses.dataclass(frozen=True)
class ApiFieldError:
    """A field refused by the server's own rules rather than by a CRD schema."""

    path: str
    message: str
    reason: str = "FieldValueInvalid"


def crd_schema_validator(crd: Mapping[str, Any], version: str) -> ObjectValidator:
    """The default factory: the version's OpenAPI schema and CEL rules, as the API server checks them."""
    try:
        return crdschema.CrdSchema.from_dict(crd, version)
    except crdschema.CrdSchemaError as exc:
        raise ValueError(str(exc)) from exc
