"""PennyLane's own device test suite (shipped in ``pennylane/devices/tests``) on ``hybridq.qubit``.

It runs in a separate pytest process, as PennyLane documents (``--device hybridq.qubit``),
analytic in full and with shots on its measurement tests. The device is found through its
``pennylane.plugins`` entry point, so hybridq must be installed (``pip install .``), not only
importable.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

qml = pytest.importorskip("pennylane")
pytest.importorskip("flaky")
pytest.importorskip("pytest_mock")

SUITE = Path(qml.__file__).parent / "devices" / "tests"
REGISTERED = any(e.name == "hybridq.qubit" for e in entry_points(group="pennylane.plugins"))
pytestmark = pytest.mark.skipif(not REGISTERED, reason="hybridq is not installed: the hybridq.qubit entry point is missing")


def _run(*args: str) -> str:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "flaky", "--no-flaky-report", "--device", "hybridq.qubit", "-q",
         "-p", "no:cacheprovider", "--import-mode=importlib"],
        capture_output=True, text=True, cwd=root, env=env, timeout=1200,
    )
    tail = done.stdout[-3000:]
    assert done.returncode == 0, (done.returncode, tail, done.stderr[-2000:])
    return tail


def _count(tail: str, outcome: str) -> int:
    found = re.search(rf"(\d+) {outcome}\b", tail)
    return int(found.group(1)) if found else 0


@pytest.mark.slow
def test_analytic_suite_passes():
    tail = _run(str(SUITE))
    assert _count(tail, "failed") == 0 and _count(tail, "passed") > 380, tail  # default.qubit passes 382


@pytest.mark.slow
def test_measurements_with_shots_pass():
    tail = _run(str(SUITE / "test_measurements.py"), str(SUITE / "test_gates_with_expval.py"), "--shots", "10000")
    assert _count(tail, "failed") == 0 and _count(tail, "passed") > 100, tail
