"""Where the files that ship beside the code are: the CRD and the example resources.

`crds/` and `deploy/examples/` stay where users and GitOps tools expect them in the repository
(the CRD has one canonical copy); a wheel installs the same files as data files under
`<prefix>/share/cloudservice-operator/`. The sandbox finds them in either place, preferring the
source tree it runs from, so editing an example in a checkout is what the sandbox applies.
"""

from __future__ import annotations

import site
import sys
from pathlib import Path

SHARE = Path("share") / "cloudservice-operator"
_SOURCE_ROOT = Path(__file__).resolve().parents[1]


def _candidates(relative_in_source: Path, relative_in_share: Path) -> list[Path]:
    prefixes = [Path(sys.prefix), Path(site.getuserbase())]
    return [_SOURCE_ROOT / relative_in_source, *(prefix / SHARE / relative_in_share for prefix in prefixes)]


def _first_existing(candidates: list[Path]) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return candidates[0]  # absent everywhere: name the source-tree location in the error


def crd_path() -> Path:
    """`crds/cloudservicedeployment.yaml` of this installation."""
    name = "cloudservicedeployment.yaml"
    return _first_existing(_candidates(Path("crds") / name, Path("crds") / name))


def examples_dir() -> Path:
    """`deploy/examples/` of this installation."""
    return _first_existing(_candidates(Path("deploy") / "examples", Path("examples")))
