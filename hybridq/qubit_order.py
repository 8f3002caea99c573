"""The one place where hybridq's qubit order meets Qiskit's.

hybridq (like PennyLane and Cirq): qubit 0 is the most significant bit of a basis-state index,
and Pauli labels are written qubit 0 first (``"XIZ"`` is X on qubit 0).
Qiskit: qubit 0 is the least significant bit, and a label's rightmost character is qubit 0.

So a label converts by reversing it, and a state vector by reversing the bits of each index.

>>> to_qiskit_label("XIZ")
'ZIX'
>>> bit_reversal_permutation(2)
[0, 2, 1, 3]
"""

from __future__ import annotations


def to_qiskit_label(label: str) -> str:
    """Pauli label in hybridq order (qubit 0 first) -> Qiskit order (qubit 0 last)."""
    return label[::-1]


def from_qiskit_label(label: str) -> str:
    """Pauli label in Qiskit order (qubit 0 last) -> hybridq order (qubit 0 first)."""
    return label[::-1]


def bit_reversal_permutation(n_qubits: int) -> list[int]:
    """Index map between the two orders: ``qiskit_vector = hybridq_vector[perm]`` and back."""
    return [int(format(i, f"0{n_qubits}b")[::-1], 2) if n_qubits else 0 for i in range(2**n_qubits)]
