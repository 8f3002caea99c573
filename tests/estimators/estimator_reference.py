"""Dense numpy references for the estimator tests (independent of hybridq.estimators)."""

from __future__ import annotations

import itertools

import numpy as np

from hybridq.operators import PauliSum


def ground_state(hamiltonian: PauliSum) -> np.ndarray:
    """Lowest eigenvector (dense for small, sparse eigsh otherwise)."""
    if hamiltonian.n_qubits <= 8:
        _, vecs = np.linalg.eigh(hamiltonian.to_matrix())
        return vecs[:, 0]
    import scipy.sparse.linalg as sla

    start = np.random.default_rng(0).normal(size=2**hamiltonian.n_qubits)  # a fixed start: the same vector in every process
    _, vecs = sla.eigsh(hamiltonian.to_matrix(sparse=True), k=1, which="SA", v0=start, tol=1e-10)
    return vecs[:, 0]


ROTATIONS = {1: np.array([[1, 1], [1, -1]]) / np.sqrt(2),
             2: np.array([[1, 1], [1, -1]]) @ np.diag([1, -1j]) / np.sqrt(2), 3: np.eye(2)}


def basis_probabilities(psi: np.ndarray, basis) -> np.ndarray:
    """Born probabilities of measuring ``psi`` in a Pauli basis (dense numpy reference)."""
    u = np.array([[1.0]])
    for code in basis:
        u = np.kron(u, ROTATIONS[int(code)])
    return np.abs(u @ psi) ** 2


def all_bases(n: int) -> np.ndarray:
    return np.array(list(itertools.product([1, 2, 3], repeat=n)), dtype=np.uint8)
