"""The bit-order rule: where qubit ``q`` sits in an index, and where hybridq's order meets Qiskit's.

hybridq (like PennyLane and Cirq): qubit 0 is the most significant bit of a basis-state index
(qubit ``q`` of ``n`` is bit ``n - 1 - q``), and Pauli labels are written qubit 0 first
(``"XIZ"`` is X on qubit 0). Outcome indices, bit-packed Pauli masks and state vectors all
follow it (:func:`bit_weights`, :func:`bits_to_index`, :func:`index_to_bits`).
Qiskit: qubit 0 is the least significant bit, and a label's rightmost character is qubit 0.

So a label converts by reversing it, and a state vector by reversing the bits of each index.

>>> to_qiskit_label("XIZ")
'ZIX'
>>> bit_reversal_permutation(2)
[0, 2, 1, 3]
"""

from __future__ import annotations

import numpy as np

from .errors import QubitIndexError


def bit_weights(n_qubits: int) -> np.ndarray:
    """``2**(n - 1 - q)`` for each qubit ``q``: int64 ``(n,)`` (at most 63 qubits).

    >>> bit_weights(3).tolist()
    [4, 2, 1]

    Raises:
        QubitIndexError: more than 63 qubits (an index would not fit an int64).
    """
    if n_qubits > 63:
        raise QubitIndexError(f"at most 63 qubits fit an int64 basis-state index, got {n_qubits}")
    return np.left_shift(np.int64(1), np.arange(n_qubits - 1, -1, -1, dtype=np.int64))


def bits_to_index(bits) -> np.ndarray:
    """Bit rows ``(S, n)`` (column ``q`` = qubit ``q``) -> int64 indices ``(S,)``.

    >>> bits_to_index([[1, 0, 1]]).tolist()
    [5]
    """
    bits = np.asarray(bits, dtype=np.int64)
    return bits @ bit_weights(bits.shape[-1])


def index_to_bits(indices, n_qubits: int) -> np.ndarray:
    """Indices ``(S,)`` -> uint8 bit rows ``(S, n)``, column ``q`` = qubit ``q``.

    >>> index_to_bits([5], 3).tolist()
    [[1, 0, 1]]
    """
    shifts = np.arange(n_qubits - 1, -1, -1, dtype=np.int64)
    return ((np.asarray(indices, dtype=np.int64)[:, None] >> shifts) & 1).astype(np.uint8)


def to_qiskit_label(label: str) -> str:
    """Pauli label in hybridq order (qubit 0 first) -> Qiskit order (qubit 0 last)."""
    return label[::-1]


def from_qiskit_label(label: str) -> str:
    """Pauli label in Qiskit order (qubit 0 last) -> hybridq order (qubit 0 first)."""
    return label[::-1]


def bit_reversal_permutation(n_qubits: int) -> list[int]:
    """Index map between the two orders: ``qiskit_vector = hybridq_vector[perm]`` and back."""
    return [int(format(i, f"0{n_qubits}b")[::-1], 2) if n_qubits else 0 for i in range(2**n_qubits)]
