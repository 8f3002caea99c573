"""Conversion to a PennyLane quantum function, and from PennyLane tapes.

PennyLane, like hybridq, puts the first wire of a matrix in the most significant bit, so
nothing is reordered. :func:`to_pennylane` returns ``qfunc(inputs=None, weights=None)``
applying the gates on wires ``0..n-1``: a batch of inputs ``(B, n_inputs)`` gives ``(B,)``
angles (PennyLane parameter broadcasting), and torch tensors keep their autograd graph, so it
runs in a ``QNode`` with ``interface="torch"``; autograd (``qml.grad``), JAX and NumPy arrays
and plain numbers work alike.

>>> import pennylane as qml, torch
>>> from hybridq.circuits import Circuit, Input, Weight
>>> qfunc = to_pennylane(Circuit(1).ry(Weight("w") * Input(0), 0))
>>> node = qml.QNode(lambda x, w: (qfunc(x, w), qml.expval(qml.Z(0)))[1], qml.device("default.qubit"))
>>> node(torch.tensor([[0.0], [1.0]]), {"w": torch.tensor(torch.pi)}).round()
tensor([ 1., -1.], dtype=torch.float64)
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ...errors import ParameterError, UnknownGateError, require
from ...sim.gates import GATES
from ..circuit import Circuit, Operation
from ..execute import weight_values
from ..expr import Param
from ._common import Builder, controlled, fold, phase_ops

#: PennyLane operation name -> hybridq gate name, for the names read back as a gate of the
#: records (controlled and adjoint operations are read apart).
PENNYLANE_GATES = {name: base for base, spec in GATES.items() for name in spec.names.pennylane
         if not name.startswith("Adjoint") and base != "I"}


def _qml():
    return require("pennylane", "pennylane")


def to_pennylane(circuit: Circuit, *, wires: Sequence | None = None) -> Callable:
    """A quantum function ``qfunc(inputs=None, weights=None)`` applying ``circuit``.

    Args:
        circuit: the circuit.
        wires: PennyLane wire of each qubit. Defaults to ``0..n-1``.

    The function takes inputs ``(n_inputs,)`` or ``(B, n_inputs)`` and weights as for
    :func:`hybridq.simulate` (a mapping or a flat tensor in ``circuit.weight_names`` order).
    """
    qml = _qml()
    wires = list(range(circuit.n_qubits)) if wires is None else list(wires)
    if len(wires) != circuit.n_qubits:
        raise ParameterError(f"expected {circuit.n_qubits} wires, got {len(wires)}")

    def qfunc(inputs=None, weights=None) -> None:
        if inputs is None and circuit.n_inputs:
            raise ParameterError(f"the circuit reads {circuit.n_inputs} input(s) but no inputs were given")
        x = None if inputs is None or hasattr(inputs, "shape") else np.asarray(inputs, dtype=float)
        x = inputs if x is None else x
        w = _weight_lookup(circuit, weights)

        def angle(p: Param):
            return fold(p, input=lambda i: x[..., i], weight=w.__getitem__)

        for op in circuit.ops:
            with qml.QueuingManager.stop_recording():
                base = _operation(op, angle, [wires[q] for q in op.qubits], qml)
            if op.controls:
                qml.ctrl(base, control=[wires[q] for q in op.controls])
            else:
                qml.apply(base)

    return qfunc


def _weight_lookup(circuit: Circuit, weights) -> dict:
    """Weight name -> value, the values left in their framework (torch, autograd, JAX, NumPy or
    numbers) so that gradients flow in any PennyLane interface; validated as by
    :func:`~hybridq.circuits.execute.weight_values`."""
    if weights is None or hasattr(weights, "items"):
        weight_values(circuit, None if weights is None else dict.fromkeys(weights, 0.0))
        return dict(weights or {})
    weight_values(circuit, np.zeros(_qml().math.shape(weights)))
    return {name: weights[i] for i, name in enumerate(circuit.weight_names)}


def _operation(op: Operation, angle, wires: list, qml):
    if op.name == "Unitary":
        return qml.QubitUnitary(np.asarray(op.matrix), wires=wires)
    if op.name == "Diagonal":
        return qml.DiagonalQubitUnitary(np.asarray(op.matrix), wires=wires)
    if op.name == "PauliRot":
        return qml.PauliRot(angle(op.params[0]), op.pauli, wires=wires)
    name = GATES[op.name].names.pennylane[0]
    if name.startswith("Adjoint("):
        return qml.adjoint(getattr(qml, name[8:-1])(wires=wires))
    params = [angle(p) for p in op.params]
    like = next((p for p in params if qml.math.get_interface(p) not in ("numpy", "scipy")), None)
    if like is not None:  # PennyLane cannot mix numbers and tensors in one gate (U3)
        params = [p if p is like else qml.math.cast_like(qml.math.convert_like(np.asarray(p, dtype=float), like), like)
                  if qml.math.get_interface(p) in ("numpy", "scipy") else p for p in params]
    return getattr(qml, name)(*params, wires=wires)


def from_pennylane(source, *args, wires: Sequence | None = None, **kwargs) -> Circuit:
    """A hybridq :class:`Circuit` from a PennyLane tape, ``QNode`` or quantum function.

    Args:
        source: a ``QuantumScript``/tape, or a ``QNode`` or quantum function called with
            ``*args, **kwargs`` to record one.
        wires: the PennyLane wires in hybridq qubit order. Defaults to wire ``i`` -> qubit ``i``
            when all wires are non-negative integers, else the tape's wire order.

    Angles are read as numbers (no gradient flows back); measurements are dropped. Operations
    outside the table are read through their matrix (up to 4 wires) or decomposition.
    """
    qml = _qml()
    if isinstance(source, qml.tape.QuantumScript):
        tape = source
    elif isinstance(source, qml.QNode):
        tape = qml.workflow.construct_tape(source)(*args, **kwargs)
    elif callable(source):
        tape = qml.tape.make_qscript(source)(*args, **kwargs)
    else:
        raise ParameterError(f"expected a QuantumScript, QNode or quantum function, got {type(source).__name__}")
    if tape.batch_size is not None:
        raise ParameterError(f"the tape is broadcast over {tape.batch_size} parameter sets; convert one at a time")
    labels = list(tape.wires) if wires is None else list(wires)
    if wires is None and all(isinstance(w, (int, np.integer)) and w >= 0 for w in labels):
        index = {w: int(w) for w in labels}
    else:
        index = {w: i for i, w in enumerate(labels)}
    missing = [w for w in tape.wires if w not in index]
    if missing:
        raise ParameterError(f"wires {missing} of the tape are not in `wires`")
    builder = Builder(max(max(index.values(), default=0) + 1, len(labels), 1))
    for op in tape.operations:
        qs = [index[w] for w in op.wires]
        if "MidMeasure" in type(op).__name__:
            builder.measure(qs)
            continue
        ops, phase = _read(op, qs, qml)
        builder.add(ops + phase_ops(phase, ()))
    return builder.circuit


def _value(p) -> float:
    return float(np.real_if_close(np.asarray(_qml().math.toarray(p))))


def _read(op, qs: list[int], qml) -> tuple[list[Operation], float]:
    """One PennyLane operation -> (hybridq operations, global phase)."""
    name, params = op.name, [p for p in op.parameters]
    if name in PENNYLANE_GATES:
        return [Operation(PENNYLANE_GATES[name], tuple(qs), tuple(_value(p) for p in params))], 0.0
    if name == "Identity":
        return [Operation("I", (q,)) for q in qs], 0.0
    if name == "GlobalPhase":  # GlobalPhase(phi) = e^{-i phi}
        return [], -_value(params[0])
    if name == "Rot":  # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)
        phi, theta, omega = (_value(p) for p in params)
        return [Operation("RZ", tuple(qs), (phi,)), Operation("RY", tuple(qs), (theta,)),
                Operation("RZ", tuple(qs), (omega,))], 0.0
    if name in ("PauliRot", "MultiRZ"):
        pauli = op.hyperparameters.get("pauli_word", "Z" * len(qs))
        return [Operation("PauliRot", tuple(qs), (_value(params[0]),), pauli=pauli)], 0.0
    if name in ("QubitUnitary", "DiagonalQubitUnitary"):
        m = np.asarray(qml.math.toarray(params[0]), dtype=complex)
        return [Operation("Unitary" if name == "QubitUnitary" else "Diagonal", tuple(qs), matrix=m)], 0.0
    if isinstance(op, qml.ops.op_math.Adjoint):
        ops, phase = _read(op.base, qs, qml)
        return [o.inverse() for o in reversed(ops)], -phase
    if isinstance(op, qml.ops.op_math.Controlled):
        k = len(op.control_wires)
        ops, phase = _read(op.base, qs[k:], qml)
        return controlled(ops, qs[:k], [int(v) for v in op.control_values], phase), 0.0
    if op.has_matrix and len(qs) <= 4:
        return [Operation("Unitary", tuple(qs), matrix=np.asarray(qml.matrix(op), dtype=complex))], 0.0
    if op.has_decomposition:
        out: list[Operation] = []
        phase = 0.0
        position = {w: q for w, q in zip(op.wires, qs)}
        for sub in op.decomposition():
            sub_ops, sub_phase = _read(sub, [position[w] for w in sub.wires], qml)
            out += sub_ops
            phase += sub_phase
        return out, phase
    raise UnknownGateError(f"cannot convert the PennyLane operation {name!r}: it is not in hybridq's table and "
                           "has neither a matrix nor a decomposition")
