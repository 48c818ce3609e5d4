"""Status patches: only when something changed, and then only the change."""

from __future__ import annotations

from controller.reconcile import statusdiff

OLD = {
    "phase": "Ready",
    "deployment": {"label": "web-1", "observedAt": "2024-05-01T12:00:00Z", "instances": [{"name": "a"}]},
    "reimage": {"a": 1, "b": 2},
    "kopf": {"progress": {}},
}


def test_only_a_new_observation_time_is_not_worth_a_write() -> None:
    new = {**OLD, "deployment": {**OLD["deployment"], "observedAt": "2024-05-01T12:05:00Z"}}
    new.pop("kopf")
    assert statusdiff.status_patch(OLD, new, keep=frozenset({"kopf"})) is None


def test_a_real_change_carries_the_new_observation_time_along() -> None:
    new = {
        "phase": "Upgrading",
        "deployment": {"label": "web-1", "observedAt": "2024-05-01T12:05:00Z", "instances": [{"name": "a"}]},
        "reimage": {"a": 1},
    }
    patch = statusdiff.status_patch(OLD, new, keep=frozenset({"kopf"}))
    assert patch == {
        "phase": "Upgrading",
        "deployment": {"observedAt": "2024-05-01T12:05:00Z"},
        "reimage": {"b": None},  # merge patch: null deletes
    }


def test_removed_fields_are_deleted_but_kopfs_stanza_is_kept() -> None:
    patch = statusdiff.status_patch(OLD, {"phase": "Ready"}, keep=frozenset({"kopf"}))
    assert patch == {"deployment": None, "reimage": None}


def test_lists_are_replaced_whole() -> None:
    old = {"history": [{"kind": "Upgrade"}]}
    new = {"history": [{"kind": "Upgrade"}, {"kind": "Reimage"}]}
    assert statusdiff.merge_patch(old, new) == {"history": new["history"]}
    assert statusdiff.status_patch(new, new) is None
