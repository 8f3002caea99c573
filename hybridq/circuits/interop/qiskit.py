"""Conversion to and from Qiskit ``QuantumCircuit``.

Qiskit qubit ``q`` is hybridq qubit ``q``. Only what is indexed by several qubits at once
changes order (a ``Unitary``/``Diagonal`` matrix, a Pauli label), through
:mod:`hybridq.qubit_order`. Weights become ``Parameter(name)``; inputs become the elements of
``ParameterVector(input_vector, n_inputs)``; angle expressions become parameter expressions.
Gates take their Qiskit class from their record (:data:`~hybridq.sim.gates.GATES`); controlled gates
use ``gate.control(k)``, Pauli rotations ``PauliEvolutionGate``, matrices
``UnitaryGate``/``DiagonalGate``.

The circuit's weight order is kept in ``metadata["weight_names"]`` and restored on reading.
Reading a Qiskit circuit keeps its global phase (as gates) and drops barriers and final
measurements. Gates outside the table are read through their Qiskit definition; an instruction
without one raises :class:`~hybridq.errors.UnknownGateError`.

>>> from hybridq.circuits import Circuit, Input, Weight
>>> qc = to_qiskit(Circuit(2).h(0).cx(0, 1).ry(Weight("w") * Input(0), 1))
>>> [i.operation.name for i in qc.data], sorted(p.name for p in qc.parameters)
(['h', 'cx', 'ry'], ['w', 'x[0]'])
>>> from_qiskit(qc).ops[2].params
(Weight('w') * Input(0),)
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from ...errors import ParameterError, UnknownGateError, require
from ...qubit_order import bit_reversal_permutation, from_qiskit_label, to_qiskit_label
from ...sim.gates import GATES
from ..circuit import Circuit, Operation
from ..expr import Expr, Input, Param, Weight, as_expr
from ._common import Builder, controlled, expr_from_sympy, fold, lower, phase_ops, simplified

_SKIPPED = frozenset({"barrier", "delay"})
#: Key of ``QuantumCircuit.metadata`` holding the circuit's weight names in order.
WEIGHT_ORDER = "weight_names"


def _library():
    return require("qiskit.circuit.library", "qiskit")


def _reverse_matrix(m: np.ndarray) -> np.ndarray:
    """A matrix (or diagonal) on k qubits between hybridq and Qiskit index order (an involution)."""
    perm = bit_reversal_permutation(int(m.shape[0]).bit_length() - 1)
    return m[perm] if m.ndim == 1 else m[np.ix_(perm, perm)]


def to_qiskit(circuit: Circuit, *, input_vector: str = "x"):
    """The Qiskit ``QuantumCircuit`` of ``circuit``, with parameters for inputs and weights.

    Args:
        circuit: the circuit.
        input_vector: name of the ``ParameterVector`` holding the inputs. Defaults to ``"x"``.
    """
    qiskit = require("qiskit", "qiskit")
    lib = _library()
    xs = qiskit.circuit.ParameterVector(input_vector, circuit.n_inputs)
    ws = {}
    for name in circuit.weight_names:
        if name.startswith(f"{input_vector}["):
            raise ParameterError(f"weight name {name!r} clashes with the input vector {input_vector!r}; "
                                 "rename the weight or pass another input_vector")
        ws[name] = qiskit.circuit.Parameter(name)

    def angle(p: Param):
        return fold(p, input=xs.__getitem__, weight=ws.__getitem__,
                    add=lambda t: functools.reduce(operator.add, t), mul=lambda f: functools.reduce(operator.mul, f))

    qc = qiskit.QuantumCircuit(circuit.n_qubits, metadata={WEIGHT_ORDER: circuit.weight_names})
    for op in circuit.ops:
        for part in (lower(op) if op.name == "PauliRot" and op.controls else [op]):
            qc.append(_gate(part, angle, lib), list(part.controls + part.qubits))
    return qc


def _gate(op: Operation, angle, lib):
    if op.name == "Unitary":
        gate = lib.UnitaryGate(_reverse_matrix(op.matrix))
    elif op.name == "Diagonal":
        d = _reverse_matrix(op.matrix)
        gate = lib.UnitaryGate(np.diag(d)) if op.controls else lib.DiagonalGate(list(d))
    elif op.name == "PauliRot":
        pauli = require("qiskit.quantum_info", "qiskit").Pauli(to_qiskit_label(op.pauli))
        gate = lib.PauliEvolutionGate(pauli, time=angle(op.params[0]) / 2)
    else:
        gate = getattr(lib, GATES[op.name].names.qiskit[0])(*(angle(p) for p in op.params))
    return gate.control(len(op.controls), annotated=False) if op.controls else gate


def from_qiskit(qc, *, input_vector: str = "x") -> Circuit:
    """A hybridq :class:`Circuit` from a Qiskit ``QuantumCircuit``.

    Elements of the ``ParameterVector`` named ``input_vector`` become :class:`Input` s, other
    parameters :class:`Weight` s of the same name.
    """

    def leaf(p) -> Expr:
        vector = getattr(p, "vector", None)
        if vector is not None and vector.name == input_vector:
            return Input(p.index)
        return Weight(p.name)

    return read_qiskit(qc, leaf).order_weights((qc.metadata or {}).get(WEIGHT_ORDER, ()))


def read_qiskit(qc, leaf) -> Circuit:
    """:func:`from_qiskit` with a custom map ``leaf(parameter) -> Expr`` (used for OpenQASM)."""
    require("qiskit", "qiskit")
    reader = _Reader(leaf, _library())
    builder = Builder(qc.num_qubits)
    builder.add(phase_ops(reader.angle(qc.global_phase), ()))
    for inst in qc.data:
        qubits = [qc.find_bit(q).index for q in inst.qubits]
        if inst.operation.name == "measure":
            builder.measure(qubits)
        elif inst.operation.name not in _SKIPPED:
            ops, phase = reader.convert(inst.operation, qubits)
            builder.add(ops + phase_ops(phase, ()))
    return builder.circuit


class _Reader:
    """Qiskit instructions -> (hybridq operations, global phase)."""

    def __init__(self, leaf, lib):
        self.leaf = leaf
        self.classes = {getattr(lib, cls): name for name, spec in GATES.items() for cls in spec.names.qiskit}
        self.lib = lib

    def angle(self, p) -> Param:
        if getattr(p, "parameters", None):
            leaves = {q.name: self.leaf(q) for q in p.parameters}
            return expr_from_sympy(p.sympify(), leaves.__getitem__)
        value = complex(p)
        if abs(value.imag) > 1e-12:
            raise ParameterError(f"a gate angle must be real, got {value}")
        return value.real

    def convert(self, op, qubits: list[int]) -> tuple[list[Operation], Param]:
        lib, kind = self.lib, getattr(op, "base_class", type(op))
        if kind in self.classes:
            return [Operation(self.classes[kind], tuple(qubits), tuple(self.angle(p) for p in op.params))], 0.0
        if kind is lib.U2Gate:
            phi, lam = (self.angle(p) for p in op.params)
            return [Operation("U3", tuple(qubits), (np.pi / 2, phi, lam))], 0.0
        if kind is lib.CUGate:  # controlled U with a phase gamma on the controlled branch
            theta, phi, lam, gamma = (self.angle(p) for p in op.params)
            ops = controlled([Operation("U3", (qubits[1],), (theta, phi, lam))], [qubits[0]], [op.ctrl_state], gamma)
            return ops, 0.0
        if kind is lib.GlobalPhaseGate:
            return [], self.angle(op.params[0])
        if kind is lib.UnitaryGate:
            matrix = _reverse_matrix(np.asarray(op.params[0], dtype=complex))
            return [Operation("Unitary", tuple(qubits), matrix=matrix)], 0.0
        if kind is lib.DiagonalGate:
            d = np.asarray([complex(v) for v in op.params])
            return [Operation("Diagonal", tuple(qubits), matrix=_reverse_matrix(d))], 0.0
        if kind is lib.PauliEvolutionGate:
            return self._evolution(op, qubits), 0.0
        if isinstance(op, require("qiskit.circuit", "qiskit").AnnotatedOperation):
            return self._annotated(op, qubits), 0.0
        if getattr(op, "base_gate", None) is not None and hasattr(op, "ctrl_state"):
            k = op.num_ctrl_qubits
            ops, phase = self.convert(op.base_gate, qubits[k:])
            values = [(op.ctrl_state >> i) & 1 for i in range(k)]
            return controlled(ops, qubits[:k], values, phase), 0.0
        if getattr(op, "definition", None) is not None:
            return self._definition(op.definition, qubits)
        raise UnknownGateError(f"cannot convert the Qiskit instruction {op.name!r}: it is not a gate of "
                               f"hybridq's table ({', '.join(g.names.qiskit[0] for g in GATES.values())}, ...) and has no definition")

    def _definition(self, definition, qubits: list[int]) -> tuple[list[Operation], Param]:
        ops: list[Operation] = []
        phase = as_expr(self.angle(definition.global_phase))
        for inst in definition.data:
            if inst.operation.name in _SKIPPED:
                continue
            sub, sub_phase = self.convert(inst.operation, [qubits[definition.find_bit(q).index] for q in inst.qubits])
            ops += sub
            phase = phase + as_expr(sub_phase)
        return ops, simplified(phase)

    def _annotated(self, op, qubits: list[int]) -> list[Operation]:
        """An ``AnnotatedOperation``: modifiers apply in order, each control prepends its qubits."""
        circuit = require("qiskit.circuit", "qiskit")
        start = sum(m.num_ctrl_qubits for m in op.modifiers if isinstance(m, circuit.ControlModifier))
        ops, phase = self.convert(op.base_op, qubits[start:])
        for modifier in op.modifiers:
            if isinstance(modifier, circuit.InverseModifier):
                ops, phase = [o.inverse() for o in reversed(ops)], -as_expr(phase)
            elif isinstance(modifier, circuit.ControlModifier):
                k = modifier.num_ctrl_qubits
                values = [(modifier.ctrl_state >> i) & 1 for i in range(k)]
                ops, phase, start = controlled(ops, qubits[start - k:start], values, phase), 0.0, start - k
            elif float(modifier.power).is_integer():
                power = int(modifier.power)
                ops = ops * power if power >= 0 else [o.inverse() for o in reversed(ops)] * -power
                phase = power * as_expr(phase)
            else:
                raise UnknownGateError(f"cannot convert {op.name!r}: a non-integer power of a gate")
        return ops + phase_ops(simplified(phase), ())

    def _evolution(self, op, qubits: list[int]) -> list[Operation]:
        quantum_info = require("qiskit.quantum_info", "qiskit")
        if isinstance(op.operator, list):
            raise UnknownGateError("cannot convert a PauliEvolutionGate of several operators; "
                                   "combine them into one SparsePauliOp")
        sparse = quantum_info.SparsePauliOp(op.operator)
        paulis, coeffs = sparse.paulis, sparse.coeffs
        if np.abs(np.imag(coeffs)).max() > 1e-12:
            raise ParameterError("a PauliEvolutionGate needs real coefficients to be a rotation")
        if any(not paulis[i].commutes(paulis[j]) for i in range(len(paulis)) for j in range(i)):
            raise UnknownGateError("cannot convert a PauliEvolutionGate of non-commuting terms exactly; "
                                   "synthesise it (e.g. with qiskit's LieTrotter) first")
        time = as_expr(self.angle(op.params[0]))
        return [Operation("PauliRot", tuple(qubits), (simplified(2 * float(np.real(c)) * time),),
                          pauli=from_qiskit_label(p.to_label()))
                for p, c in zip(paulis, coeffs)]
