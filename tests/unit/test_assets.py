"""The CRD and the examples ship with the wheel, and the sandbox finds them there.

A non-editable install has no source tree beside the package: `pip install .` followed by
`cloudservice-operator sandbox` (the README's quickstart) must still find what it applies.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from controller import assets

ROOT = Path(__file__).resolve().parents[2]


def test_the_source_tree_is_found_first() -> None:
    assert assets.crd_path() == ROOT / "crds" / "cloudservicedeployment.yaml"
    assert assets.examples_dir() == ROOT / "deploy" / "examples"


@pytest.mark.timeout(120)
def test_the_wheel_carries_the_crd_and_every_example(tmp_path: Path) -> None:
    subprocess.run(  # noqa: S603 - a fixed command line: pip building this repository
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("cloudservice_operator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "cloudservice_operator-0.1.0.data/data/share/cloudservice-operator"
    assert f"{data}/crds/cloudservicedeployment.yaml" in names
    examples = {path.name for path in (ROOT / "deploy" / "examples").glob("*.yaml")}
    assert examples
    assert {f"{data}/examples/{name}" for name in examples} <= names
