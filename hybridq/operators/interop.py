"""Conversion of PauliSum to and from Qiskit, OpenFermion and PennyLane (imported lazily).

Qubit q of hybridq is qubit q of Qiskit, index q of an OpenFermion ``QubitOperator`` and
wire q of PennyLane; only Qiskit writes labels in the other order, converted by
:mod:`hybridq.qubit_order`.
"""

from __future__ import annotations

from collections.abc import Sequence

from hybridq.errors import PauliError, require
from hybridq.operators.pauli_sum import PauliSum
from hybridq.qubit_order import from_qiskit_label, to_qiskit_label


def from_qiskit(op) -> PauliSum:
    """PauliSum from a Qiskit ``SparsePauliOp`` with numeric coefficients.

    >>> from qiskit.quantum_info import SparsePauliOp
    >>> from_qiskit(SparsePauliOp.from_list([("ZIX", 0.5)])).labels()  # Qiskit: X on qubit 0
    ['XIZ']
    """
    try:
        pairs = [(from_qiskit_label(label), complex(c)) for label, c in op.to_list()]
    except TypeError as exc:
        raise PauliError(f"SparsePauliOp coefficients must be numbers (bind parameters first): {exc}") from exc
    return PauliSum.from_list(pairs, n_qubits=op.num_qubits)


def to_qiskit(paulis: PauliSum):
    """Qiskit ``SparsePauliOp`` of ``paulis``, labels in Qiskit order.

    >>> to_qiskit(PauliSum.from_list([("XIZ", 0.5)])).paulis.to_labels()
    ['ZIX']
    """
    quantum_info = require("qiskit.quantum_info", "qiskit")
    pairs = [(to_qiskit_label(label), c) for label, c in paulis.to_list()]
    return quantum_info.SparsePauliOp.from_list(pairs, num_qubits=paulis.n_qubits)


def from_openfermion(op, n_qubits: int | None = None) -> PauliSum:
    """PauliSum from an OpenFermion ``QubitOperator``.

    Args:
        op: the operator; its qubit index q becomes hybridq qubit q.
        n_qubits: defaults to the highest qubit index + 1.

    >>> from openfermion import QubitOperator
    >>> from_openfermion(QubitOperator("X0 Z2", 0.5)).to_list()
    [('XIZ', (0.5+0j))]
    """
    openfermion = require("openfermion", "chem")
    n = openfermion.count_qubits(op) if n_qubits is None else n_qubits
    terms = [("".join(p for _, p in term), [q for q, _ in term], c) for term, c in op.terms.items()]
    return PauliSum.from_sparse_list(terms, n_qubits=n)


def to_openfermion(paulis: PauliSum):
    """OpenFermion ``QubitOperator`` of ``paulis`` (equal strings merged).

    >>> print(to_openfermion(PauliSum.from_list([("XIZ", 0.5)])))
    0.5 [X0 Z2]
    """
    openfermion = require("openfermion", "chem")
    op = openfermion.QubitOperator()
    for label, c in paulis.simplify(0.0).to_list():
        term = tuple((q, p) for q, p in enumerate(label) if p != "I")
        op.terms[term] = c.real if c.imag == 0 else c
    return op


def from_pennylane(op, *, wire_order: Sequence | None = None) -> PauliSum:
    """PauliSum from a PennyLane operator made of Pauli words (or a ``PauliSentence``).

    Args:
        op: ``qml.Hamiltonian``/``LinearCombination``, ``Sum``, ``Prod``, ``SProd``, a single
            Pauli or a ``qml.pauli.PauliSentence``.
        wire_order: wire of each qubit, qubit 0 first. Defaults to integer wires 0..max.

    >>> import pennylane as qml
    >>> from_pennylane(0.5 * qml.X(0) @ qml.Z(2)).to_list()
    [('XIZ', (0.5+0j))]
    """
    qml = require("pennylane", "pennylane")
    try:
        sentence = op if isinstance(op, qml.pauli.PauliSentence) else qml.pauli.pauli_sentence(op)
    except (ValueError, TypeError, AttributeError) as exc:
        raise PauliError(f"expected a PennyLane operator made of Pauli words; got {op!r:.200}: {exc}") from exc
    wires = list(sentence.wires if isinstance(op, qml.pauli.PauliSentence) else op.wires)
    if wire_order is None:
        if not all(isinstance(w, int) and w >= 0 for w in wires):
            raise PauliError(f"wires {wires} are not integers 0, 1, ...; pass wire_order=[...] (qubit 0 first)")
        wire_order = range(max(wires, default=0) + 1)
    qubit_of = {w: q for q, w in enumerate(wire_order)}
    missing = [w for w in wires if w not in qubit_of]
    if missing:
        raise PauliError(f"wires {missing} of the operator are not in wire_order {list(wire_order)}")
    terms = [
        ("".join(word.values()), [qubit_of[w] for w in word], complex(c)) for word, c in sentence.items()
    ]
    return PauliSum.from_sparse_list(terms, n_qubits=len(qubit_of))


def to_pennylane(paulis: PauliSum):
    """PennyLane ``qml.Hamiltonian`` on wires 0..n-1 (real coefficients when all are real).

    >>> to_pennylane(PauliSum.from_list([("XIZ", 0.5)]))
    0.5 * (X(0) @ Z(2))
    """
    qml = require("pennylane", "pennylane")
    single = {"X": qml.X, "Y": qml.Y, "Z": qml.Z}
    coeffs, ops = [], []
    for label, c in paulis.to_list():
        factors = [single[p](q) for q, p in enumerate(label) if p != "I"]
        ops.append(qml.Identity(0) if not factors else factors[0] if len(factors) == 1 else qml.prod(*factors))
        coeffs.append(c)
    if all(c.imag == 0 for c in coeffs):
        coeffs = [c.real for c in coeffs]
    return qml.Hamiltonian(coeffs, ops)
