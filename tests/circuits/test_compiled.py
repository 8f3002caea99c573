"""The vectorised compiled program equals gate-by-gate simulation."""

from __future__ import annotations

import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight
from hybridq.circuits.compiled import CompiledCircuit


def mixed_circuit(n: int, rng) -> Circuit:
    c = Circuit(n)
    for layer in range(3):
        for q in range(n):
            c.ry(Weight(f"w{layer}{q}") * Input(q % 2) + Weight(f"b{layer}{q}"), q)
            c.rz(0.5 * Weight(f"t{layer}{q}") - 0.1, q)
            c.u3(Weight(f"u{layer}{q}"), Input(1), 0.3, q)
            c.h(q).s(q).x(q)
        c.cx(0, 1).ccx(1, 2, 0).swap(0, n - 1).crx(Weight("c") * Input(0), 2, 1)
        c.rzz(Weight(f"z{layer}"), 0, 2).pauli_rotation(Weight("p"), "XY", [1, 2])
        c.unitary(torch.linalg.qr(torch.randn(4, 4, dtype=torch.complex128, generator=rng))[0].numpy(), [2, 0])
    return c


@pytest.mark.parametrize("n", [3, 5])
def test_compiled_equals_gate_by_gate_with_gradients(n):
    rng = torch.Generator().manual_seed(n)
    c = mixed_circuit(n, rng)
    assert CompiledCircuit.of(c).ok
    x = torch.randn(4, 2, dtype=torch.float64, generator=rng)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=rng, requires_grad=True)
    fast = hq.simulate(c, x, w, dtype=torch.complex128)
    slow = hq.simulate(c, x, w, dtype=torch.complex128, fusion=False)
    torch.testing.assert_close(fast, slow, atol=1e-12, rtol=0)
    g_fast = torch.autograd.grad(hq.sim.expval_z(fast).sum(), w)[0]
    g_slow = torch.autograd.grad(hq.sim.expval_z(slow).sum(), w)[0]
    torch.testing.assert_close(g_fast, g_slow, atol=1e-10, rtol=0)


def test_non_affine_angles_fall_back_and_plans_follow_edits():
    c = Circuit(2).ry(Weight("a") * Weight("b"), 0)
    assert not CompiledCircuit.of(c).ok
    psi = hq.simulate(c, weights={"a": 2.0, "b": 0.5})
    assert abs(hq.sim.probabilities(psi)[0, 2].item() - torch.sin(torch.tensor(0.5)).item() ** 2) < 1e-6
    c2 = Circuit(1).ry(0.3, 0)
    first = CompiledCircuit.of(c2)
    assert CompiledCircuit.of(c2) is first
    c2.rx(0.2, 0)
    assert CompiledCircuit.of(c2) is not first
    torch.testing.assert_close(hq.simulate(c2), hq.simulate(c2, fusion=False))
