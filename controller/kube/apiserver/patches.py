"""
The patch types the server applies to a stored object.

JSON merge patch, JSON patch (a failed ``test`` answers 422, which kopf's resourceVersion guard
expects), and strategic merge patch for built-in kinds only, applied as a merge patch (no list
merging by key). Any other content type answers 415.
"""

from typing import Any

import jsonpatch
import jsonpointer

from controller.kube.apiserver import errors, rules
from controller.kube.apiserver.resources import Body, ResourceKind


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, ``null`` removes a key, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    return merged


def _json_patch(target: Body, operations: Any) -> Body:
    """RFC 6902. A failed ``test`` (kopf's resourceVersion guard) answers 422, as kopf expects."""
    if not isinstance(operations, list) or not all(isinstance(op, dict) for op in operations):
        raise errors.BadRequest(
            "the body of the request was in an unknown format: expected a JSON patch list"
        )
    try:
        patched = jsonpatch.apply_patch(target, operations)
    except jsonpatch.InvalidJsonPatch as exc:
        raise errors.BadRequest(f"invalid JSON patch: {exc}") from exc
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise errors.Invalid.patch(str(exc)) from exc
    return rules.object_body(patched)


def patched(kind: ResourceKind, old: Body, patch: Any, content_type: str) -> Body:
    match content_type:
        case "application/json-patch+json":
            return _json_patch(old, patch)
        case "application/merge-patch+json":
            return rules.object_body(_merge_patch(old, rules.object_body(patch)))
        case "application/strategic-merge-patch+json" if kind.strategic_merge:
            return rules.object_body(_merge_patch(old, rules.object_body(patch)))  # no list merging by key
        case _:
            raise errors.UnsupportedMediaType(
                f"the body of the request was in an unknown format ({content_type or 'no Content-Type'})"
                " - accepted media types include: application/json-patch+json, application/merge-patch+json"
            )
