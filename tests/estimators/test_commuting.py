"""Clifford diagonalisation and CliffordGrouping: dense cross-checks, exact variance, statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq import sim
from hybridq.circuits import simulate
from hybridq.estimators import CliffordGrouping
from hybridq.estimators.clifford import conjugate, diagonalising_gates
from hybridq.estimators.commuting import basis_state_covariance, commuting_groups, walsh_hadamard
from hybridq.operators import molecule_info

PAULI = [np.eye(2), np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]


def dense(x, z, sign=False) -> np.ndarray:
    out = np.eye(1)
    for a, b in zip(x, z):
        out = np.kron(out, PAULI[{(0, 0): 0, (1, 0): 1, (1, 1): 2, (0, 1): 3}[(int(a), int(b))]])
    return -out if sign else out


def unitary(gates, n) -> np.ndarray:
    columns = torch.eye(2**n, dtype=torch.complex128)
    for name, qubits in gates:
        columns = sim.apply_gate(columns, name, list(qubits))
    return columns.numpy().T


def random_gates(rng, n, count):
    gates = []
    for _ in range(count):
        name = str(rng.choice(["H", "S", "CNOT", "CZ"]))
        qubits = rng.choice(n, 1 if name in ("H", "S") else 2, replace=False)
        gates.append((name, tuple(int(q) for q in qubits)))
    return gates


def test_conjugation_and_diagonalisation_match_dense_matrices():
    rng = np.random.default_rng(3)
    n = 4
    for _ in range(30):
        # a random commuting set: Z strings conjugated by a random Clifford
        zz = rng.random((5, n)) < 0.5
        gates = random_gates(rng, n, 12)
        x, z, sign = conjugate(np.zeros_like(zz), zz, np.zeros(5, bool), gates)
        u = unitary(gates, n)
        for k in range(5):
            assert np.allclose(u @ dense(0 * zz[k], zz[k]) @ u.conj().T, dense(x[k], z[k], sign[k]))
        fix = diagonalising_gates(x, z)
        dx, dz, dsign = conjugate(x, z, sign, fix)
        assert not dx.any()
        v = unitary(fix, n)
        for k in range(5):
            assert np.allclose(v @ dense(x[k], z[k], sign[k]) @ v.conj().T, dense(dx[k], dz[k], dsign[k]))


def test_non_commuting_members_are_refused():
    with pytest.raises(ValueError, match="commute"):
        diagonalising_gates(np.array([[1], [0]], bool), np.array([[0], [1]], bool))


def test_walsh_hadamard_matches_the_definition():
    v = np.random.default_rng(0).normal(size=8)
    signs = (-1.0) ** np.array([[bin(b & m).count("1") for m in range(8)] for b in range(8)])
    assert np.allclose(walsh_hadamard(v), signs @ v)


def test_groups_commute_and_basis_state_covariance_is_exact(random_problem):
    H, _ = random_problem
    est = CliffordGrouping(H).fit()
    t = est.terms
    members = commuting_groups(t)
    assert sorted(np.concatenate(members).tolist()) == list(range(len(t)))
    xb, zb = (t.codes == 1) | (t.codes == 2), (t.codes == 2) | (t.codes == 3)
    for group in est.groups:
        ops = [dense(xb[q], zb[q]) for q in group.terms]
        assert all(np.allclose(a @ b, b @ a) for a in ops for b in ops)
        for bits in (0, 5, 12):
            psi = np.zeros(16)
            psi[bits] = 1
            mean = np.array([psi @ op @ psi for op in ops])
            second = np.array([[psi @ a @ b @ psi for b in ops] for a in ops])
            assert np.allclose(basis_state_covariance(t, group.terms, bits), (second - np.outer(mean, mean)).real)


def test_split_is_unbiased_and_variance_is_exact(random_problem):
    H, psi = random_problem
    est = CliffordGrouping(H).fit()
    t = est.terms
    total = np.zeros(len(t))
    for group, c in zip(est.groups, est.split):
        np.add.at(total, group.terms, c)
    assert np.allclose(total, t.coeffs)  # every coefficient split exactly: unbiased
    assert est.fractions.sum() == pytest.approx(1.0)
    xb, zb = (t.codes == 1) | (t.codes == 2), (t.codes == 2) | (t.codes == 3)
    variance = 0.0
    for group, c, f in zip(est.groups, est.split, est.fractions):
        op = sum(ck * dense(xb[q], zb[q]) for ck, q in zip(c, group.terms))
        mean = np.vdot(psi, op @ psi).real
        variance += (np.vdot(psi, op @ op @ psi).real - mean**2) / f
    assert est.variance(psi) == pytest.approx(variance, rel=1e-9)


@pytest.mark.parametrize("molecule, shots", [("h2", 5000), ("lih", 1000)])
def test_unbiased_with_calibrated_errors(request, molecule, shots):
    # (H2's ground state is nearly an eigenstate of its two groups: skewed outcomes make the
    # plug-in error bars of a few thousand shots slightly too small, 92-94% at 2000 shots)
    H, psi = request.getfixturevalue(molecule)
    est = CliffordGrouping(H).fit()
    exact = est.exact(psi)
    rng = np.random.default_rng(11)
    results = [est.run(psi, shots, seed=rng) for _ in range(600)]
    values = np.array([r.value for r in results])
    errors = np.array([r.stderr for r in results])
    assert abs(values.mean() - exact) < 3 * values.std() / np.sqrt(len(values))
    assert 0.93 <= np.mean(np.abs(values - exact) < 1.96 * errors) <= 0.97
    assert values.var() * shots == pytest.approx(est.variance(psi), rel=0.15)


def test_lih_variance_matches_sampling_and_beats_the_target(lih):
    H, psi = lih
    est = CliffordGrouping(H).fit()
    var1 = est.variance(psi)
    assert var1 < 0.6  # Var1 on the exact ground state (ShadowGrouping: ~1.1)
    res = est.run(psi, 200_000, seed=4)
    assert abs(res.value - est.exact(psi)) < 4 * res.stderr
    assert res.stderr**2 * res.shots == pytest.approx(var1, rel=0.1)


@pytest.mark.parametrize("backend", ["aer", "cirq"])
def test_runs_on_backends_from_a_circuit(backend):
    info = molecule_info("H2")
    circuit = hq.Circuit(info.n_qubits)
    for q, bit in enumerate(info.hf_bitstring):
        if bit == "1":
            circuit.x(q)
    circuit.ry(0.4, 1).cx(1, 2).ry(0.9, 3).cx(3, 0)  # not an eigenstate: the outcomes vary
    est = CliffordGrouping(hq.PauliSum.from_molecule("H2")).fit()
    exact = est.exact(simulate(circuit, dtype=torch.complex128))
    result = est.run(circuit, 4000, backend=backend, seed=2)
    assert 0 < abs(result.value - exact) < 4 * result.stderr


def test_bad_reference_and_missing_groups_are_refused(h2):
    H, _ = h2
    with pytest.raises(ValueError, match="4 characters"):
        CliffordGrouping(H, reference="101")
    est = CliffordGrouping(H).fit()
    with pytest.raises(ValueError, match="no shot"):
        est.estimate(np.zeros(3, dtype=int), np.zeros(3, dtype=int))


def test_variance_allocation_beats_l1_allocation_on_lih(lih):
    from hybridq.estimators import Grouping

    H, psi = lih
    l1 = Grouping(H, strategy="sorted-insertion").fit().variance(psi)
    model = Grouping(H, strategy="sorted-insertion", allocation="variance").fit().variance(psi)
    assert model < 0.5 * l1
