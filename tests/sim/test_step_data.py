"""The steps' data a compiled circuit gathers into one tensor (``Layered.data``): the same entries as
the steps' own data, in step order, and the executors that read it (Triton, native) give the
reference's states and gradients on every entangler family, per-sample and shared angles,
batch 1 and odd batches.

The native executor's side is in ``test_engine.py`` (every family against the reference and
finite differences); here the Triton executor, in Triton's interpreter without a GPU.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from hybridq.circuits.compiled import CompiledCircuit
from hybridq.sim.engine import ReferenceExecutor
from hybridq.sim.layers import Dense, Diagonal, data_of, joined
from hybridq.sim.triton_layers import TritonExecutor

from test_engine import FAMILIES, _values, family_circuit


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("batch", [1, 5])
def test_gathered_data_holds_every_step_in_order(family, batch):
    circuit = family_circuit(family, 4, 2, seed=batch, layered=batch == 1)
    x, w = _values(circuit, batch, seed=1)
    program = CompiledCircuit.of(circuit).layered(x, w, batch=batch, dtype=torch.complex128, device="cpu")
    steps = [data_of(s) for layer in program.layers for s in layer.steps if isinstance(s, (Diagonal, Dense))]
    if not steps:
        assert program.data is None
        return
    assert torch.equal(program.data, joined(steps, torch.complex128))
    reads = any(s.shape[0] == batch for s in steps) and batch > 1
    assert program.data.shape[0] == (batch if reads else 1)


def check(device: str) -> None:
    """The Triton executor against the reference on every family: states, weight and input gradients."""
    for family in FAMILIES:
        for batch, dtype, tol in ((1, torch.complex128, 1e-10), (3, torch.complex64, 2e-4)):
            circuit = family_circuit(family, 4, 1, seed=batch)
            x, w = _values(circuit, batch, seed=2)
            x, w = x.to(device, dtype.to_real()).requires_grad_(True), w.to(device, dtype.to_real()).requires_grad_(True)
            probe = torch.randn(batch, 16, dtype=dtype.to_real(), generator=torch.Generator().manual_seed(0)).to(device)
            results = []
            for executor in (TritonExecutor(), ReferenceExecutor()):
                program = CompiledCircuit.of(circuit).layered(x, w, batch=batch, dtype=dtype, device=device)
                out = executor.run(program, None, "adjoint")
                if out is None:  # plain layers (the CNOT-SWAP family): the op-list kernels' program
                    break
                results.append([out, *torch.autograd.grad((out.abs().square() * probe).sum(), (w, x))])
            for got, ref in zip(*results) if len(results) == 2 else ():
                assert float((got - ref).abs().max()) < tol, (family, batch, dtype)
            assert len(results) == 2 or family == "cnot_swap", family


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton not installed")
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU runs the compiled kernels (the test below)")
def test_triton_executor_equals_the_reference_on_every_family_in_the_interpreter():
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import test_step_data as t
        t.check("cpu")
        print("ok")
    """)
    env = dict(os.environ, TRITON_INTERPRET="1", HYBRIDQ_FUSED="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]


@pytest.mark.cuda
def test_triton_executor_equals_the_reference_on_every_family_on_gpu():
    check("cuda")
