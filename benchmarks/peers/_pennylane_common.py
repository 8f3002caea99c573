"""Circuits shared by the PennyLane devices (default.qubit and lightning.qubit)."""

from __future__ import annotations

from workloads import read_pauli_terms, w3_path


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
