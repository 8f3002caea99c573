"""Helpers for the operators tests: an independent dense reference and random sums."""

from __future__ import annotations

from functools import reduce

import numpy as np

from hybridq.operators import PauliSum

_SINGLE = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def kron_matrix(terms) -> np.ndarray:
    """Dense matrix of [(label, coeff)] by Kronecker products, qubit 0 leftmost (most significant)."""
    return sum(c * reduce(np.kron, [_SINGLE[ch] for ch in label]) for label, c in terms)


def random_sum(rng: np.random.Generator, n_qubits: int, n_terms: int, *, hermitian: bool = False) -> PauliSum:
    labels = ["".join(rng.choice(list("IXYZ"), n_qubits)) for _ in range(n_terms)]
    coeffs = rng.normal(size=n_terms) + (0 if hermitian else 1j * rng.normal(size=n_terms))
    return PauliSum.from_list(list(zip(labels, coeffs)))
