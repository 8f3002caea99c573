"""Common observable sets for :class:`~hybridq.nn.QuantumLayer` read-outs.

Each function returns a :class:`~hybridq.operators.PauliSum` with one term per output, so a
layer built with it returns one expectation value per term, in term order.

>>> Z_each(3).labels()
['ZII', 'IZI', 'IIZ']
>>> ZZ_chain(3).labels()
['ZZI', 'IZZ']
"""

from __future__ import annotations

from typing import Sequence

from ..errors import PauliError, QubitIndexError
from ..operators import PauliSum


def pauli_each(letter: str, n_qubits: int, qubits: Sequence[int] | None = None) -> PauliSum:
    """One single-qubit Pauli ``letter`` (``"X"``, ``"Y"`` or ``"Z"``) on each of ``qubits``.

    Args:
        letter: the Pauli letter.
        n_qubits: number of qubits of the circuit.
        qubits: which qubits, in output order. Defaults to all.

    >>> pauli_each("X", 2).labels()
    ['XI', 'IX']
    """
    if letter not in ("X", "Y", "Z"):
        raise PauliError(f"letter must be 'X', 'Y' or 'Z', got {letter!r}")
    qubits = list(range(n_qubits)) if qubits is None else [int(q) for q in qubits]
    bad = [q for q in qubits if not 0 <= q < n_qubits]
    if bad or len(set(qubits)) != len(qubits):
        raise QubitIndexError(f"qubits must be distinct indices in 0..{n_qubits - 1}, got {qubits}")
    return PauliSum.from_sparse_list([(letter, [q], 1.0) for q in qubits], n_qubits=n_qubits)


def X_each(n_qubits: int, qubits: Sequence[int] | None = None) -> PauliSum:  # noqa: N802
    """``X`` on each qubit (see :func:`pauli_each`)."""
    return pauli_each("X", n_qubits, qubits)


def Y_each(n_qubits: int, qubits: Sequence[int] | None = None) -> PauliSum:  # noqa: N802
    """``Y`` on each qubit (see :func:`pauli_each`)."""
    return pauli_each("Y", n_qubits, qubits)


def Z_each(n_qubits: int, qubits: Sequence[int] | None = None) -> PauliSum:  # noqa: N802
    """``Z`` on each qubit (see :func:`pauli_each`).

    >>> Z_each(4, [0, 2]).labels()
    ['ZIII', 'IIZI']
    """
    return pauli_each("Z", n_qubits, qubits)


def ZZ_chain(n_qubits: int, *, ring: bool = False) -> PauliSum:  # noqa: N802
    """``Z_i Z_{i+1}`` for neighbouring qubits (and ``Z_{n-1} Z_0`` with ``ring=True``)."""
    if n_qubits < 2:
        raise QubitIndexError(f"ZZ_chain needs at least 2 qubits, got {n_qubits}")
    pairs = [(q, q + 1) for q in range(n_qubits - 1)]
    if ring and n_qubits > 2:
        pairs.append((n_qubits - 1, 0))
    return PauliSum.from_sparse_list([("ZZ", list(p), 1.0) for p in pairs], n_qubits=n_qubits)
