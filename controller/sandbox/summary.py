"""The report at the end of a sandbox run: each step's expected vs observed, and the operations.

It is the part of the output a user (or CI) reads afterwards, so it is plain text with one
fact per line: easy to scan, to grep, and to paste into an issue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from controller.sandbox import ledger
from controller.sandbox.scenario import StepResult


@dataclass(frozen=True)
class Verdict:
    """The run's outcome and the lines that explain it."""

    converged: bool
    lines: list[str]
    reason: str  # one sentence: why it failed, or how long it took


def verdict(results: Sequence[StepResult], *, total_seconds: float, failure_hint: str = "") -> Verdict:
    requests = [request for result in results for request in result.requests]
    duplicates = ledger.duplicates(requests)
    all_passed = bool(results) and all(result.passed for result in results)
    lines = ["", "Summary", "======="]
    for result in results:
        mark = "PASS" if result.passed else ("SKIP" if result.skipped else "FAIL")
        lines.append(f"[{mark}] {result.number}. {result.step.title} ({result.seconds:.1f}s)")
        lines.append(f"       expected: {result.step.expected}")
        lines.append(f"       observed: {result.observed}")
        lines.append(f"       operations: {ledger.format_counts(result.operations)}")
    total: Counter[str] = Counter()
    for result in results:
        total.update(result.operations)
    refused = ledger.refused(requests)
    lines.append("")
    lines.append(f"Management operations accepted by the emulator: {ledger.format_counts(total)}")
    if refused:
        lines.append(
            "Requests refused or faulted (the controller waited and carried on):"
            f" {ledger.format_counts(refused)}"
        )
    accepted = sum(total.values())
    if duplicates:
        lines.append("Exactly once: FAILED, an intent was issued more than once:")
        lines.extend(f"  - {duplicate}" for duplicate in duplicates)
    else:
        lines.append(
            f"Exactly once: OK, no mutating operation was issued twice for one intent ({accepted} checked)"
        )
    converged = all_passed and not duplicates
    passed = sum(result.passed for result in results)
    if converged:
        reason = f"the scenario converged as expected ({passed}/{len(results)} steps) in {total_seconds:.1f}s"
        lines.append(f"Result: {reason}")
    else:
        failed = next((result for result in results if not result.passed), None)
        reason = (
            f"step {failed.number} ({failed.step.title}) did not go as expected: {failed.observed}"
            if failed is not None
            else "an operation was issued twice for one intent"
        )
        lines.append(f"Result: FAILED ({passed}/{len(results)} steps passed): {reason}")
        if failure_hint:
            lines.append(failure_hint)
    return Verdict(converged, lines, reason)
