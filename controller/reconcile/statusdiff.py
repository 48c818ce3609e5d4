"""Patch the status only when it changed, and then only with what changed.

An idle controller must not write: with hundreds of resources synced every few minutes, a
status write per sync is pure load on the API server (and wakes every watcher). The new status
is compared with the stored one ignoring timestamps that merely say "looked again"
(`deployment.observedAt`); when something else differs, the patch is the JSON merge patch
(RFC 7386) from old to new, so it carries the fresh `observedAt` along with the real change.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]

# Paths whose change alone is not worth a write.
VOLATILE = (("deployment", "observedAt"),)


def _without_volatile(status: JsonObject) -> JsonObject:
    stripped = dict(status)
    for path in VOLATILE:
        _drop(stripped, path)
    return stripped


def _drop(document: JsonObject, path: tuple[str, ...]) -> None:
    head, *rest = path
    if head not in document:
        return
    if not rest:
        document.pop(head)
        return
    child = document[head]
    if isinstance(child, dict):
        copy = dict(child)
        _drop(copy, tuple(rest))
        document[head] = copy


def changed(old: JsonObject, new: JsonObject) -> bool:
    """True when `new` differs from `old` in anything but the volatile fields."""
    return _without_volatile(old) != _without_volatile(new)


def merge_patch(old: JsonObject, new: JsonObject) -> JsonObject:
    """The JSON merge patch turning `old` into `new` (`None` deletes a key; lists are replaced)."""
    patch: JsonObject = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif key not in old or before != value:
            patch[key] = value
    return patch


def status_patch(
    old: JsonObject, new: JsonObject, *, keep: frozenset[str] = frozenset()
) -> JsonObject | None:
    """The merge patch for `status`, or None when nothing worth writing changed.

    Keys of `old` listed in `keep` (e.g. kopf's own `kopf` stanza) are never deleted.
    """
    owned_old = {key: value for key, value in old.items() if key not in keep}
    if not changed(owned_old, new):
        return None
    return merge_patch(owned_old, new) or None
