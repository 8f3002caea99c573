"""Fused programs equal the unfused ones, gradients included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq.sim as sim
from hybridq.sim.fusion import fuse
from hybridq.sim.program import run
from tests.conftest import random_state

C128 = torch.complex128


def random_program(n: int, length: int, rng, w: torch.Tensor, batch: int):
    ops = []
    for i in range(length):
        q = [int(v) for v in rng.permutation(n)]
        kind = rng.integers(9)
        angle = w[i % len(w)] * (1 + torch.arange(batch, dtype=torch.float64) if kind % 2 else 1)
        common = dict(n_qubits=n, batch=batch, dtype=C128)
        if kind in (0, 1):
            ops.append(sim.gate_op("RY" if kind else "RX", [q[0]], [angle], **common))
        elif kind == 2:
            ops.append(sim.gate_op("RZ", [q[0]], [angle], **common))
        elif kind == 3 and n > 1:
            ops.append(sim.gate_op("CNOT", q[:2], **common))
        elif kind == 4 and n > 2:
            ops.append(sim.gate_op("Toffoli", q[:3], **common))
        elif kind == 5 and n > 2:
            ops.append(sim.gate_op("SWAP", q[1:3], controls=[q[0]], control_values=[0], **common))
        elif kind == 6 and n > 1:
            ops.append(sim.gate_op("SWAP", q[:2], **common))
        elif kind == 7:
            ops.append(sim.gate_op("X", [q[0]], **common))
        elif n > 1:
            ops.append(sim.gate_op("CRZ", q[:2], [angle], **common))
    return ops


@pytest.mark.parametrize("n", [1, 2, 5, 7])
def test_fused_program_equals_unfused_with_gradients(n, rng):
    batch = 3
    for trial in range(4):
        w = torch.randn(5, dtype=torch.float64, requires_grad=True)
        psi = random_state(batch, n, seed=trial)
        ops = random_program(n, 40, rng, w, batch)
        fused = fuse(ops, n, dtype=C128)
        assert len(fused) <= len(ops)
        out, ref = run(psi, fused), run(psi, ops)
        torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
        g1 = torch.autograd.grad(sim.expval_z(out).sum(), w, retain_graph=True)[0]
        g2 = torch.autograd.grad(sim.expval_z(ref).sum(), w)[0]
        torch.testing.assert_close(g1, g2, atol=1e-10, rtol=0)


def test_layer_and_ring_fuse_to_two_passes():
    n = 6
    ops = [sim.gate_op("RY", [q], [0.1 * q], n_qubits=n) for q in range(n)]
    ops += [sim.gate_op("RZ", [q], [0.2], n_qubits=n) for q in range(n)]
    ops += [sim.gate_op("CNOT", [q, (q + 1) % n], n_qubits=n) for q in range(n)]
    fused = fuse(ops, n)
    assert [op.kind for op in fused] == ["kron", "permutation"]
    psi = random_state(2, n, dtype=torch.complex64)
    torch.testing.assert_close(run(psi, fused), run(psi, ops), atol=1e-6, rtol=0)
    assert np.array_equal(np.sort(fused[1].index[0].numpy()), np.arange(2**n))


def test_gates_beside_pending_one_qubit_gates_leave_them_pending():
    """A gate on other qubits than the pending one-qubit gates commutes with them: it does not
    close their layer, so a circuit of gates in any order keeps few one-qubit passes."""
    n = 4
    ops = [sim.gate_op("RY", [3], [0.3], n_qubits=n), sim.gate_op("CZ", [0, 1], n_qubits=n),
           sim.gate_op("RX", [0], [0.5], n_qubits=n), sim.gate_op("CRX", [1, 2], [0.7], n_qubits=n),
           sim.gate_op("RZ", [3], [0.2], n_qubits=n), sim.gate_op("CZ", [0, 3], n_qubits=n)]
    fused = fuse(ops, n, dtype=C128)
    # CZ(0, 1) and CRX(1, 2) before RY(3), RX(0), RZ(3) as one pass (was: a pass before each)
    assert [(op.kind, op.controls + op.qubits) for op in fused] == [
        ("diagonal", (0, 1)), ("dense", (1, 2)), ("kron", (0, 3)), ("diagonal", (0, 3))]
    psi = random_state(3, n, dtype=torch.complex64)
    torch.testing.assert_close(run(psi, fused), run(psi, ops), atol=1e-6, rtol=0)
