"""
Selectors: which objects a list or a watch sees.

The namespace and name from the URL, and label and field selectors with equality and existence
requirements; set-based requirements (``in``, ``notin``) answer 400.
"""

import dataclasses
from typing import Any

import kmock

from controller.kube.apiserver import errors
from controller.kube.apiserver.resources import Body


@dataclasses.dataclass(frozen=True)
class _Requirement:
    key: str
    operator: str  # "=", "!=", "exists", "absent"
    value: str = ""

    def holds(self, actual: str | None) -> bool:
        match self.operator:
            case "=":
                return actual == self.value
            case "!=":
                return actual != self.value
            case "exists":
                return actual is not None
            case _:
                return actual is None


def _parse_selector(text: str, parameter: str) -> tuple[_Requirement, ...]:
    requirements: list[_Requirement] = []
    for term in filter(None, (part.strip() for part in text.split(","))):
        if term.startswith("!"):
            requirements.append(_Requirement(term[1:].strip(), "absent"))
        elif any(operator in term for operator in ("!=", "==", "=")):
            operator = next(operator for operator in ("!=", "==", "=") if operator in term)
            key, value = term.split(operator, 1)
            requirements.append(_Requirement(key.strip(), "!=" if operator == "!=" else "=", value.strip()))
        elif " " in term or "(" in term:
            raise errors.BadRequest(
                f"unable to parse requirement {term!r} in {parameter}: set-based selectors are not served"
            )
        else:
            requirements.append(_Requirement(term, "exists"))
    return tuple(requirements)


def _field(obj: Body, path: str) -> str | None:
    value: Any = obj
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None or isinstance(value, dict | list) else str(value)


@dataclasses.dataclass(frozen=True)
class Selector:
    namespace: str | None
    name: str | None
    labels: tuple[_Requirement, ...] = ()
    fields: tuple[_Requirement, ...] = ()

    @classmethod
    def of(cls, request: kmock.Request) -> "Selector":
        return cls(
            namespace=request.namespace,
            name=request.name,
            labels=_parse_selector(request.params.get("labelSelector", ""), "labelSelector"),
            fields=_parse_selector(request.params.get("fieldSelector", ""), "fieldSelector"),
        )

    def matches(self, obj: Body) -> bool:
        meta = obj["metadata"]
        labels = meta.get("labels") or {}
        return (
            self.namespace in (None, meta.get("namespace"))
            and self.name in (None, meta["name"])
            and all(requirement.holds(labels.get(requirement.key)) for requirement in self.labels)
            and all(requirement.holds(_field(obj, requirement.key)) for requirement in self.fields)
        )
