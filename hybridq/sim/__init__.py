"""The engine: a batched, differentiable state-vector simulator on torch tensors.

States are ``(B, 2**n)`` tensors (complex64 by default) on any device; qubit 0 is the most
significant bit of an index. See :mod:`hybridq.sim.kernels` for the shape contract.

>>> import torch, hybridq.sim as sim
>>> psi = sim.apply_gate(sim.zero_state(2), "H", [0])
>>> sim.probabilities(sim.apply_gate(psi, "CNOT", [0, 1]))
tensor([[0.5000, 0.0000, 0.0000, 0.5000]])
"""

from .eigen import ground_state
from .gates import ALIASES, GATES, GateSpec, resolve
from .measure import expval, expval_terms, expval_z, probabilities, reduced_density_matrix, sample
from .ops import (
    apply_diagonal,
    apply_gate,
    apply_matrix,
    apply_pauli_rotation,
    gate_op,
    matrix_op,
    pauli_rotation_op,
)
from .program import Op, run
from .state import available_memory, basis_state, check_memory, from_amplitudes, zero_state

__all__ = [
    "ALIASES", "GATES", "GateSpec", "Op", "apply_diagonal", "apply_gate", "apply_matrix",
    "apply_pauli_rotation", "available_memory", "basis_state", "check_memory", "expval",
    "expval_terms", "expval_z", "from_amplitudes", "gate_op", "ground_state", "matrix_op", "pauli_rotation_op",
    "probabilities", "reduced_density_matrix", "resolve", "run", "sample", "zero_state",
]
