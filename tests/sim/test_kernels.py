"""Kernels against a dense Kronecker-product reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch

import hybridq.sim as sim
from tests.conftest import embed, pauli_matrix, random_state


def random_unitary(k: int, rng) -> np.ndarray:
    return scipy.stats.unitary_group.rvs(2**k, random_state=rng)


@pytest.mark.parametrize("n,qubits,controls", [(1, [0], []), (3, [2], []), (3, [2, 0], []), (4, [1, 3, 0], []),
                                               (4, [3], [0]), (5, [4, 1], [0, 2]), (4, [0], [3, 1, 2])])
def test_apply_matrix_matches_dense(n, qubits, controls, rng):
    u = random_unitary(len(qubits), rng)
    psi = random_state(3, n)
    out = sim.apply_matrix(psi, torch.tensor(u), qubits, controls=controls)
    ref = psi.numpy() @ embed(u, qubits, n, controls).T
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


def test_per_sample_matrices_and_diagonals(rng):
    n, B = 3, 4
    psi = random_state(B, n)
    us = np.stack([random_unitary(2, rng) for _ in range(B)])
    out = sim.apply_matrix(psi, torch.tensor(us), [2, 0])
    for b in range(B):
        np.testing.assert_allclose(out[b].numpy(), embed(us[b], [2, 0], n) @ psi[b].numpy(), atol=1e-12)
    d = np.exp(1j * rng.normal(size=(B, 4)))
    out = sim.apply_diagonal(psi, torch.tensor(d), [1, 2])
    for b in range(B):
        np.testing.assert_allclose(out[b].numpy(), embed(np.diag(d[b]), [1, 2], n) @ psi[b].numpy(), atol=1e-12)


def test_single_state_broadcasts_against_per_sample_angles():
    psi = sim.zero_state(2, dtype=torch.complex128)
    angles = torch.tensor([0.0, np.pi / 2, np.pi], dtype=torch.float64)
    out = sim.apply_gate(psi, "RY", [1], angles)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(sim.probabilities(out)[:, 1].numpy(), [0, 0.5, 1], atol=1e-12)


@pytest.mark.parametrize("label,qubits", [("X", [1]), ("YZ", [2, 0]), ("XYZ", [0, 1, 3]), ("ZZZZ", [3, 2, 1, 0])])
def test_pauli_rotation_matches_expm(label, qubits):
    n, theta = 4, 0.731
    psi = random_state(2, n)
    out = sim.apply_pauli_rotation(psi, theta, label, qubits)
    gen = embed(pauli_matrix(label), qubits, n)
    ref = psi.numpy() @ scipy.linalg.expm(-0.5j * theta * gen).T
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


def test_controlled_pauli_rotation():
    n, theta = 3, 1.3
    psi = random_state(1, n)
    out = sim.apply_pauli_rotation(psi, theta, "XY", [1, 2], controls=[0])
    u = scipy.linalg.expm(-0.5j * theta * pauli_matrix("XY"))
    np.testing.assert_allclose(out.numpy(), psi.numpy() @ embed(u, [1, 2], n, [0]).T, atol=1e-12)


def test_every_named_gate_is_unitary_and_matches_its_matrix():
    n = 3
    for name, spec in sim.GATES.items():
        params = [0.37 * (i + 1) for i in range(spec.n_params)]
        qubits = list(range(spec.n_qubits))[::-1]
        cols = [sim.apply_gate(sim.basis_state(n, i, dtype=torch.complex128), name, qubits, *params)[0] for i in range(2**n)]
        full = torch.stack(cols, 1).numpy()
        np.testing.assert_allclose(full @ full.conj().T, np.eye(2**n), atol=1e-12, err_msg=name)


def test_real_dtype_runs_real_gates_and_rejects_complex_ones():
    psi = sim.zero_state(2, dtype=torch.float64)
    out = sim.apply_gate(sim.apply_gate(psi, "RY", [0], 0.5), "CNOT", [0, 1])
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.square().sum().item(), 1.0)
    with pytest.raises(sim.gates.DTypeError):
        sim.apply_gate(psi, "RX", [0], 0.5)
