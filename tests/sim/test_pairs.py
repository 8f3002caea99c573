"""Pair rotations: runs of commuting Pauli rotations with one flip mask, applied as one gate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Weight
from hybridq.sim.pairs import commuting_same_flip


def _commuting_run(rng, n: int, k: int) -> list[str]:
    """``k`` random full-length strings sharing one flip mask and commuting with the first."""
    flip = rng.integers(0, 2, n)
    flip[rng.integers(n)] = 1
    out = []
    while len(out) < k:
        z = rng.integers(0, 2, n)
        label = "".join("IZXY"[2 * f + b] for f, b in zip(flip, z))
        if commuting_same_flip(out[:1] + [label]):
            out.append(label)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_pair_runs_match_gate_by_gate_states_and_gradients(seed):
    rng = np.random.default_rng(seed)
    n = 5
    circuit = Circuit(n).h(0).ry(0.3, 2)
    names = ["a", "b", "c"]
    for block in range(3):
        for label in _commuting_run(rng, n, int(rng.integers(1, 5))):
            qubits = [q for q, p in enumerate(label) if p != "I"]
            angle = float(rng.normal()) * Weight(names[block]) + float(rng.normal()) * Weight(names[(block + 1) % 3]) + 0.2
            circuit.pauli_rotation(angle, "".join(label[q] for q in qubits), qubits)
        circuit.cx(block, block + 1)
    assert any(step.kind == "pair_rotation" for step in hq.circuits.compiled.CompiledCircuit.of(circuit).steps)
    observable = hq.PauliSum.from_list([("XZIYZ", 0.7), ("ZZIII", -0.4), ("IYYIX", 0.3)])
    weights = torch.tensor(rng.normal(size=3), dtype=torch.float64)
    reference = hq.simulate(circuit, weights=weights, dtype=torch.complex128, fusion=False)
    assert torch.allclose(hq.simulate(circuit, weights=weights, dtype=torch.complex128), reference, atol=1e-12)
    grads = []
    for method, fusion in [("adjoint", True), ("autograd", True), ("autograd", False)]:
        w = weights.clone().requires_grad_(True)
        state = hq.simulate(circuit, weights=w, dtype=torch.complex128, method=method, fusion=fusion)
        hq.sim.expval(state, observable).sum().backward()
        grads.append(w.grad)
    assert torch.allclose(grads[0], grads[2], atol=1e-10) and torch.allclose(grads[1], grads[2], atol=1e-10)


def test_non_commuting_or_different_flips_are_not_merged():
    assert not commuting_same_flip(["XI", "YI"])  # anticommute
    assert not commuting_same_flip(["XI", "IX"])  # different flips
    assert not commuting_same_flip(["ZZ"])  # no flip: diagonal
    circuit = Circuit(4).pauli_rotation(Weight("a"), "XZZZ", range(4)).pauli_rotation(Weight("b"), "YZZZ", range(4))
    steps = hq.circuits.compiled.CompiledCircuit.of(circuit).steps
    assert [len(s.items) for s in steps if s.kind == "pair_rotation"] == [1, 1]  # too wide for a dense step each


def test_a_run_that_cancels_moves_no_pair():
    circuit = Circuit(2).pauli_rotation(Weight("a"), "XY", [0, 1]).pauli_rotation(-1.0 * Weight("a"), "XY", [0, 1]).h(0)
    weights = torch.tensor([0.7], dtype=torch.float64)
    expected = hq.simulate(Circuit(2).h(0), dtype=torch.complex128)
    assert torch.allclose(hq.simulate(circuit, weights=weights, dtype=torch.complex128), expected, atol=1e-12)


def test_a_lone_narrow_rotation_stays_a_single_step_for_the_native_executor():
    """(Rewritten as basis changes around an RZZ: see hybridq.circuits.compiled._diagonalised.)"""
    circuit = Circuit(3).pauli_rotation(Weight("a"), "XY", [0, 2]).h(1)
    plan = hq.circuits.compiled.CompiledCircuit.of(circuit)
    assert [s.kind for s in plan.steps] == ["kron", "single", "kron"]
    assert plan.operations[plan.steps[1].items[0]].name == "RZZ"
    assert hq.circuits.compiled.CompiledCircuit.of(Circuit(2).pauli_rotation(Weight("a"), "XY", [0, 1])
                                                  .pauli_rotation(Weight("b"), "YX", [0, 1])).steps[0].kind == "pair_rotation"
