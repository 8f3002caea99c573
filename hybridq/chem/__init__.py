"""Chemistry: molecules with active spaces, chemistry ansätze and VQE.

>>> from hybridq.chem import Molecule
>>> Molecule.from_name("H2").n_qubits()
4
"""

from .ansatz import Excitation, excitations, hardware_efficient, hartree_fock, uccsd
from .encodings import Encoding
from .molecule import Molecule
from .vqe import VQE, VQEResult

__all__ = ["Encoding", "Excitation", "Molecule", "VQE", "VQEResult", "excitations", "hardware_efficient", "hartree_fock", "uccsd"]
