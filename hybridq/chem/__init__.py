"""Chemistry: molecules with active spaces, chemistry ansätze and VQE.

>>> from hybridq.chem import Molecule
>>> Molecule.from_name("H2").n_qubits()
4
"""

from .encodings import Encoding
from .molecule import Molecule

__all__ = ["Encoding", "Molecule"]
