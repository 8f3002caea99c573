import numpy as np
import pytest
import torch

from hybridq.errors import NotHermitianError, StateTooLargeError
from hybridq.operators import PauliString, PauliSum

from pauli_reference import kron_matrix, random_sum


def test_single_qubit_products_have_the_right_phases():
    for a in "IXYZ":
        for b in "IXYZ":
            product = PauliString.from_label(a) * PauliString.from_label(b)
            assert np.allclose(product.to_matrix(), kron_matrix([(a, 1)]) @ kron_matrix([(b, 1)]))


@pytest.mark.parametrize("n_qubits", [1, 3, 5])
def test_to_matrix_matches_kronecker_reference(rng, n_qubits):
    ps = random_sum(rng, n_qubits, 12)
    assert np.allclose(ps.to_matrix(), kron_matrix(ps.to_list()))
    assert np.allclose(ps.to_matrix(sparse=True).toarray(), kron_matrix(ps.to_list()))


def test_sum_difference_scaling_and_product_match_dense(rng):
    a, b = random_sum(rng, 4, 10), random_sum(rng, 4, 7)
    ma, mb = kron_matrix(a.to_list()), kron_matrix(b.to_list())
    assert np.allclose((a + b).to_matrix(), ma + mb)
    assert np.allclose((a - b).to_matrix(), ma - mb)
    assert np.allclose((2.5j * a).to_matrix(), 2.5j * ma)
    assert np.allclose((a / 4).to_matrix(), ma / 4)
    assert np.allclose((a * b).to_matrix(), ma @ mb)
    assert np.allclose((b * a).to_matrix(), mb @ ma)
    assert np.allclose((a + 1.5).to_matrix(), ma + 1.5 * np.eye(16))
    assert np.allclose((1.5 - a).to_matrix(), 1.5 * np.eye(16) - ma)
    assert np.allclose(a.adjoint().to_matrix(), ma.conj().T)
    assert np.allclose(a.commutator(b).to_matrix(), ma @ mb - mb @ ma)


def test_strings_and_sums_mix_and_numpy_scalars_defer():
    xz = PauliString.from_label("XZ", coeff=2.0)
    total = xz + PauliString.from_label("ZZ") - 1.0
    assert total == PauliSum.from_list([("XZ", 2.0), ("ZZ", 1.0), ("II", -1.0)])
    assert np.float64(3.0) * total == 3 * total
    assert xz * total == PauliSum.from_list([("XZ", 2.0)]) * total
    assert np.allclose((total * xz).to_matrix(), total.to_matrix() @ xz.to_matrix())


def test_commutation_of_strings_and_sums_matches_dense(rng):
    for _ in range(30):
        p, q = random_sum(rng, 3, 1)[0], random_sum(rng, 3, 1)[0]
        mp, mq = p.to_matrix(), q.to_matrix()
        assert p.commutes(q) == np.allclose(mp @ mq, mq @ mp)
        qwc = all(a == "I" or b == "I" or a == b for a, b in zip(p.label, q.label))
        assert p.qubitwise_commutes(q) == qwc
    h = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5)])
    assert h.commutes(PauliSum.from_list([("YY", 2.0)]))
    assert not h.qubitwise_commutes(PauliSum.from_list([("YY", 2.0)]))
    assert h.qubitwise_commutes(PauliString.from_label("ZI")) is False
    assert PauliSum.from_list([("ZI", 1.0), ("IZ", 1.0)]).qubitwise_commutes(PauliString.from_label("ZZ"))
    assert not h.commutes(PauliString.from_label("ZI"))


def test_simplify_merges_and_drops_and_keeps_first_positions():
    ps = PauliSum.from_list([("XZ", 1.0), ("IZ", 2.0), ("XZ", -1.0 + 1e-14), ("ZZ", 3.0), ("IZ", 1.0)])
    assert ps.simplify().to_list() == [("IZ", 3.0), ("ZZ", 3.0)]
    assert len(ps.simplify(atol=0.0)) == 3
    assert PauliSum.from_list([("XX", 1.0)]) - PauliSum.from_list([("XX", 1.0)]) == PauliSum.from_list([], n_qubits=2)


