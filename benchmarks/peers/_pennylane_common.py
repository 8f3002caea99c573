"""Circuits shared by the PennyLane devices (default.qubit and lightning.qubit)."""

from __future__ import annotations

from workloads import read_pauli_terms, w3_path, w4_angle, w4_data, w4_gates


def w1_circuit(n: int, layers: int):
    """The W1 quantum function: angles (B, L, n) broadcast over the batch, t (L, n, 2) shared."""
    import pennylane as qml

    def circuit(angles, t):
        for k in range(layers):
            for i in range(n):
                qml.RY(angles[:, k, i], wires=i)
            for i in range(n):
                qml.RZ(t[k, i, 0], wires=i)
                qml.RY(t[k, i, 1], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return circuit


def w1_step(qnode, data, dev):
    """One W1 training step through a torch-interface QNode; returns outputs and gradients."""
    import torch

    from . import _torch_util as tu

    x = tu.tensor(data["x"], dev)
    w, b, t = (tu.tensor(data[k], dev, grad=True) for k in ("w", "b", "t"))

    def step():
        for p in (w, b, t):
            p.grad = None
        angles = w[None] * x[:, None, :] + b[None]
        out = torch.stack(list(qnode(angles, t)), dim=-1)
        (out**2).sum().backward()
        return {"out": out.detach(), "grad_w": w.grad, "grad_b": b.grad, "grad_t": t.grad}

    return step


def w3_qubits(case: dict) -> int:
    return len(read_pauli_terms(w3_path(case))[0][0])


def w3_circuit(case: dict):
    """The W3 quantum function: StatePrep of the given (batch of) states, then expval(H)."""
    import pennylane as qml

    terms = read_pauli_terms(w3_path(case))
    n = len(terms[0][0])
    wire_map = {i: i for i in range(n)}
    ops = [qml.pauli.string_to_pauli_word(label, wire_map=wire_map) for label, _ in terms]
    hamiltonian = qml.Hamiltonian([c.real for _, c in terms], ops)

    def circuit(states):
        qml.StatePrep(states, wires=range(n))
        return qml.expval(hamiltonian)

    return circuit


def w4_circuit(case: dict, read_out: str):
    """The W4 quantum function of ``case`` on inputs ``x`` (B, n) and a dict of weights (torch
    tensors, broadcast over the batch): ``<Z_i>`` for each qubit, or the state (``read_out="state"``)."""
    import pennylane as qml

    n, gates = case["n"], w4_gates(case)
    make = {"RX": qml.RX, "RY": qml.RY, "RZ": qml.RZ, "CRX": qml.CRX, "RZZ": qml.IsingZZ, "P": qml.PhaseShift,
            "H": qml.Hadamard, "CNOT": qml.CNOT, "CZ": qml.CZ}

    def circuit(x, params):
        for gate, wires, angle in gates:
            if angle is None:
                make[gate](wires=list(wires))
            else:
                make[gate](w4_angle(angle, x, params), wires=list(wires))
        if read_out == "state":
            return qml.state()
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return circuit


def w4_bench(case: dict, device, dev):
    """A W4 step on the PennyLane ``device`` with torch tensors on ``dev``: forward + backward of
    ``sum(<Z_i>**2)``, or for the kernel family the states and their Gram matrix."""
    import torch

    from . import Bench
    from . import _torch_util as tu

    data = w4_data(case)
    if case["family"] == "zz_kernel":
        qnode = qml_qnode(w4_circuit(case, "state"), device, None)
        x = tu.tensor(data["x"], dev, dtype=torch.float64)

        def kernel():
            states = qnode(x, {})
            return {"gram": (states @ states.conj().T).abs().square()}

        return kernel
    qnode = qml_qnode(w4_circuit(case, "expval"), device, "torch")
    x = tu.tensor(data["x"], dev)
    params = {k: tu.tensor(v, dev, grad=True) for k, v in data.items() if k != "x"}

    def step():
        for p in params.values():
            p.grad = None
        out = torch.stack(list(qnode(x, params)), dim=-1)
        (out**2).sum().backward()
        return {"out": out.detach(), **{f"grad_{k}": p.grad for k, p in params.items()}}

    return step


def qml_qnode(circuit, device, interface):
    """A QNode of ``circuit`` on ``device``: backprop on default.qubit, adjoint on lightning."""
    import pennylane as qml

    if interface is None:
        return qml.QNode(circuit, device)
    method = "adjoint" if device.name.startswith("lightning") else "backprop"
    options = {"device_vjp": True} if method == "adjoint" else {}
    return qml.QNode(circuit, device, interface=interface, diff_method=method, **options)
