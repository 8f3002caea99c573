"""Pauli operators: bit-packed Pauli strings and sums, algebra, grouping, I/O and molecules.

>>> from hybridq.operators import PauliSum
>>> PauliSum.from_list([("XZ", 0.5)]).labels()
['XZ']
"""

from hybridq.operators.grouping import FlipGroup, MeasurementGroup, flip_mask_groups, qwc_groups
from hybridq.operators.molecules import (
    MoleculeInfo,
    available_molecules,
    build_molecule,
    encode_occupation,
    molecule_info,
)
from hybridq.operators.pauli_string import PauliString
from hybridq.operators.pauli_sum import PauliSum

__all__ = [
    "FlipGroup",
    "MeasurementGroup",
    "MoleculeInfo",
    "PauliString",
    "PauliSum",
    "available_molecules",
    "build_molecule",
    "encode_occupation",
    "flip_mask_groups",
    "molecule_info",
    "qwc_groups",
]
