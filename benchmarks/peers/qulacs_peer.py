"""Qulacs (W2): C++ state vector, complex128 (the only precision of the CPU wheel).

Qulacs orders qubits as Qiskit does (qubit 0 = least significant bit); amplitudes are mapped
to hybridq order through :mod:`hybridq.qubit_order` after timing.
"""

from __future__ import annotations

import numpy as np

from hybridq.qubit_order import bit_reversal_permutation
from . import Bench
from workloads import w2_data


def preload(workload: str) -> None:
    import qulacs  # noqa: F401


def prepare(workload: str, case: dict, device: str) -> Bench:
    if workload != "W2":
        raise ValueError(f"qulacs runs W2 only, not {workload}")
    from qulacs import QuantumCircuit, QuantumState

    n, data = case["n"], w2_data(case)
    circuit = QuantumCircuit(n)
    for layer in data["angles"]:
        for i in range(n):
            circuit.add_RotY_gate(i, float(layer[i]))  # RotY(a) = exp(-i a Y / 2), as RY elsewhere
        for i in range(n):
            circuit.add_CNOT_gate(i, (i + 1) % n)
    state = QuantumState(n)

    def step():
        state.set_zero_state()
        circuit.update_quantum_state(state)

    def collect(_):
        index = np.asarray(bit_reversal_permutation(n))[data["samples"]]
        return {"amplitudes": state.get_vector()[index]}

    return Bench(step, "cpu", "complex128", collect)
