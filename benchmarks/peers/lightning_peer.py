"""PennyLane lightning.qubit (C++): W1, W4 adjoint (one circuit per batch element), W2 state, W3 expval."""

from __future__ import annotations

import numpy as np

from . import _torch_util as tu
from . import _pennylane_common as plc
from . import Bench
from workloads import w1_data, w2_data, w3_data


def preload(workload: str) -> None:
    import pennylane_lightning.lightning_qubit  # noqa: F401

    if workload in ("W1", "W4"):
        import torch  # noqa: F401


def prepare(workload: str, case: dict, device: str) -> Bench:
    import pennylane as qml

    if workload == "W4":
        c_dtype = np.complex128 if case["family"] == "zz_kernel" else np.complex64
        step = plc.w4_bench(case, qml.device("lightning.qubit", wires=case["n"], c_dtype=c_dtype), tu.torch_device("cpu"))
        return Bench(step, "cpu", np.dtype(c_dtype).name)

    if workload == "W1":
        qnode = qml.QNode(
            plc.w1_circuit(case["n"], case["L"]),
            qml.device("lightning.qubit", wires=case["n"], c_dtype=np.complex64),
            interface="torch",
            diff_method="adjoint",
            device_vjp=True,
        )
        return Bench(plc.w1_step(qnode, w1_data(case), tu.torch_device("cpu")), "cpu", "complex64")
    if workload == "W2":
        n, data = case["n"], w2_data(case)
        angles = data["angles"]
        dev = qml.device("lightning.qubit", wires=n, c_dtype=np.complex64)

        @qml.qnode(dev)
        def circuit():
            for layer in angles:
                for i in range(n):
                    qml.RY(layer[i], wires=i)
                for i in range(n):
                    qml.CNOT(wires=[i, (i + 1) % n])
            return qml.state()

        return Bench(circuit, "cpu", "complex64", lambda state: {"amplitudes": state[data["samples"]]})
    if workload == "W3":
        qnode = qml.QNode(plc.w3_circuit(case), qml.device("lightning.qubit", wires=plc.w3_qubits(case)))
        states = w3_data(case)["states"]
        return Bench(lambda: {"energy": qnode(states)}, "cpu", "complex128")
    raise ValueError(f"lightning runs W1 to W4, not {workload}")
