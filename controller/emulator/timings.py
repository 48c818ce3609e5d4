"""How long the emulated fabric takes for each step; 0 means instant.

The real service takes minutes per upgrade domain. The emulator keeps the same sequence of
observable states but lets its user choose the pace: tests use 0 (everything completes by the
next request) or a few milliseconds, the sandbox seconds, and a patient user the real thing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

# JSON (admin API, CLI) names of the fields, camelCase like the rest of the admin API.
_JSON_NAMES = {
    "accept_seconds": "acceptSeconds",
    "instance_step_seconds": "instanceStepSeconds",
    "upgrade_domain_seconds": "upgradeDomainSeconds",
    "health_timeout_seconds": "healthTimeoutSeconds",
}


@dataclasses.dataclass(frozen=True)
class Timings:
    """Durations (seconds) of the emulated fabric's steps."""

    # The short "accepting" phase of every operation, during which the deployment is Locked.
    accept_seconds: float = 1.0
    # Each instance state step (ReadyRole -> StoppingRole -> StoppedVM -> ...).
    instance_step_seconds: float = 1.0
    # The pause after an upgrade domain is done before an Auto update moves to the next one.
    upgrade_domain_seconds: float = 2.0
    # How long an Auto/Simultaneous update waits for unhealthy (cycling) instances before it gives
    # up. The service waits up to 30 minutes; the default is scaled down like the other timings.
    health_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{_JSON_NAMES[field.name]} must be a number >= 0, not {value!r}")

    @classmethod
    def instant(cls) -> Timings:
        """Every step completes by the next request: what most tests want."""
        return cls(0.0, 0.0, 0.0, 0.0)

    def to_json(self) -> dict[str, float]:
        """The admin API representation."""
        return {_JSON_NAMES[name]: float(value) for name, value in dataclasses.asdict(self).items()}

    def updated(self, changes: Mapping[str, object]) -> Timings:
        """A copy with the given admin-API fields changed; unknown fields are refused."""
        by_json_name = {json_name: name for name, json_name in _JSON_NAMES.items()}
        unknown = sorted(set(changes) - set(by_json_name))
        if unknown:
            raise ValueError(f"unknown timing(s): {', '.join(unknown)}")
        values = {by_json_name[key]: value for key, value in changes.items()}
        return dataclasses.replace(self, **values)  # type: ignore[arg-type]  # validated in __post_init__
