"""Pauli operators: bit-packed Pauli strings and sums, algebra, grouping, I/O and molecules.

>>> from hybridq.operators import PauliSum
>>> PauliSum.from_list([("XZ", 0.5)]).labels()
['XZ']
"""

from hybridq.operators.pauli_string import PauliString
from hybridq.operators.pauli_sum import PauliSum

__all__ = ["PauliString", "PauliSum"]
