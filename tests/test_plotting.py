"""hybridq.plotting leaves the user's matplotlib backend and pyplot state alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

_SCRIPT = """
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
from hybridq.plotting import plot_curves, plot_error_vs_shots
plot_curves({"loss": [3, 2, 1], "acc": [[0.1, 0.5], [0.2, 0.6]]}, r"{dir}/c.png", title="t")
plot_error_vs_shots({"a": ([10, 100], [0.1, 0.03])}, r"{dir}/e.png", title="t", analytic={"a": ([10, 100], [0.1, 0.03])})
print(matplotlib.get_backend(), len(plt.get_fignums()))
"""


def test_plots_keep_the_backend_and_pyplot_state(tmp_path):
    out = subprocess.run([sys.executable, "-c", _SCRIPT.replace("{dir}", str(tmp_path))], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["svg", "0"]
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "e.png").stat().st_size > 1000
