"""Conversions between hybridq circuits and OpenQASM 2/3, Qiskit, Cirq and PennyLane.

Each converter imports its framework only when called (an error names the pip extra to
install if it is missing). Qubit ``q`` is qubit ``q`` everywhere; only Qiskit's index order of
multi-qubit matrices and Pauli labels differs, and is handled by :mod:`hybridq.qubit_order`.

>>> from hybridq.circuits import Circuit
>>> print(to_qasm(Circuit(2).h(0).cx(0, 1)))
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
h q[0];
cx q[0], q[1];
<BLANKLINE>
"""

from ._common import bind_parameters, controlled, phase_ops
from .cirq import from_cirq, to_cirq
from .pennylane import from_pennylane, to_pennylane
from .qasm import from_qasm, to_qasm
from .qiskit import from_qiskit, to_qiskit

__all__ = [
    "bind_parameters", "controlled", "from_cirq", "from_pennylane", "from_qasm", "from_qiskit", "phase_ops",
    "to_cirq", "to_pennylane", "to_qasm", "to_qiskit",
]
