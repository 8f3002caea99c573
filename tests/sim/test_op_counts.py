"""A training step's torch ops do not grow with the number of entangling gates (``benchmarks/op_counts.py``).

On a GPU a small circuit's step is launch-bound: every torch op around the simulator's kernels
costs about as much as the kernels' arithmetic. The compiled circuit makes the data of all its
gates in one autograd node (:mod:`hybridq.circuits.gate_data`), so a ring of CRX or RZZ gates
costs a fixed number of ops, not a few per gate as when each step's data was its own autograd
node: on the GPU path (run in Triton's interpreter) within 1.5x the CNOT ring's ops, and on the
native CPU kernels the same number at every size.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hybridq.sim import native

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "op_counts.py"
RINGS = ("crx_ring", "rzz_ring")


def counts(engine: str, size: str) -> dict:
    """``{family: {api: {"ops": ...}}}`` of the CNOT, CRX and RZZ rings at ``size`` (n,L,B)."""
    out = subprocess.run([sys.executable, str(SCRIPT), "--json", "--engines", engine, "--size", size,
                          "--families", ",".join(("cnot_ring",) + RINGS)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])[engine]


@pytest.mark.parametrize("engine", [
    pytest.param("native", marks=pytest.mark.skipif(native.library() is None, reason="no native kernels")),
    pytest.param("triton", marks=pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                                    reason="Triton not installed")),
])
def test_entangler_rings_cost_a_fixed_number_of_ops(engine):
    small, large = counts(engine, "4,2,8"), counts(engine, "6,3,8")
    for api in ("layer", "step"):
        for family in RINGS:
            assert small[family][api]["ops"] == large[family][api]["ops"], (family, api, small, large)
            if engine == "triton":  # the native kernels build the one-qubit gates themselves: the CNOT ring's ops are few
                assert large[family][api]["ops"] <= 1.5 * large["cnot_ring"][api]["ops"], (family, api, large)