def test_equality_ignores_order_and_duplicates_and_repr_round_trips(rng):
    a = PauliSum.from_list([("XI", 1.0), ("ZZ", 2j)])
    b = PauliSum.from_list([("ZZ", 1j), ("XI", 1.0), ("ZZ", 1j)])
    assert a == b and hash(a) == hash(b)
    assert a != PauliSum.from_list([("XI", 1.0)])
    ps = random_sum(rng, 3, 6)
    assert eval(repr(ps)) == ps  # noqa: S307 -- the evaluable-repr contract
    assert eval(repr(ps[2])) == ps[2]  # noqa: S307
    assert eval(repr(PauliSum.from_list([], n_qubits=3))) == PauliSum.from_list([], n_qubits=3)  # noqa: S307


def test_array_contract_x_z_coeffs_labels():
    ps = PauliSum.from_list([("XYZI", 0.5), ("IIZY", -1.0)])
    assert ps.n_qubits == 4 and len(ps) == 2
    assert ps.x.tolist() == [[True, True, False, False], [False, False, False, True]]
    assert ps.z.tolist() == [[False, True, True, False], [False, False, True, True]]
    assert ps.coeffs.dtype == np.complex128 and ps.coeffs.tolist() == [0.5, -1.0]
    assert ps.labels() == ["XYZI", "IIZY"]
    assert not ps.x.flags.writeable and not ps.coeffs.flags.writeable
    assert PauliSum.from_masks(ps.x, ps.z, ps.coeffs) == ps


def test_wide_sums_pack_across_words(rng):
    labels = ["".join(rng.choice(list("IXYZ"), 130)) for _ in range(5)]
    ps = PauliSum.from_list([(lab, 1.0) for lab in labels])
    assert ps.labels() == labels
    sparse = PauliSum.from_sparse_list([("XY", [0, 129], 2.0)], n_qubits=130)
    assert sparse.labels() == ["X" + "I" * 128 + "Y"]
    product = sparse * sparse
    assert product == PauliSum.identity(130, 4.0)
    assert ps.commutes(ps)
    far_x = PauliSum.from_sparse_list([("X", [129], 1.0)], n_qubits=130)
    far_z = PauliSum.from_sparse_list([("Z", [129], 1.0)], n_qubits=130)
    assert not far_x.commutes(far_z) and far_x.commutes(sparse * far_z)
    assert far_x.commutator(far_z) == PauliSum.from_sparse_list([("Y", [129], -2j)], n_qubits=130)


def test_hermiticity_checks():
    h = PauliSum.from_list([("XY", 1.0), ("ZZ", 0.5j), ("ZZ", -0.5j)])
    assert h.is_hermitian() and h.require_hermitian() is h
    bad = PauliSum.from_list([("XY", 1.0), ("ZZ", 0.5j)])
    assert not bad.is_hermitian()
    with pytest.raises(NotHermitianError, match="ZZ"):
        bad.require_hermitian()
    with pytest.raises(NotHermitianError):
        bad.expectation(np.ones(4) / 2)


def test_identity_coefficient_and_removal():
    ps = PauliSum.from_list([("II", 1.0), ("XZ", 2.0), ("II", 0.5)])
    assert ps.identity_coeff == 1.5
    assert ps.without_identity().labels() == ["XZ"]


def test_expectation_matches_dense_for_numpy_and_torch_batches(rng):
    ps = random_sum(rng, 4, 15, hermitian=True)
    states = rng.normal(size=(3, 16)) + 1j * rng.normal(size=(3, 16))
    states /= np.linalg.norm(states, axis=1, keepdims=True)
    dense = kron_matrix(ps.to_list())
    expected = np.einsum("bi,ij,bj->b", states.conj(), dense, states).real
    assert np.allclose(ps.expectation(states), expected)
    assert np.allclose(ps.expectation(torch.tensor(states, dtype=torch.complex64)), expected, atol=1e-5)
    assert isinstance(ps.expectation(states[0]), float)
    assert np.isclose(ps.expectation(states[0]), expected[0])


def test_basis_state_expectation_matches_dense(rng):
    ps = random_sum(rng, 4, 20, hermitian=True)
    dense = ps.to_matrix()
    for index in [0, 5, 10, 15]:
        bits = format(index, "04b")  # qubit 0 is the most significant bit
        assert np.isclose(ps.basis_state_expectation(bits), dense[index, index].real)


def test_dense_matrix_refuses_large_operators():
    with pytest.raises(StateTooLargeError, match="14 qubits"):
        PauliSum.identity(15).to_matrix()
