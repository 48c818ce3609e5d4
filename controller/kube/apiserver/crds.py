"""
CustomResourceDefinitions, read as the API server reads them.

A CRD document says which resources it serves (one :class:`ResourceKind` per served version) and,
once served, carries the status kubectl waits for (``Established``). Refusals are ValueErrors
naming the field; the server turns them into 422 ``Invalid``.
"""

import copy
from collections.abc import Mapping
from typing import Any

from controller.kube.apiserver import rules
from controller.kube.apiserver.resources import Body, ResourceKind


def kinds_from_crd(crd: Mapping[str, Any]) -> list[ResourceKind]:
    """The resources a CRD serves, one per served version; ValueError says what is wrong."""
    spec = _section(crd, "spec")
    names = _section(spec, "names", "spec.names")
    group, plural, kind = (
        _text(spec, "group", "spec"),
        _text(names, "plural", "spec.names"),
        _text(names, "kind", "spec.names"),
    )
    scope = spec.get("scope", "Namespaced")
    if scope not in ("Namespaced", "Cluster"):
        raise ValueError(f'spec.scope: Unsupported value: "{scope}"')
    versions = spec.get("versions")
    if not isinstance(versions, list) or not all(isinstance(version, dict) for version in versions):
        raise ValueError("spec.versions: Required value: a list of versions")
    served = [
        ResourceKind(
            group,
            _text(version, "name", "spec.versions[]"),
            plural,
            kind,
            namespaced=scope == "Namespaced",
            singular=names.get("singular") or kind.lower(),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            subresources=("status",) if "status" in (version.get("subresources") or {}) else (),
        )
        for version in versions
        if version.get("served", True)
    ]
    if not served:
        raise ValueError("spec.versions: Invalid value: must have at least one served version")
    return served


def _section(parent: Mapping[str, Any], key: str, path: str | None = None) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise ValueError(f"{path or key}: Required value")
    return value


def _text(parent: Mapping[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}.{key}: Required value")
    return value


def crd_status(crd: Body) -> Body:
    """What the API server reports once it serves a CRD (``kubectl wait --for=condition=Established``)."""
    now = rules.now()
    spec = crd["spec"]
    return {
        "acceptedNames": copy.deepcopy(spec["names"]),
        "storedVersions": [version["name"] for version in spec["versions"] if version.get("storage")],
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    }  # fmt: skip
