"""ground_state: Lanczos on the simulator's sparse H equals dense diagonalisation."""

from __future__ import annotations

import numpy as np
import pytest

import hybridq as hq


def random_hamiltonian(n: int, terms: int, seed: int) -> hq.PauliSum:
    rng = np.random.default_rng(seed)
    labels = ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(terms)]
    return hq.PauliSum.from_list([(label, float(c)) for label, c in zip(labels, rng.normal(size=terms))])


@pytest.mark.parametrize("H", [hq.PauliSum.from_molecule("H2"), random_hamiltonian(6, 40, 1)], ids=["H2", "random"])
def test_ground_state_equals_dense_diagonalisation(H):
    energy, state = hq.sim.ground_state(H)
    dense = H.to_matrix()
    assert energy == pytest.approx(np.linalg.eigvalsh(dense)[0], abs=1e-9)
    psi = state[0].numpy()
    np.testing.assert_allclose(dense @ psi, energy * psi, atol=1e-7)
    assert float(hq.sim.expval(state, H)[0]) == pytest.approx(energy, abs=1e-9)
