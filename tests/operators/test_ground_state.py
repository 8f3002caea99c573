"""PauliSum.ground_state: matrix-free Lanczos equals dense diagonalisation, in a light table."""

from __future__ import annotations

import numpy as np
import pytest

from hybridq.errors import NotHermitianError
from hybridq.operators import PauliSum, _dense


def random_hermitian(n: int, terms: int, seed: int) -> PauliSum:
    rng = np.random.default_rng(seed)
    labels = ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(terms)]
    return PauliSum.from_list([(label, float(c)) for label, c in zip(labels, rng.normal(size=terms))])


@pytest.mark.parametrize("H", [PauliSum.from_molecule("H2"), random_hermitian(5, 30, 2)], ids=["H2", "complex"])
def test_apply_equals_the_dense_matrix(H):
    flips, table = _dense.flip_table(H.n_qubits, H._xw, H._zw, H.coeffs)
    v = np.random.default_rng(1).normal(size=(2**H.n_qubits, 2)) + 0j
    np.testing.assert_allclose(_dense.apply(flips, table, v), H.to_matrix() @ v, atol=1e-12)
    np.testing.assert_allclose(_dense.apply(flips, table, v[:, 0]), H.to_matrix() @ v[:, 0], atol=1e-12)


def test_molecular_tables_are_real():
    H = PauliSum.from_molecule("LiH_STO-3G")
    flips, table = _dense.flip_table(H.n_qubits, H._xw, H._zw, H.coeffs)
    assert table.dtype == np.float64 and table.shape == (len(flips), 2**12)


@pytest.mark.parametrize("H", [PauliSum.from_molecule("H2"), random_hermitian(6, 40, 3), PauliSum.from_list([("X", 1.0)])],
                         ids=["H2", "complex", "one-qubit"])
def test_ground_state_equals_dense_diagonalisation(H):
    energy, psi = H.ground_state()
    dense = H.to_matrix()
    assert energy == pytest.approx(np.linalg.eigvalsh(dense)[0], abs=1e-9)
    np.testing.assert_allclose(dense @ psi, energy * psi, atol=1e-7)
    assert np.linalg.norm(psi) == pytest.approx(1.0)


def test_non_hermitian_sums_are_refused():
    with pytest.raises(NotHermitianError):
        PauliSum.from_list([("ZZ", 1j)]).ground_state()
