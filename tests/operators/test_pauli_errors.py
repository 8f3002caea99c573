import numpy as np
import pytest

from hybridq.errors import PauliError, QubitIndexError, ShapeError
from hybridq.operators import PauliString, PauliSum


@pytest.mark.parametrize("label", ["XAZ", "xz", "X Z", "XÏZ", "+XZ"])
def test_labels_with_unknown_letters_are_refused(label):
    with pytest.raises(PauliError, match="I, X, Y, Z"):
        PauliSum.from_list([(label, 1.0)])
    with pytest.raises(PauliError):
        PauliString.from_label(label)


def test_labels_of_different_lengths_are_refused():
    with pytest.raises(PauliError, match="label 1 'XZI' has 3"):
        PauliSum.from_list([("XZ", 1.0), ("XZI", 1.0)])
    with pytest.raises(PauliError, match="must all have 3 letters"):
        PauliSum.from_list([("XZ", 1.0)], n_qubits=3)


def test_malformed_term_lists_are_refused():
    with pytest.raises(PauliError, match="pairs"):
        PauliSum.from_list(["XZ"])
    with pytest.raises(ShapeError, match="n_qubits"):
        PauliSum.from_list([])
    with pytest.raises(PauliError, match="letters"):
        PauliSum.from_sparse_list([("ZX", [1], 1.0)], n_qubits=3)
    with pytest.raises(QubitIndexError, match="out of range"):
        PauliSum.from_sparse_list([("ZX", [1, 4], 1.0)], n_qubits=3)
    with pytest.raises(QubitIndexError, match="distinct"):
        PauliSum.from_sparse_list([("ZX", [1, 1], 1.0)], n_qubits=3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, complex(0, np.inf)])
def test_non_finite_coefficients_are_refused(bad):
    with pytest.raises(PauliError, match="finite"):
        PauliSum.from_list([("XZ", 1.0), ("ZZ", bad)])
    with pytest.raises(PauliError, match="finite"):
        PauliString.from_label("XZ", coeff=bad)
    with pytest.raises(PauliError, match="finite"):
        PauliSum.from_list([("XZ", 1.0)]) * bad


def test_non_numeric_coefficients_and_wrong_counts_are_refused():
    with pytest.raises(PauliError, match="numbers"):
        PauliSum.from_list([("XZ", "half")])
    with pytest.raises(ShapeError, match="expected 2 coefficients"):
        PauliSum.from_masks(np.zeros((2, 3), bool), np.zeros((2, 3), bool), [1.0])
    with pytest.raises(ShapeError, match="equal shape"):
        PauliSum.from_masks(np.zeros((2, 3), bool), np.zeros((2, 4), bool), [1.0, 2.0])


def test_qubit_count_mismatches_in_algebra_are_refused():
    a, b = PauliSum.from_list([("XZ", 1.0)]), PauliSum.from_list([("XZI", 1.0)])
    for operation in (
        lambda: a + b,
        lambda: a - b,
        lambda: a * b,
        lambda: a.commutes(b),
        lambda: a.qubitwise_commutes(b),
        lambda: a + PauliString.from_label("X"),
        lambda: PauliString.from_label("XZ") * PauliString.from_label("X"),
        lambda: PauliString.from_label("XZ").commutes(PauliString.from_label("X")),
    ):
        with pytest.raises(ShapeError, match="different numbers of qubits"):
            operation()


def test_unsupported_operands_raise_type_errors():
    a = PauliSum.from_list([("XZ", 1.0)])
    with pytest.raises(TypeError):
        a + "XZ"
    with pytest.raises(TypeError):
        a.commutes(1.0)


def test_state_shape_and_bitstring_length_are_checked():
    a = PauliSum.from_list([("XZ", 1.0)])
    with pytest.raises(ShapeError, match=r"\(4,\)"):
        a.expectation(np.ones(8))
    with pytest.raises(ShapeError, match="expected 2 bits"):
        a.basis_state_expectation("101")


def test_zero_qubit_operators_are_refused():
    with pytest.raises(ShapeError, match="at least 1 qubit"):
        PauliSum.from_list([], n_qubits=0)
