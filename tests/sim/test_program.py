"""Programs: the adjoint backward equals autograd and finite differences."""

from __future__ import annotations

import torch

import hybridq.sim as sim
from hybridq.sim.program import run
from tests.conftest import random_state

C128 = dict(dtype=torch.complex128)


def program(w: torch.Tensor, x: torch.Tensor, n: int = 4):
    return [
        sim.gate_op("RX", [0], [w[0]], n_qubits=n, **C128),
        sim.gate_op("CNOT", [0, 1], n_qubits=n, **C128),
        sim.gate_op("RY", [2], [w[1] * x + w[2]], n_qubits=n, batch=len(x), **C128),
        sim.gate_op("RZZ", [1, 3], [w[3]], n_qubits=n, **C128),
        sim.gate_op("U3", [2], [w[4], w[5], w[6]], n_qubits=n, controls=[3], **C128),
        sim.pauli_rotation_op(w[7], "XY", [0, 2], n_qubits=n, **C128),
        sim.gate_op("SWAP", [1, 2], n_qubits=n, **C128),
        sim.gate_op("CRX", [3, 0], [w[8]], n_qubits=n, **C128),
    ]


def loss(method: str, w, x, psi0):
    out = run(psi0, program(w, x), method=method)
    return sim.expval_z(out).square().sum() + out.real[:, ::3].sum()


def test_adjoint_equals_autograd_including_state_gradient():
    w = torch.randn(9, dtype=torch.float64, requires_grad=True)
    x = torch.randn(3, dtype=torch.float64)
    psi0 = random_state(3, 4).requires_grad_(True)
    ga = torch.autograd.grad(loss("autograd", w, x, psi0), [w, psi0])
    gj = torch.autograd.grad(loss("adjoint", w, x, psi0), [w, psi0])
    for a, j in zip(ga, gj):
        torch.testing.assert_close(a, j, atol=1e-10, rtol=0)


def test_adjoint_matches_finite_differences():
    w = torch.randn(9, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, dtype=torch.float64)
    psi0 = random_state(1, 4)
    (g,) = torch.autograd.grad(loss("adjoint", w, x, psi0), [w])
    eps = 1e-6
    for i in range(9):
        d = torch.zeros(9, dtype=torch.float64)
        d[i] = eps
        fd = (loss("autograd", w + d, x, psi0) - loss("autograd", w - d, x, psi0)) / (2 * eps)
        assert abs(fd.item() - g[i].item()) < 1e-6


def test_runs_without_autograd_reuse_buffers_and_agree():
    """No-grad CPU runs write kron / permutation ops into two buffers: same states, input intact."""
    from hybridq.sim.fusion import fuse

    n, batch = 7, 5
    g = torch.Generator().manual_seed(3)
    angles = torch.rand(2, n, batch, generator=g, dtype=torch.float64)
    ops = []
    for layer in range(2):
        for q in range(n):  # real shared layer, then a complex per-sample one
            ops.append(sim.gate_op("RY", [q], [0.3 * q + layer], n_qubits=n, **C128))
            ops.append(sim.gate_op("RZ", [q], [angles[layer, q]], n_qubits=n, batch=batch, **C128))
        ops += [sim.gate_op("CNOT", [q, (q + 1) % n], n_qubits=n, **C128) for q in range(n)]
        ops.append(sim.gate_op("RY", [2], [0.4], n_qubits=n, **C128))  # a partial layer
        ops.append(sim.gate_op("CRX", [0, 3], [0.7], n_qubits=n, **C128))
    fused = fuse(ops, n, dtype=torch.complex128)
    assert {op.kind for op in fused} >= {"kron", "permutation"}
    psi0 = random_state(1, n, seed=4)
    before = psi0.clone()
    reference = run(psi0.clone().requires_grad_(True), fused).detach()  # the autograd path
    with torch.no_grad():
        out = run(psi0, fused)
    torch.testing.assert_close(out, reference, atol=1e-12, rtol=0)
    torch.testing.assert_close(run(psi0, ops).detach(), reference, atol=1e-12, rtol=0)
    assert torch.equal(psi0, before)
