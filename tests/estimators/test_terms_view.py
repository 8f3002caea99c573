"""The estimators' term table is a view of one PauliSum, in its order, with its bit order."""

from __future__ import annotations

import numpy as np
import pytest

from hybridq.estimators import ClassicalShadows, PauliTerms
from hybridq.estimators.terms import codes_from_xz
from hybridq.operators import PauliSum
from hybridq.qubit_order import bits_to_index


def test_molecule_terms_are_its_pauli_sum_without_identity():
    H = PauliSum.from_molecule("LiH_STO-3G")
    terms = PauliTerms.from_operator(H)
    keep = ~(np.asarray(H.x) | np.asarray(H.z)).any(axis=1)
    assert terms.paulis == H.without_identity()
    assert terms.offset == pytest.approx(H.identity_coeff.real)
    np.testing.assert_array_equal(terms.codes, codes_from_xz(H.x, H.z)[~keep])  # H's order kept
    assert terms.labels() == [label for label, k in zip(H.labels(), keep) if not k]
    assert np.shares_memory(terms.coeffs, terms.paulis.coeffs)
    np.testing.assert_array_equal(terms.x, bits_to_index(terms.paulis.x))
    np.testing.assert_array_equal(terms.z, bits_to_index(terms.paulis.z))


def test_a_sum_without_identity_or_repeats_is_used_as_is():
    H = PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5)])
    terms = PauliTerms.from_operator(H)
    assert terms.paulis is H
    assert np.shares_memory(terms.coeffs, H.coeffs)
    assert ClassicalShadows(H).terms.paulis is H


def test_repeats_merge_at_their_first_position_and_the_identity_is_the_offset():
    H = PauliSum.from_list([("ZI", 1.0), ("XX", 2.0), ("II", 0.3), ("ZI", 0.5), ("YY", 1.0), ("YY", -1.0)])
    terms = PauliTerms.from_operator(H)
    assert terms.labels() == ["ZI", "XX"]
    assert terms.coeffs.tolist() == [1.5, 2.0]
    assert terms.offset == pytest.approx(0.3)


def test_arrays_are_read_only_and_key_follows_content():
    a = PauliTerms.from_operator(PauliSum.from_list([("ZI", 1.0), ("XX", 2.0)]))
    for array in (a.codes, a.coeffs, a.x, a.z, a.support):
        with pytest.raises(ValueError):
            array[0] = 0
    same = PauliTerms.from_codes(a.codes, a.coeffs)
    other = PauliTerms.from_codes(a.codes, a.coeffs, offset=1.0)
    assert a.key == same.key != other.key
