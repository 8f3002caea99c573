import numpy as np
import pytest

from hybridq.errors import PauliError
from hybridq.operators import PauliSum
from hybridq.qubit_order import bit_reversal_permutation

from pauli_reference import random_sum

qml = pytest.importorskip("pennylane")
openfermion = pytest.importorskip("openfermion")
quantum_info = pytest.importorskip("qiskit.quantum_info")


def test_qiskit_round_trip_and_matrix_with_qubit_order(rng):
    ps = random_sum(rng, 4, 10)
    op = ps.to_qiskit()
    assert isinstance(op, quantum_info.SparsePauliOp)
    assert PauliSum.from_qiskit(op) == ps
    perm = bit_reversal_permutation(4)  # qiskit_vector = hybridq_vector[perm]
    assert np.allclose(op.to_matrix(), ps.to_matrix()[np.ix_(perm, perm)])


def test_qiskit_labels_are_reversed_and_conversion_from_qiskit_keeps_the_operator():
    op = quantum_info.SparsePauliOp.from_list([("ZIX", 0.5), ("YYI", -1j)])  # X on Qiskit qubit 0
    ps = PauliSum.from_qiskit(op)
    assert ps.to_list() == [("XIZ", 0.5), ("IYY", -1j)]
    perm = bit_reversal_permutation(3)
    assert np.allclose(ps.to_matrix(), op.to_matrix()[np.ix_(perm, perm)])


def test_qiskit_parameterised_coefficients_are_refused():
    from qiskit.circuit import Parameter

    op = quantum_info.SparsePauliOp(["XZ"], coeffs=np.array([Parameter("a")], dtype=object))
    with pytest.raises(PauliError, match="bind parameters"):
        PauliSum.from_qiskit(op)


def test_openfermion_round_trip_and_sparse_matrix(rng):
    ps = random_sum(rng, 4, 10)
    op = ps.to_openfermion()
    assert isinstance(op, openfermion.QubitOperator)
    assert PauliSum.from_openfermion(op, n_qubits=4) == ps
    assert np.allclose(openfermion.get_sparse_operator(op, n_qubits=4).toarray(), ps.to_matrix())


def test_openfermion_qubit_count_defaults_to_highest_index():
    op = openfermion.QubitOperator("X0 Y3", 0.25) + openfermion.QubitOperator("", 1.0)
    ps = PauliSum.from_openfermion(op)
    assert ps.n_qubits == 4 and ps == PauliSum.from_list([("XIIY", 0.25), ("IIII", 1.0)])
    assert PauliSum.from_openfermion(op, n_qubits=6).n_qubits == 6


def test_pennylane_round_trip_and_matrix(rng):
    ps = random_sum(rng, 4, 10)
    op = ps.to_pennylane()
    assert PauliSum.from_pennylane(op, wire_order=range(4)) == ps
    assert np.allclose(qml.matrix(op, wire_order=range(4)), ps.to_matrix())


def test_pennylane_inputs_of_several_kinds():
    expected = PauliSum.from_list([("XIZ", 0.5), ("III", 2.0), ("IYI", -1.0)])
    hamiltonian = qml.Hamiltonian(
        [0.5, 2.0, -1.0], [qml.X(0) @ qml.Z(2), qml.Identity(0), qml.Y(1)]
    )
    as_sum = 0.5 * qml.prod(qml.X(0), qml.Z(2)) + 2.0 * qml.Identity(0) - qml.Y(1)
    for op in (hamiltonian, as_sum, qml.pauli.pauli_sentence(hamiltonian)):
        assert PauliSum.from_pennylane(op) == expected
    real = PauliSum.from_list([("XZ", 0.5)]).to_pennylane()
    assert np.isrealobj(np.asarray(real.terms()[0]))


def test_pennylane_wire_labels_need_a_wire_order():
    op = 0.5 * qml.X("a") @ qml.Z("b")
    with pytest.raises(PauliError, match="wire_order"):
        PauliSum.from_pennylane(op)
    assert PauliSum.from_pennylane(op, wire_order=["b", "a"]).to_list() == [("ZX", 0.5)]
    with pytest.raises(PauliError, match="not in wire_order"):
        PauliSum.from_pennylane(op, wire_order=["a"])
    with pytest.raises(PauliError, match="Pauli words"):
        PauliSum.from_pennylane(qml.Hadamard(0))
