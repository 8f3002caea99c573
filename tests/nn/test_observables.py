from __future__ import annotations

import pytest

from hybridq.errors import PauliError, QubitIndexError
from hybridq.nn import X_each, Y_each, Z_each, ZZ_chain, pauli_each


def test_observable_sets_have_one_term_per_qubit_in_order():
    assert Z_each(3).labels() == ["ZII", "IZI", "IIZ"]
    assert X_each(2).labels() == ["XI", "IX"] and Y_each(2, [1]).labels() == ["IY"]
    assert list(Z_each(2).coeffs) == [1.0, 1.0]
    assert ZZ_chain(4, ring=True).labels() == ["ZZII", "IZZI", "IIZZ", "ZIIZ"]
    assert ZZ_chain(2, ring=True).labels() == ["ZZ"]


def test_observable_set_errors():
    with pytest.raises(PauliError):
        pauli_each("W", 2)
    with pytest.raises(QubitIndexError):
        Z_each(2, [0, 2])
    with pytest.raises(QubitIndexError):
        ZZ_chain(1)
