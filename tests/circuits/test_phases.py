"""Runs of phase gates and CNOTs as phase polynomials agree with gate-by-gate simulation."""

from __future__ import annotations

import math

import pytest
import torch

from hybridq.circuits import Circuit, Input, Weight, ansatz
from hybridq.circuits.execute import simulate
from hybridq.circuits.phases import PhasePlan, simulate_phases


def _random_circuit(n: int, seed: int) -> Circuit:
    """Mixing gates between long runs of every phase gate and basis move, angles of every form."""
    g = torch.Generator().manual_seed(seed)
    pick = lambda k: torch.randperm(n, generator=g)[:k].tolist()  # noqa: E731
    c = Circuit(n)
    for layer in range(3):
        for q in range(n):
            c.h(q) if layer % 2 == 0 else c.ry(Weight(f"y{layer}_{q}") * Input(q), q)
        for k in range(12):
            a, b, t = pick(3)
            angle = [Input(a) * Input(b), Weight(f"w{layer}_{k}"), 0.3 * Input(t) + Weight(f"v{layer}_{k}"), 1.1][k % 4]
            [lambda: c.p(angle, a), lambda: c.rz(angle, b), lambda: c.rzz(angle, a, b), lambda: c.cx(a, b),
             lambda: c.cz(a, t), lambda: c.add("CPhase", [b, a], angle), lambda: c.add("CRZ", [t, a], angle),
             lambda: c.add("CCZ", [a, b, t]), lambda: c.x(t), lambda: c.swap(a, t), lambda: c.s(b),
             lambda: c.t(a)][(k * 5 + layer) % 12]()
    return c


@pytest.mark.parametrize("n,seed", [(3, 0), (4, 1), (6, 2)])
def test_random_phase_runs_agree_with_gate_by_gate_simulation(n, seed):
    c = _random_circuit(n, seed)
    assert PhasePlan.of(c).has_runs
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(5, n, generator=g, dtype=torch.float64) * 2 * math.pi
    w = torch.randn(len(c.weight_names), generator=g, dtype=torch.float64, requires_grad=True)
    got = simulate_phases(c, x, w)
    ref = simulate(c, x, w, dtype=torch.complex128, fusion=False)
    assert torch.allclose(got, ref, atol=1e-10)
    probe = torch.randn(5, 2**n, generator=g, dtype=torch.float64)
    (grad,) = torch.autograd.grad((got.abs().square() * probe).sum(), w)
    (grad_ref,) = torch.autograd.grad((ref.abs().square() * probe).sum(), w)
    assert torch.allclose(grad, grad_ref, atol=1e-9)


def test_kernel_matrix_of_a_full_zz_map_equals_direct_overlaps(monkeypatch):
    fm = ansatz.zz_feature_map(5, reps=2)
    assert PhasePlan.of(fm).has_runs
    g = torch.Generator().manual_seed(3)
    x1 = torch.rand(7, 5, generator=g, dtype=torch.float64) * math.pi
    x2 = torch.rand(4, 5, generator=g, dtype=torch.float64) * math.pi
    s1 = simulate(fm, x1, dtype=torch.complex128, fusion=False)
    s2 = simulate(fm, x2, dtype=torch.complex128, fusion=False)
    direct = torch.tensor([[abs(torch.vdot(b, a).item()) ** 2 for b in s2] for a in s1], dtype=torch.float64)
    assert torch.allclose(ansatz.kernel_matrix(fm, x1, x2), direct, atol=1e-12)
    gram_direct = torch.tensor([[abs(torch.vdot(b, a).item()) ** 2 for b in s1] for a in s1], dtype=torch.float64)
    assert torch.allclose(ansatz.kernel_matrix(fm, x1), gram_direct, atol=1e-12)
    monkeypatch.setattr(ansatz.feature_maps, "CHUNK_BYTES", 3 * 4 * 16)  # chunks of 3 rows
    assert torch.allclose(ansatz.kernel_matrix(fm, x1, x2), direct, atol=1e-12)
    gram = ansatz.kernel_matrix(fm, x1)
    assert torch.allclose(gram, gram_direct, atol=1e-12)
    assert torch.allclose(gram.diagonal(), torch.ones(7, dtype=torch.float64))


def test_kernel_matrix_of_the_8_qubit_zz_map_equals_pennylane_states():
    qml = pytest.importorskip("pennylane")
    n = 8
    fm = ansatz.zz_feature_map(n, reps=2)
    x = torch.rand(6, n, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * math.pi

    @qml.qnode(qml.device("default.qubit", wires=n))
    def state(v):
        for _ in range(2):
            for i in range(n):
                qml.Hadamard(i)
                qml.PhaseShift(2 * v[i], i)
            for i in range(n):
                for j in range(i + 1, n):
                    qml.CNOT([i, j])
                    qml.PhaseShift(2 * (math.pi - v[i]) * (math.pi - v[j]), j)
                    qml.CNOT([i, j])
        return qml.state()

    states = torch.stack([torch.as_tensor(state(v.numpy())) for v in x])
    ref = (states.conj() @ states.T).abs().square().T
    assert torch.allclose(ansatz.kernel_matrix(fm, x), ref, atol=1e-10)
    assert torch.allclose(ansatz.kernel_matrix(fm, x[:4], x[2:]), ref[:4, 2:], atol=1e-10)


def test_repeated_runs_share_one_phase_factor_and_stay_differentiable():
    c = Circuit(3)
    for _ in range(2):
        for q in range(3):
            c.h(q).p(Weight("a") * Input(q), q)
        for q in range(2):
            c.cx(q, q + 1).p(Weight("b") * Input(q) * Input(q + 1), q + 1).cx(q, q + 1)
    runs = [p for p in PhasePlan.of(c).parts if not isinstance(p, Circuit)]
    assert len(runs) == 2 and runs[0] is runs[1]
    x = torch.rand(4, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    w = torch.tensor([0.7, -1.3], dtype=torch.float64, requires_grad=True)
    got = ansatz.kernel_matrix(c, x, weights=w)
    ref = simulate(c, x, w, dtype=torch.complex128, fusion=False)
    assert torch.allclose(got, (ref.conj() @ ref.T).abs().square().T, atol=1e-12)
    (grad,) = torch.autograd.grad(got.sum(), w)
    step = 1e-6 * torch.eye(2, dtype=torch.float64)
    numeric = torch.stack([(ansatz.kernel_matrix(c, x, weights=w.detach() + e).sum()
                            - ansatz.kernel_matrix(c, x, weights=w.detach() - e).sum()) / 2e-6 for e in step])
    assert torch.allclose(grad, numeric, atol=1e-6)
