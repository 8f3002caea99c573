"""PennyLane default.qubit (W1, W4: torch interface, backprop, parameter broadcasting; W3: exact expval)."""

from __future__ import annotations

from . import _torch_util as tu
from . import _pennylane_common as plc
from . import Bench
from workloads import w1_data, w3_data


def preload(workload: str) -> None:
    import pennylane  # noqa: F401

    if workload in ("W1", "W4"):
        import torch  # noqa: F401


def prepare(workload: str, case: dict, device: str) -> Bench:
    import pennylane as qml

    if workload == "W4":
        dev = tu.torch_device(device)
        if dev.type == "cuda":
            import torch

            torch.set_default_device(dev)  # default.qubit builds its initial state with torch's default device
        return Bench(plc.w4_bench(case, qml.device("default.qubit"), dev), dev.type, "complex128")
    if workload == "W1":
        dev = tu.torch_device(device)
        if dev.type == "cuda":
            import torch

            torch.set_default_device(dev)  # default.qubit builds its initial state with torch's default device
        circuit = plc.w1_circuit(case["n"], case["L"])
        qnode = qml.QNode(circuit, qml.device("default.qubit"), interface="torch", diff_method="backprop")
        return Bench(plc.w1_step(qnode, w1_data(case), dev), dev.type, "complex128")
    if workload == "W3":
        qnode = qml.QNode(plc.w3_circuit(case), qml.device("default.qubit"))
        states = w3_data(case)["states"]
        return Bench(lambda: {"energy": qnode(states)}, "cpu", "complex128")
    raise ValueError(f"pennylane runs W1, W3 and W4, not {workload}")
