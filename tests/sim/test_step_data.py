"""The steps' data a compiled circuit gathers into one tensor (``Layered.data``): the same entries as
the steps' own data, in step order, on every entangler family, per-sample and shared angles,
batch 1 and odd batches. The executors that read it are checked against the reference on the
same families: native in ``test_engine.py``, Triton in ``test_triton_layers.py``.
"""

from __future__ import annotations

import pytest
import torch

from hybridq.circuits.compiled import CompiledCircuit
from hybridq.sim.layers import Dense, Diagonal, data_of, joined

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
