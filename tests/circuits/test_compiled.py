"""The vectorised compiled program equals gate-by-gate simulation."""

from __future__ import annotations

import copy

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


def test_plans_and_parameters_follow_in_place_edits_of_the_operation_list():
    from hybridq.circuits.circuit import OperationList

    c = Circuit(2).ry(Weight("a"), 0).cx(0, 1)
    first, names = CompiledCircuit.of(c), c.weight_names
    edits = set()
    for edit in (lambda ops: ops.__setitem__(0, Circuit(2).rx(Weight("b") * Input(1), 1).ops[0]),
                 lambda ops: ops.insert(0, ops[-1]), lambda ops: ops.pop(0), lambda ops: ops.reverse(),
                 lambda ops: ops.sort(key=lambda op: op.name), lambda ops: ops.__delitem__(slice(0, 0)),
                 lambda ops: ops.extend([]), lambda ops: ops.remove(ops[-1])):
        before = c.ops.edit
        edit(c.ops)
        assert c.ops.edit != before and c.ops.edit not in edits
        edits.add(c.ops.edit)
    assert CompiledCircuit.of(c) is not first
    assert (names, c.weight_names, c.n_inputs) == (["a"], ["b"], 2)
    torch.testing.assert_close(hq.simulate(c, torch.ones(1, 2), torch.ones(1)),
                               hq.simulate(c, torch.ones(1, 2), torch.ones(1), fusion=False))
    c.ops = [c.ops[0]]  # a plain list is stored as an OperationList
    assert isinstance(c.ops, OperationList) and c.ops.edit not in edits
    assert copy.deepcopy(c).ops.edit != c.ops.edit
