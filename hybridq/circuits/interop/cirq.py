"""Conversion to and from Cirq ``Circuit``.

hybridq qubit ``q`` is ``cirq.LineQubit(q)``; both put the first qubit of a matrix in the most
significant bit, so nothing is reordered. Each gate's Cirq form is its record's
(:data:`~hybridq.sim.gates.GATES`). Inputs and weights become sympy symbols: ``Input(i)``
is ``x_i``, ``Weight(name)`` is ``name``. Cirq's ``*PowGate`` family (``exponent`` in half
turns, ``global_shift``) is read exactly, global phases included; other gates with a numeric
unitary are read as ``Unitary``.

>>> from hybridq.circuits import Circuit, Weight
>>> c = to_cirq(Circuit(2).h(0).cx(0, 1).rz(Weight("w"), 1))
>>> print(c)
0: ───H───@───────────
          │
1: ───────X───Rz(w)───
>>> from_cirq(c).ops[2].params
(Weight('w'),)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ...errors import ParameterError, UnknownGateError, require
from ...sim.gates import GATES
from ..circuit import Circuit, Operation
from ..expr import Param
from ._common import (INPUT_SYMBOL, Builder, controlled, expr_from_sympy, fold, lower, phase_ops,
                      symbol_leaf)


def _pi(angle):
    """pi in the algebra of ``angle`` (sympy's exact pi for symbols)."""
    return require("sympy", "cirq").pi if hasattr(angle, "free_symbols") else math.pi


def _turns(angle):
    return angle / _pi(angle)


def _cirq():
    return require("cirq", "cirq")


def cirq_gate(name: str, *angles):
    """The Cirq gate of a hybridq gate, from its record's expression (angles in radians).

    >>> cirq_gate("RZZ", 0.5)
    cirq.ZZPowGate(exponent=0.15915494309189535, global_shift=-0.5)
    """
    expression = GATES[name].names.cirq
    if expression is None:
        raise UnknownGateError(f"{name} has no Cirq gate of its own; it is written as other gates")
    a = angles[0] if angles else None
    return eval(expression, {"cirq": _cirq(), "pi": _pi(a), "a": a})  # noqa: S307 - the records' own text


def to_cirq(circuit: Circuit):
    """The Cirq ``Circuit`` of ``circuit`` on ``cirq.LineQubit(0..n-1)``, with sympy symbols.

    Simulate it with ``qubit_order=cirq.LineQubit.range(n)`` so that idle qubits are kept.
    """
    cirq = require("cirq", "cirq")
    sympy = require("sympy", "cirq")
    qubits = cirq.LineQubit.range(circuit.n_qubits)

    def angle(p: Param):  # unevaluated sums and products keep their terms' order, hence the weight order
        return fold(p, input=lambda i: sympy.Symbol(INPUT_SYMBOL.format(i)), weight=sympy.Symbol,
                    add=lambda t: sympy.Add(*t, evaluate=False), mul=lambda f: sympy.Mul(*f, evaluate=False))

    out = []
    for op in circuit.ops:
        for part in _lowered(op):
            gate = _gate(part, angle, cirq)
            if part.name == "PauliRot":
                part = Operation(part.name, tuple(q for q, p in zip(part.qubits, part.pauli) if p != "I"),
                                 part.params, part.controls, pauli=part.pauli.replace("I", ""))
            if part.controls:
                gate = gate.controlled(len(part.controls))
            out.append(gate.on(*(qubits[q] for q in part.controls + part.qubits)))
    return cirq.Circuit(out)


def _lowered(op: Operation) -> list[Operation]:
    if op.name == "U3" or (op.name == "PauliRot" and set(op.pauli) == {"I"}):
        return [part for low in lower(op) for part in _lowered(low)]
    return [op]


def _gate(op: Operation, angle, cirq):
    if op.name == "Unitary":
        return cirq.MatrixGate(np.asarray(op.matrix))
    if op.name == "Diagonal":
        return cirq.DiagonalGate(list(np.angle(op.matrix)))
    if op.name == "PauliRot":  # identity letters dropped: Cirq's phasor mis-places them
        letters = "".join(p for p in op.pauli if p != "I")
        half = _turns(angle(op.params[0])) / 2
        return cirq.PauliStringPhasorGate(cirq.DensePauliString(letters), exponent_neg=half, exponent_pos=-half)
    return cirq_gate(op.name, *(angle(p) for p in op.params))


def from_cirq(circuit, *, n_qubits: int | None = None, qubit_order: Sequence | None = None) -> Circuit:
    """A hybridq :class:`Circuit` from a Cirq circuit.

    Args:
        circuit: a ``cirq.Circuit``.
        n_qubits: number of qubits (at least what the circuit uses). Defaults to the highest
            ``LineQubit`` index + 1, or the number of qubits used.
        qubit_order: the Cirq qubits in hybridq order; defaults to ``LineQubit(i)`` -> ``i``, or
            the sorted qubits when they are not all ``LineQubit`` s.
    """
    cirq = require("cirq", "cirq")
    used = sorted(circuit.all_qubits())
    if qubit_order is None:
        line = all(isinstance(q, cirq.LineQubit) for q in used)
        index = {q: q.x for q in used} if line else {q: i for i, q in enumerate(used)}
    else:
        index = {q: i for i, q in enumerate(qubit_order)}
        missing = [q for q in used if q not in index]
        if missing:
            raise ParameterError(f"qubit_order lacks qubit(s) {missing} used by the circuit")
    need = max(index.values(), default=-1) + 1
    builder = Builder(max(n_qubits or need, need, 1))
    reader = _Reader(cirq)
    for op in circuit.all_operations():
        qs = [index[q] for q in op.qubits]
        if cirq.is_measurement(op):
            builder.measure(qs)
            continue
        ops, phase = reader.operation(op, qs)
        builder.add(ops + phase_ops(phase, ()))
    return builder.circuit


def _angle(value) -> Param:
    """A Cirq number or sympy expression (radians) -> a hybridq angle."""
    if hasattr(value, "free_symbols"):
        return expr_from_sympy(value, symbol_leaf)
    return float(value)


class _Reader:
    """Cirq gates -> (hybridq operations, global phase)."""

    def __init__(self, cirq):
        self.cirq = cirq
        # eigen gate class -> (named gates by exponent, rotation gate, phase offset k):
        # G(t, s) = e^{i pi t (s + k)} * rotation(pi t); named gates are the records' fixed gates
        self.eigen = {
            cirq.XPowGate: ({}, "RX", 0.5),
            cirq.YPowGate: ({}, "RY", 0.5),
            cirq.ZPowGate: ({}, "PhaseShift", 0.0),
            cirq.XXPowGate: ({}, "RXX", 0.5),
            cirq.YYPowGate: ({}, "RYY", 0.5),
            cirq.ZZPowGate: ({}, "RZZ", 0.5),
            cirq.HPowGate: ({}, None, 0.0),
            cirq.SwapPowGate: ({}, None, 0.0),
        }
        for name, spec in GATES.items():
            gate = cirq_gate(name) if spec.n_params == 0 and name != "I" else None
            family = next((c for c in type(gate).__mro__ if c in self.eigen), None)
            if family is not None and gate.global_shift == 0:
                self.eigen[family][0][float(gate.exponent)] = name
        # controlled eigen gate class -> (number of controls, target gate class)
        self.controlled_eigen = {
            cirq.CXPowGate: (1, cirq.XPowGate), cirq.CZPowGate: (1, cirq.ZPowGate),
            cirq.CCXPowGate: (2, cirq.XPowGate), cirq.CCZPowGate: (2, cirq.ZPowGate),
        }

    def operation(self, op, qs: list[int]) -> tuple[list[Operation], Param]:
        if op.gate is not None:
            return self.gate(op.gate, qs)
        return self._unitary(op, qs)

    def gate(self, gate, qs: list[int]) -> tuple[list[Operation], Param]:
        cirq = self.cirq
        kind = type(gate)
        if isinstance(gate, cirq.ControlledGate):
            k = gate.num_controls()
            ops, phase = self.gate(gate.sub_gate, qs[k:])
            return controlled(ops, qs[:k], self._control_values(gate), phase), 0.0
        if kind in self.controlled_eigen:
            k, target = self.controlled_eigen[kind]
            ops, phase = self.gate(target(exponent=gate.exponent), qs[k:])
            return controlled(ops, qs[:k], None, phase), self._phase(gate.exponent, gate.global_shift)
        if any(c in self.eigen for c in kind.__mro__):
            return self._eigen(gate, qs)
        if isinstance(gate, cirq.CSwapGate):
            return [Operation("SWAP", tuple(qs[1:]), (), (qs[0],))], 0.0
        if isinstance(gate, cirq.IdentityGate):
            return [Operation("I", (q,)) for q in qs], 0.0
        if isinstance(gate, cirq.GlobalPhaseGate):
            if cirq.is_parameterized(gate):
                raise UnknownGateError(f"cannot convert a symbolic Cirq global phase {gate!r}")
            return [], float(np.angle(complex(gate.coefficient)))
        if isinstance(gate, cirq.PauliStringPhasorGate):
            return self._phasor(gate, qs)
        if isinstance(gate, (cirq.MatrixGate, cirq.DiagonalGate)) and not cirq.is_parameterized(gate):
            u = cirq.unitary(gate)
            if isinstance(gate, cirq.DiagonalGate):
                return [Operation("Diagonal", tuple(qs), matrix=np.diag(u).copy())], 0.0
            return [Operation("Unitary", tuple(qs), matrix=u)], 0.0
        return self._unitary(gate, qs)

    def _unitary(self, value, qs: list[int]) -> tuple[list[Operation], Param]:
        cirq = self.cirq
        if not cirq.is_parameterized(value) and cirq.has_unitary(value):
            return [Operation("Unitary", tuple(qs), matrix=np.asarray(cirq.unitary(value), dtype=complex))], 0.0
        raise UnknownGateError(f"cannot convert the Cirq gate {value!r}: it is not in hybridq's table and has no "
                               "numeric unitary (resolve its parameters first)")

    def _control_values(self, gate) -> list[int]:
        values = gate.control_values
        if isinstance(values, self.cirq.ProductOfSums):
            per_control = [tuple(v) for v in values]
        else:  # SumOfProducts: one product is an ordinary list of control values
            products = [tuple(p) for p in values]
            per_control = [(v,) for v in products[0]] if len(products) == 1 else []
        if len(per_control) != gate.num_controls() or any(len(v) != 1 for v in per_control):
            raise UnknownGateError(f"cannot convert {gate!r}: its controls are activated by several values")
        return [int(v[0]) for v in per_control]

    def _phase(self, t, s: float, offset: float = 0.0) -> Param:
        return _angle(_pi(t) * t * (s + offset))

    def _eigen(self, gate, qs: list[int]) -> tuple[list[Operation], Param]:
        cls = next(c for c in type(gate).__mro__ if c in self.eigen)
        named, rotation, offset = self.eigen[cls]
        t, s = gate.exponent, gate.global_shift
        symbolic = hasattr(t, "free_symbols")
        if not symbolic and s == 0 and float(t) in named:
            return [Operation(named[float(t)], tuple(qs))], 0.0
        if rotation is None:
            return self._unitary(gate, qs)
        return [Operation(rotation, tuple(qs), (_angle(_pi(t) * t),))], self._phase(t, s, offset)

    def _phasor(self, gate, qs: list[int]) -> tuple[list[Operation], Param]:
        dense = gate.dense_pauli_string
        sign = complex(dense.coefficient)
        if abs(abs(sign.real) - 1) > 1e-12 or abs(sign.imag) > 1e-12:
            raise UnknownGateError(f"cannot convert {gate!r}: its Pauli string has coefficient {sign}")
        neg, pos = gate.exponent_neg, gate.exponent_pos
        if sign.real < 0:
            neg, pos = pos, neg
        pi = _pi(neg) if hasattr(neg, "free_symbols") else _pi(pos)
        pauli = "".join("IXYZ"[int(m)] for m in dense.pauli_mask)
        theta = _angle(pi * (neg - pos))
        return [Operation("PauliRot", tuple(qs), (theta,), pauli=pauli)], _angle(pi * (neg + pos) / 2)
