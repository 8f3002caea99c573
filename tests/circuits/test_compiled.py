"""The vectorised compiled program equals gate-by-gate simulation."""

from __future__ import annotations

import copy

import numpy as np
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


def commuting_rotation_runs(n: int, seed: int) -> Circuit:
    """Layers of one-qubit rotations and runs of two-qubit Pauli rotations on random pairs (not
    only neighbours): each run puts one letter on each qubit (so it commutes and is rewritten),
    then one rotation whose letters clash with the run, angles per sample on every other one."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    for k in range(2):
        for q in range(n):
            c.ry(Weight(f"w{k}{q}") * Input(q % 2) + Weight(f"b{k}{q}"), q).rz(Weight(f"t{k}{q}"), q)
        letters = {q: "XYZ"[int(rng.integers(3))] for q in range(n)}
        for i in range(n):
            a, b = (int(q) for q in rng.permutation(n)[:2])
            angle = Weight(f"e{k}{i}") * Input(i % 2) if i % 2 else Weight(f"e{k}{i}")
            pauli = letters[a] + letters[b]
            {"XX": lambda: c.rxx(angle, a, b), "YY": lambda: c.ryy(angle, a, b)}.get(
                pauli, lambda: c.pauli_rotation(angle, pauli, [a, b]))()
        (c.ryy if letters[0] == "X" else c.rxx)(Weight(f"clash{k}"), 0, n - 1)
    return c


@pytest.mark.parametrize("n, batch", [(2, 1), (4, 5), (7, 3)])
@pytest.mark.parametrize("dtype, tol", [(torch.complex128, 1e-10), (torch.complex64, 2e-4)])
@pytest.mark.parametrize("fused", ["1", "0"])
def test_commuting_pauli_rotation_runs_equal_gate_by_gate(n, batch, dtype, tol, fused, monkeypatch):
    """The rewrite of commuting two-qubit Pauli rotations into basis changes around RZZ steps: the
    same states and weight and input gradients as gate-by-gate simulation, native or not."""
    monkeypatch.setenv("HYBRIDQ_FUSED", fused)
    c = commuting_rotation_runs(n, seed=n + batch)
    names = [op.name for op in CompiledCircuit.of(c).operations]
    assert "RXX" not in names and "RYY" not in names and "RZZ" in names
    g = torch.Generator().manual_seed(n)
    x = torch.rand(batch, 2, dtype=torch.float64, generator=g) * 2 - 1
    w = torch.rand(len(c.weight_names), dtype=torch.float64, generator=g) * 4 - 2
    runs = []
    for fusion in (True, False):
        wd, xd = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
        psi = hq.simulate(c, xd, wd, dtype=dtype, fusion=fusion)
        loss = hq.sim.expval_z(psi).square().sum() + (psi[:, 0] * psi[:, -1].conj()).real.sum()
        runs.append([psi.detach(), *torch.autograd.grad(loss, (wd, xd))])
    for a, b in zip(*runs):
        assert float((a - b).abs().max()) < tol * max(1.0, float(b.abs().max()))


def test_rewritten_rotation_gradients_match_finite_differences():
    """d<Z...>/dweights through the RZZ rewrite of an RXX/RYY/RZX ring equals central differences."""
    n = 4
    c = Circuit(n)
    for q in range(n):
        c.ry(Weight(f"a{q}") * Input(0), q)
    c.rxx(Weight("x01"), 0, 1).rxx(Weight("x12") * Input(0), 1, 2)
    c.ryy(Weight("y23"), 2, 3).ryy(Weight("y30"), 3, 0)
    c.pauli_rotation(Weight("zx"), "ZX", [1, 3])
    assert sum(op.name == "RZZ" for op in CompiledCircuit.of(c).operations) == 5
    x = torch.tensor([[0.7], [-1.3], [0.2]], dtype=torch.float64)
    w = torch.linspace(-1.1, 1.4, len(c.weight_names), dtype=torch.float64)
    loss = lambda v: (hq.sim.expval_z(hq.simulate(c, x, v, dtype=torch.complex128)) * torch.arange(1.0, n + 1)).sum()
    wd = w.clone().requires_grad_(True)
    grad = torch.autograd.grad(loss(wd), wd)[0]
    eps = 1e-6
    fd = torch.stack([(loss(w + eps * e) - loss(w - eps * e)) / (2 * eps) for e in torch.eye(len(w), dtype=torch.float64)])
    torch.testing.assert_close(grad, fd, atol=1e-7, rtol=0)


def test_an_rxx_ring_compiles_to_diagonal_steps_and_pair_rotations_stay():
    """A ring of RXX becomes Hadamards in the one-qubit chains around RZZ (diagonal) steps; two-qubit
    ``PauliRot`` next to another (a Givens rotation's XY, YX: a pair rotation) are left alone."""
    ring = Circuit(5)
    for q in range(5):
        ring.ry(Weight(f"a{q}"), q)
    for q in range(5):
        ring.rxx(Weight(f"x{q}"), q, (q + 1) % 5)
    plan = CompiledCircuit.of(ring)
    assert [s.kind for s in plan.steps] == ["kron"] + ["single"] * 5 + ["kron"]
    assert {plan.operations[s.items[0]].name for s in plan.steps[1:-1]} == {"RZZ"}
    givens = Circuit(2).pauli_rotation(Weight("g"), "XY", [0, 1]).pauli_rotation(Weight("g"), "YX", [0, 1])
    assert [op.pauli for op in CompiledCircuit.of(givens).operations] == ["XY", "YX"]


@pytest.mark.parametrize("fused", ["1", "0"])
def test_lone_crossing_rotations_stay_dense_steps_in_one_layer(fused, monkeypatch):
    """An XY mixer (RXX then RYY on each pair of a ring) is a row of lone rotations that cross
    their neighbours: they stay as they are (one layer per mixer, not one of basis changes per
    rotation), with the same states and gradients as gate-by-gate simulation."""
    monkeypatch.setenv("HYBRIDQ_FUSED", fused)
    n, layers = 4, 2
    c = Circuit(n)
    for k in range(layers):
        for q in range(n):
            c.ry(Weight(f"w{k}{q}") * Input(q % 2), q)
        for q in range(n):
            c.rxx(Weight(f"x{k}{q}"), q, (q + 1) % n).ryy(Weight(f"y{k}{q}") * Input(0), q, (q + 1) % n)
    plan = CompiledCircuit.of(c)
    assert [op.name for op in plan.operations] == [op.name for op in c.ops]
    g = torch.Generator().manual_seed(7)
    x = torch.rand(3, 2, dtype=torch.float64, generator=g) * 2 - 1
    w = torch.rand(len(c.weight_names), dtype=torch.float64, generator=g) * 4 - 2
    assert len(plan.layered(x, w, batch=3, dtype=torch.complex128, device="cpu").layers) == layers
    runs = []
    for fusion in (True, False):
        wd, xd = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
        psi = hq.simulate(c, xd, wd, dtype=torch.complex128, fusion=fusion)
        loss = hq.sim.expval_z(psi).square().sum() + (psi[:, 0] * psi[:, -1].conj()).real.sum()
        runs.append([psi.detach(), *torch.autograd.grad(loss, (wd, xd))])
    for a, b in zip(*runs):
        assert float((a - b).abs().max()) < 1e-10 * max(1.0, float(b.abs().max()))


def test_every_plan_cached_on_a_circuit_follows_its_edits():
    """Compiled programs, phase plans and noise plans are all kept on the circuit by one rule
    (``Circuit.derived``): an edit after a run (in place or by assigning ``ops``) is seen by the
    next run, and a noise plan follows its noise model too."""
    from hybridq.circuits.phases import PhasePlan, simulate_phases
    from hybridq.circuits.trajectories import NoisyPlan, simulate_trajectories
    from hybridq.sim.noise import NoiseModel

    c = Circuit(3).h(0).h(1).h(2).rzz(Weight("a"), 0, 1).cz(1, 2).rz(Weight("b"), 2).cx(0, 2).rzz(0.4, 1, 2)
    w = torch.tensor([0.3, -0.7], dtype=torch.float64)
    noise = NoiseModel(depolarizing=0.2)

    def runs(circuit, model=noise):
        seeded = torch.Generator().manual_seed(3)
        return (hq.simulate(circuit, weights=w), simulate_phases(circuit, weights=w),
                simulate_trajectories(circuit, model, weights=w, trajectories=5, generator=seeded))

    assert PhasePlan.of(c).has_runs
    before = runs(c)
    plans = (CompiledCircuit.of(c), PhasePlan.of(c), NoisyPlan.of(c, noise))
    assert CompiledCircuit.of(c) is plans[0] and PhasePlan.of(c) is plans[1] and NoisyPlan.of(c, noise) is plans[2]
    for edit in (lambda: c.ry(Weight("a"), 1), lambda: c.ops.__setitem__(0, Circuit(3).x(0).ops[0]),
                 lambda: setattr(c, "ops", c.ops[:-1])):
        edit()
        after = runs(c)
        for old, new, fresh in zip(before, after, runs(c.copy())):
            torch.testing.assert_close(new, fresh, atol=1e-12, rtol=0)
            assert not torch.allclose(new, old, atol=1e-6)
        before = after
    twin = copy.copy(c)  # shares c's operation list and caches until it gets its own operations
    twin.ops = twin.ops[:1]
    hq.simulate(twin)
    torch.testing.assert_close(runs(c)[0], runs(c.copy())[0], atol=1e-12, rtol=0)
    other = NoiseModel(phase_damping=0.3)
    torch.testing.assert_close(runs(c, other)[2], runs(c.copy(), other)[2], atol=1e-12, rtol=0)
    assert NoisyPlan.of(c, other) is not NoisyPlan.of(c, noise)
