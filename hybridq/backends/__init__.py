"""Backends: run hybridq circuits on the engine, Qiskit Aer, IBM Quantum, PennyLane or Cirq.

Every backend has the same API (:class:`Backend`): sample bits or counts in Pauli bases,
exact probabilities where it can, Pauli-term expectations, and per-shot basis measurements for
the estimators. :func:`get_backend` builds one from a string; :func:`expectation` is a
differentiable expectation (parameter-shift gradients) for training on any backend. The
frameworks (Qiskit, PennyLane, Cirq) are imported only when a backend that needs them is built.

>>> from hybridq.circuits import Circuit
>>> get_backend("local", seed=0).counts(Circuit(1).x(0), 5)
{'1': 5}
"""

from .base import Backend, basis_codes, circuit_key, state_preparation, with_basis
from .cirq import CirqBackend
from .factory import get_backend
from .gradients import ShiftRule, expectation, shift_rule
from .jobs import BackendError, CredentialsError, JobStore, SubmitPolicy, TransientBackendError
from .local import LocalBackend
from .pennylane import PennyLaneBackend
from .qiskit import AerBackend, IBMBackend, fake_device

__all__ = [
    "AerBackend", "Backend", "BackendError", "CirqBackend", "CredentialsError", "IBMBackend", "JobStore",
    "LocalBackend", "PennyLaneBackend", "ShiftRule", "SubmitPolicy", "TransientBackendError", "basis_codes",
    "circuit_key", "expectation", "fake_device", "get_backend", "shift_rule", "state_preparation", "with_basis",
]
