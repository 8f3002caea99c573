"""The bit-order rule: where qubit ``q`` sits in an index, and where hybridq's order meets Qiskit's.

hybridq (like PennyLane and Cirq): qubit 0 is the most significant bit of a basis-state index
(qubit ``q`` of ``n`` is bit ``n - 1 - q``), and Pauli labels are written qubit 0 first
(``"XIZ"`` is X on qubit 0). Outcome indices, bit-packed Pauli masks and state vectors all
follow it (:func:`bit_position`, :func:`qubit_mask`, :func:`bit_weights`, :func:`bits_to_index`,
:func:`index_to_bits`; the last two take numpy arrays or torch tensors).
Qiskit: qubit 0 is the least significant bit, and a label's rightmost character is qubit 0.

So a label converts by reversing it, and a state vector by reversing the bits of each index.

>>> to_qiskit_label("XIZ")
'ZIX'
>>> bit_reversal_permutation(2)
[0, 2, 1, 3]
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import QubitIndexError


def bit_position(qubit, n_qubits: int):
    """The index bit that holds ``qubit`` of ``n_qubits``: ``n - 1 - q`` (no range check; an
    array or tensor of qubits gives one of positions).

    >>> bit_position(0, 3), bit_position(2, 3)
    (2, 0)
    """
    return n_qubits - 1 - qubit


def qubit_mask(qubits, n_qubits: int) -> int:
    """The basis-index bits of ``qubits`` (any iterable of qubit numbers) as one int mask.

    >>> qubit_mask([0, 2], 3), qubit_mask([], 3)
    (5, 0)
    """
    mask = 0
    for q in qubits:
        mask |= 1 << bit_position(q, n_qubits)
    return mask


def _shifts(n_qubits: int, like):
    """``bit_position(q, n)`` for every qubit ``q``: an int64 array, or a tensor on ``like``'s device."""
    if isinstance(like, torch.Tensor):
        return bit_position(torch.arange(n_qubits, device=like.device), n_qubits)
    return bit_position(np.arange(n_qubits, dtype=np.int64), n_qubits)


def bit_weights(n_qubits: int) -> np.ndarray:
    """``2**(n - 1 - q)`` for each qubit ``q``: int64 ``(n,)`` (at most 63 qubits).

    >>> bit_weights(3).tolist()
    [4, 2, 1]

    Raises:
        QubitIndexError: more than 63 qubits (an index would not fit an int64).
    """
    if n_qubits > 63:
        raise QubitIndexError(f"at most 63 qubits fit an int64 basis-state index, got {n_qubits}")
    return np.left_shift(np.int64(1), _shifts(n_qubits, None))


def bits_to_index(bits):
    """Bit rows ``(..., n)`` (column ``q`` = qubit ``q``) -> int64 indices ``(...)``.

    A torch tensor gives a tensor on its device (no copy to the host), anything else a numpy array.

    >>> bits_to_index([[1, 0, 1]]).tolist()
    [5]
    >>> bits_to_index(torch.tensor([[0, 1, 1]])).tolist()
    [3]
    """
    if isinstance(bits, torch.Tensor):
        return (bits.long() << _shifts(bits.shape[-1], bits)).sum(-1)
    bits = np.asarray(bits, dtype=np.int64)
    return bits @ bit_weights(bits.shape[-1])


def index_to_bits(indices, n_qubits: int):
    """Indices ``(...)`` -> bit rows ``(..., n)``, column ``q`` = qubit ``q``.

    A torch tensor gives int64 bits on its device, anything else uint8 numpy bits.

    >>> index_to_bits([5], 3).tolist()
    [[1, 0, 1]]
    >>> index_to_bits(torch.arange(2), 2).tolist()
    [[0, 0], [0, 1]]
    """
    if isinstance(indices, torch.Tensor):
        return (indices.unsqueeze(-1) >> _shifts(n_qubits, indices)) & 1
    indices = np.asarray(indices, dtype=np.int64)
    return ((indices[..., None] >> _shifts(n_qubits, None)) & 1).astype(np.uint8)


def to_qiskit_label(label: str) -> str:
    """Pauli label in hybridq order (qubit 0 first) -> Qiskit order (qubit 0 last)."""
    return label[::-1]


def from_qiskit_label(label: str) -> str:
    """Pauli label in Qiskit order (qubit 0 last) -> hybridq order (qubit 0 first)."""
    return label[::-1]


def bit_reversal_permutation(n_qubits: int) -> list[int]:
    """Index map between the two orders: ``qiskit_vector = hybridq_vector[perm]`` and back."""
    return [int(format(i, f"0{n_qubits}b")[::-1], 2) if n_qubits else 0 for i in range(2**n_qubits)]
