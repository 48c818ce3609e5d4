"""The planner, table-driven: tests/data/planner/steps.yaml holds (state -> next step) cases.

Each case runs what one reconcile pass runs before acting: `progress.advance` folds the
observation into the status, then `planner.plan` picks the step. Both are pure, so a case is
just values in and values out.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.models.status import Status
from controller.planning import planner, progress, steps

pytest.register_assert_rewrite("tests.controller_fixtures")  # before the import below
pytest_plugins = ["tests.controller_fixtures"]

from tests.controller_fixtures import at, desired, observation  # noqa: E402

CASES_FILE = Path(__file__).parent.parent / "data" / "planner" / "steps.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text())
ABSENT = object()


def _subset(actual: Any, expected: Any, where: str) -> None:
    """Every key of `expected` is in `actual` with an equal value; lists of objects match the tail."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing in {actual!r}"
            _subset(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
        assert isinstance(actual, list), f"{where}: {actual!r}"
        assert len(actual) >= len(expected), f"{where}: {actual!r}"
        for index, value in enumerate(expected):
            _subset(actual[len(actual) - len(expected) + index], value, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def run_case(case: dict[str, Any]) -> tuple[steps.Step, Status]:
    want = desired(**case.get("desired", {}))
    seen = observation(case.get("deployment", {}), case.get("operation"))
    status = Status.from_object(case.get("status", {}))
    now = at(case.get("now", 0))
    folded = progress.advance(want, seen, status, now).status
    return planner.plan(want, seen, folded, now), folded


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_planner_table(case: dict[str, Any]) -> None:
    step, folded = run_case(case)
    expect = case["expect"]
    assert type(step).__name__ == expect["step"], f"got {step!r}"
    for name, value in expect.get("fields", {}).items():
        assert getattr(step, name) == value, f"{name}: {getattr(step, name)!r} != {value!r}"
    if "reasons" in expect:
        assert isinstance(step, steps.Upgrade)
        for fragment in expect["reasons"]:
            assert any(fragment in reason for reason in step.reasons), f"{fragment!r} not in {step.reasons}"
    if "message" in expect:
        assert isinstance(step, steps.Wait | steps.Stall)
        assert expect["message"] in step.message, step.message
    if "planned" in expect:
        assert isinstance(step, steps.Hold)
        assert list(step.planned) == expect["planned"]
    written = folded.to_json()
    _subset(written, expect.get("status", {}), "status")
    for name in expect.get("absent", []):
        assert name not in written, f"status.{name} should be absent: {written.get(name)!r}"


def test_every_step_kind_is_covered() -> None:
    kinds = {case["expect"]["step"] for case in CASES}
    assert kinds == {
        "Nothing",
        "Upgrade",
        "WalkUpgradeDomain",
        "Reimage",
        "Rollback",
        "Wait",
        "Recover",
        "Stall",
        "Hold",
    }


def test_plan_is_pure_and_deterministic() -> None:
    for case in CASES:
        first, _ = run_case(case)
        second, _ = run_case(case)
        assert first == second, case["name"]


def test_mutations_are_held_under_suspend_and_observe_but_nothing_else_changes() -> None:
    for case in CASES:
        step, _ = run_case(case)
        for flag in ("suspend", "observe_only"):
            held_case = {**case, "desired": {**case.get("desired", {}), flag: True}}
            held, _ = run_case(held_case)
            if steps.is_mutation(step):
                assert isinstance(held, steps.Hold), case["name"]
                assert held.pending == step, case["name"]
            elif not isinstance(step, steps.Hold):
                assert held == step, case["name"]


def test_upgrade_description_lists_every_reason() -> None:
    step = steps.Upgrade(mode="Auto", reasons=("label 'a' -> 'b'", "configuration differs"))
    assert step.describe() == "Upgrade deployment (Auto): label 'a' -> 'b'; configuration differs"
    assert dataclasses.replace(step, mode="Manual").describe().startswith("Upgrade deployment (Manual)")
