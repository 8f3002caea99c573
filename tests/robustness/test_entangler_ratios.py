"""``benchmarks/entangler_ratios.py`` times every family it is asked for against the CNOT ring,
and turns down a GPU run it cannot make with a plain message (no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "entangler_ratios.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def test_a_small_run_prints_each_family_against_the_cnot_ring():
    out = _run("--size", "4,1,3", "--repeats", "2", "--families", "cz_chain,rxx_ring")
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| ") and "ms per step" not in line]
    assert [r.split("|")[1].strip() for r in rows] == ["cnot_ring", "cz_chain", "rxx_ring"]
    assert float(rows[0].split("|")[3]) == 1.0  # the ring against itself
    assert all(float(r.split("|")[2]) > 0 for r in rows)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU runs it")
def test_without_a_gpu_cuda_is_turned_down_plainly():
    out = _run("--device", "cuda")
    assert out.returncode == 2 and "no CUDA GPU" in out.stderr and "Traceback" not in out.stderr


def test_host_time_is_not_offered_for_a_gpu_step():
    out = _run("--device", "cuda", "--clock", "cpu")
    assert out.returncode == 2 and "wall clock" in out.stderr
