"""How a package behaves once deployed: healthy, cycling or failing (set through the admin API).

The emulator cannot run a package, so its user tells it what the package's roles would do:

- `healthy` (default): instances reach ReadyRole.
- `cycling`: instances reach the role but keep crashing: they end in `RestartingRole` (rendered as
  `CyclingRole` for x-ms-version <= 2014-02-01, the versions that still know that state) and never
  become ReadyRole. An Auto/Simultaneous update waits `healthTimeoutSeconds` for them, then halts
  and its operation fails with `OperationTimedOut`; a Manual walk completes (the walker judges health).
- `failing`: instances fail to start (`FailedStartingRole`) and the operation that started them
  fails at once with the configured error (default 400 BadRequest), on the first upgrade domain.

Behaviours are keyed by package URL without its query string, so a SAS URL keeps its behaviour
when its signature is renewed.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Literal

from controller.emulator import errors

Kind = Literal["healthy", "cycling", "failing"]
KINDS: tuple[Kind, ...] = ("healthy", "cycling", "failing")

RESTARTING_ROLE = "RestartingRole"
FAILED_STARTING_ROLE = "FailedStartingRole"


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """What happens to instances started from a package, and the error a failing package reports."""

    kind: Kind = "healthy"
    error_status: int = 400
    error_code: str = "BadRequest"
    error_message: str = "The role failed to start: the package could not be started on the role instances."

    def final_status(self) -> str:
        """The state an instance ends in once started from this package."""
        return {"healthy": "ReadyRole", "cycling": RESTARTING_ROLE, "failing": FAILED_STARTING_ROLE}[
            self.kind
        ]

    def error(self) -> errors.EmulatorError:
        return errors.InjectedError(self.error_status, self.error_code, self.error_message)

    def to_json(self) -> dict[str, object]:
        return {
            "behaviour": self.kind,
            "errorStatus": self.error_status,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
        }


class PackageBehaviours:
    """Behaviour per package URL; unknown packages are healthy."""

    def __init__(self) -> None:
        self._by_package: dict[str, Behaviour] = {}

    def set(self, package_url: str, behaviour: Behaviour) -> None:
        self._by_package[_key(package_url)] = behaviour

    def of(self, package_url: str) -> Behaviour:
        return self._by_package.get(_key(package_url), Behaviour())

    def items(self) -> list[tuple[str, Behaviour]]:
        return sorted(self._by_package.items())

    def clear(self) -> None:
        self._by_package.clear()


def _key(package_url: str) -> str:
    parts = urllib.parse.urlsplit(package_url.strip())
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
