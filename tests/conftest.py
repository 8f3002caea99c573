"""Shared fixtures: seeded generators, a dense reference simulator, CUDA skipping."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seeded_torch():
    """Every test draws torch's unseeded random numbers from the same seed: a failure comes back
    when the test runs alone, in any order, in any process."""
    torch.manual_seed(0)


def embed(matrix: np.ndarray, qubits, n: int, controls=()) -> np.ndarray:
    """Dense 2**n operator of ``matrix`` on ``qubits`` (qubit 0 = MSB), controlled on ``controls``."""
    dim = 2**n
    k = len(qubits)
    out = np.zeros((dim, dim), dtype=complex)
    for col in range(dim):
        bits = [(col >> (n - 1 - q)) & 1 for q in range(n)]
        if not all(bits[c] for c in controls):
            out[col, col] = 1
            continue
        sub = 0
        for q in qubits:
            sub = 2 * sub + bits[q]
        for row_sub in range(2**k):
            amp = matrix[row_sub, sub]
            if amp == 0:
                continue
            rbits = list(bits)
            for i, q in enumerate(qubits):
                rbits[q] = (row_sub >> (k - 1 - i)) & 1
            row = int("".join(map(str, rbits)), 2)
            out[row, col] += amp
    return out


def pauli_matrix(label: str) -> np.ndarray:
    out = np.array([[1.0 + 0j]])
    for ch in label:
        out = np.kron(out, PAULI[ch])
    return out


def random_state(batch: int, n: int, *, dtype=torch.complex128, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(batch, 2**n, dtype=dtype, generator=g)
    return s / s.norm(dim=1, keepdim=True)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
