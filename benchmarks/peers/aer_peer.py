"""Qiskit Aer statevector simulator (W2), single precision; GPU when qiskit-aer-gpu is installed.

The circuit is transpiled once before timing; a step is ``run(...).result()``. Aer's state is
in Qiskit order and is mapped to hybridq order through :mod:`hybridq.qubit_order`.
"""

from __future__ import annotations

import os

import numpy as np

from hybridq.qubit_order import bit_reversal_permutation
from . import Bench
from workloads import w2_data


def preload(workload: str) -> None:
    import qiskit_aer  # noqa: F401


def prepare(workload: str, case: dict, device: str) -> Bench:
    if workload != "W2":
        raise ValueError(f"qiskit-aer runs W2 only, not {workload}")
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    n, data = case["n"], w2_data(case)
    circuit = QuantumCircuit(n)
    for layer in data["angles"]:
        for i in range(n):
            circuit.ry(float(layer[i]), i)
        for i in range(n):
            circuit.cx(i, (i + 1) % n)
    circuit.save_statevector()
    aer_device = "GPU" if device == "cuda" and "GPU" in AerSimulator().available_devices() else "CPU"
    threads = int(os.environ.get("OMP_NUM_THREADS", "0"))
    sim = AerSimulator(method="statevector", precision="single", device=aer_device, max_parallel_threads=threads)
    compiled = transpile(circuit, sim)

    def step():
        return sim.run(compiled).result()

    def collect(result):
        index = np.asarray(bit_reversal_permutation(n))[data["samples"]]
        return {"amplitudes": np.asarray(result.get_statevector())[index]}

    return Bench(step, aer_device.lower(), "complex64", collect)
