"""``benchmarks/triton_moves.py``: every way it moves a program's amplitudes to their pair
partners agrees with the gather (in Triton's interpreter), and without a GPU it says so plainly."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "triton_moves.py"
pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton not installed")


def _run(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"} | env
    return subprocess.run([sys.executable, str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=300)


def test_every_method_moves_the_amplitudes_as_the_gather_does():
    out = _run(TRITON_INTERPRET="1")
    assert out.returncode == 0 and "every method moves the amplitudes as the gather does" in out.stdout, out.stderr[-2000:]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU times the methods")
def test_without_a_gpu_it_says_what_it_needs():
    out = _run()
    assert out.returncode == 2 and "no CUDA GPU" in out.stderr and "Traceback" not in out.stderr
