"""Ansatz builders: circuits (and functional pieces) for hybrid models.

Functions here return :class:`~hybridq.circuits.Circuit` objects or act on state batches;
trainable models built from them live in :mod:`hybridq.nn`.

>>> from hybridq.circuits import ansatz
>>> ansatz.data_reuploading(n_qubits=2, n_features=4, layers=3).n_inputs
4
"""

from .daruan import daruan, daruan_expval
from .embeddings import amplitude_embedding, angle_embedding
from .feature_maps import kernel_matrix, zz_feature_map
from .hamiltonian import (
    apply_hamiltonian_evolution,
    brickwall_pairs,
    hamiltonian_evolution,
    image_hamiltonians,
    pauli_basis,
    special_unitary,
)
from .layers import hardware_efficient, strongly_entangling
from .qvf import gibbs_amplitudes, qvf_ansatz
from .reuploading import data_reuploading, fidelities, fidelity_cost, label_states, predict, weighted_fidelity_cost

__all__ = [
    "amplitude_embedding", "angle_embedding", "apply_hamiltonian_evolution", "brickwall_pairs", "daruan",
    "daruan_expval", "data_reuploading", "fidelities", "fidelity_cost", "gibbs_amplitudes", "hamiltonian_evolution",
    "hardware_efficient", "image_hamiltonians", "kernel_matrix", "label_states", "pauli_basis", "predict",
    "qvf_ansatz", "special_unitary", "strongly_entangling", "weighted_fidelity_cost", "zz_feature_map",
]
