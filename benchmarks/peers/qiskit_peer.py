"""Qiskit (W3): ``Statevector.expectation_value(SparsePauliOp)``, one state at a time.

Labels and state vectors are converted to Qiskit order through :mod:`hybridq.qubit_order`
before timing.
"""

from __future__ import annotations

import numpy as np

from hybridq.qubit_order import bit_reversal_permutation, to_qiskit_label
from . import Bench
from workloads import read_pauli_terms, w3_data, w3_path


def preload(workload: str) -> None:
    import qiskit.quantum_info  # noqa: F401


def prepare(workload: str, case: dict, device: str) -> Bench:
    if workload != "W3":
        raise ValueError(f"qiskit runs W3 only, not {workload}")
    from qiskit.quantum_info import SparsePauliOp, Statevector

    terms = read_pauli_terms(w3_path(case))
    n = len(terms[0][0])
    op = SparsePauliOp.from_list([(to_qiskit_label(label), c) for label, c in terms])
    perm = np.asarray(bit_reversal_permutation(n))
    states = [Statevector(psi[perm]) for psi in w3_data(case)["states"]]

    def step():
        return {"energy": np.array([sv.expectation_value(op).real for sv in states])}

    return Bench(step, "cpu", "complex128")
