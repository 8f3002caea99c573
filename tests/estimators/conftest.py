"""Shared fixtures: small molecular Hamiltonians, their ground states, brute-force helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from estimator_reference import ground_state

from hybridq.operators import PauliSum


@pytest.fixture(scope="session")
def h2():
    H = PauliSum.from_molecule("H2")
    return H, ground_state(H)


@pytest.fixture(scope="session")
def lih():
    H = PauliSum.from_molecule("LiH_STO-3G")
    return H, ground_state(H)


@pytest.fixture(scope="session")
def random_problem():
    """A random 4-qubit Hamiltonian (identity included) and a random complex state."""
    rng = np.random.default_rng(7)
    labels = sorted({"".join(rng.choice(list("IXYZ"), 4, p=[0.4, 0.2, 0.2, 0.2])) for _ in range(40)})
    H = PauliSum.from_list([(label, float(rng.normal())) for label in labels] + [("IIII", 0.3)])
    psi = rng.normal(size=16) + 1j * rng.normal(size=16)
    return H, psi / np.linalg.norm(psi)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)
