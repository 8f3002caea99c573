"""Pieces shared by the converters: expression folding, symbol names, exact lowerings, a builder.

* :func:`fold` rewrites an angle :class:`~hybridq.circuits.expr.Expr` in another algebra
  (Qiskit parameters, sympy symbols, QASM text, torch tensors) given what its leaves become.
* :func:`expr_from_sympy` reads a sympy expression back into an ``Expr``.
* :func:`lower` rewrites an operation that a target lacks into exact equivalents (no global
  phase dropped): a Pauli rotation as basis changes, a CNOT ladder and one RZ; ``U3`` as
  ``P(phi) RY(theta) P(lam)``; a (controlled) phase as ``PhaseShift``/``RZ``.
* :class:`Builder` collects the operations read from a foreign circuit, with control values,
  global phases and final measurements handled once for every framework.

>>> from hybridq.circuits import Input, Weight
>>> fold(2 * Input(0) + Weight("b"), input=lambda i: f"x{i}", weight=str, const=repr,
...      add=" + ".join, mul=" * ".join)
'2.0 * x0 + b'
"""

from __future__ import annotations

import math
import re
from typing import Callable, Sequence

import numpy as np

from ...errors import ParameterError, QubitIndexError
from ..circuit import Circuit, Operation
from ..expr import Const, Expr, Input, Param, Product, Sum, Weight, as_expr

#: Symbol name of ``Input(i)`` in Cirq (sympy) and OpenQASM 3: ``x_0``, ``x_1``...
INPUT_SYMBOL = "x_{}"
_INPUT_SYMBOL_RE = re.compile(r"x_(\d+)")


def input_symbol_index(name: str) -> int | None:
    """The input column a symbol name stands for (``"x_3"`` -> 3), or None for a weight."""
    match = _INPUT_SYMBOL_RE.fullmatch(name)
    return int(match.group(1)) if match else None


def symbol_leaf(name: str) -> Expr:
    """``x_<i>`` -> ``Input(i)``, any other name -> ``Weight(name)``."""
    index = input_symbol_index(name)
    return Input(index) if index is not None else Weight(name)


def fold(param: Param, *, input: Callable, weight: Callable, const: Callable = float,
         add: Callable = sum, mul: Callable = math.prod):
    """Rebuild ``param`` from its leaves: ``add``/``mul`` receive lists of folded children."""
    if not isinstance(param, Expr):
        return const(float(param))
    if isinstance(param, Const):
        return const(param.value)
    if isinstance(param, Input):
        return input(param.index)
    if isinstance(param, Weight):
        return weight(param.name)
    children = [fold(p, input=input, weight=weight, const=const, add=add, mul=mul)
                for p in (param.terms if isinstance(param, Sum) else param.factors)]
    return add(children) if isinstance(param, Sum) else mul(children)


def is_numeric(param: Param) -> bool:
    """Whether an angle reads no input and no weight."""
    return not isinstance(param, Expr) or not (param.input_indices() or param.weight_names())


def numeric_value(param: Param) -> float:
    """The value of an angle that reads no input and no weight."""
    return fold(param, input=_unbound, weight=_unbound)


def simplified(param: Param) -> Param:
    """A number if ``param`` reads no input and no weight, else ``param`` unchanged."""
    return numeric_value(param) if is_numeric(param) else param


def _unbound(leaf) -> float:
    raise ParameterError(f"angle reads {leaf!r}, which has no value here; bind it first")


def expr_from_sympy(expr, leaf: Callable[[str], Expr]) -> Param:
    """A sympy expression over symbols -> a number or an ``Expr`` (``leaf`` maps symbol names).

    Supports sums, products and positive integer powers of symbols; constants such as ``pi``
    are evaluated.
    """
    import sympy

    if not expr.free_symbols:
        value = complex(expr)
        if abs(value.imag) > 1e-12:
            raise ParameterError(f"an angle must be real, got {expr}")
        return value.real
    if isinstance(expr, sympy.Symbol):
        return leaf(expr.name)
    if isinstance(expr, sympy.Add):
        return Sum(tuple(as_expr(expr_from_sympy(a, leaf)) for a in expr.args))
    if isinstance(expr, sympy.Mul):
        return Product(tuple(as_expr(expr_from_sympy(a, leaf)) for a in expr.args))
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and int(expr.exp) > 0:
        base = as_expr(expr_from_sympy(expr.base, leaf))
        return Product((base,) * int(expr.exp))
    raise ParameterError(
        f"cannot represent the angle {expr} as a hybridq expression: only sums, products and "
        "positive integer powers of inputs and weights are supported"
    )


def bind_parameters(circuit: Circuit, inputs: Sequence[float] | None = None, weights=None) -> Circuit:
    """A copy of ``circuit`` with inputs and/or weights replaced by numbers.

    Args:
        circuit: the circuit.
        inputs: one sample, a sequence of at least ``circuit.n_inputs`` numbers, or None to keep
            inputs symbolic.
        weights: a mapping name -> number (may be partial) or a flat sequence in
            ``circuit.weight_names`` order, or None.

    >>> from hybridq.circuits import Circuit, Input, Weight
    >>> c = Circuit(1).rx(Weight("w") * Input(0), 0)
    >>> bind_parameters(c, [0.5], {"w": 2.0}).ops[0].params
    (1.0,)
    """
    x = None if inputs is None else [float(v) for v in np.asarray(inputs, dtype=float).reshape(-1)]
    if x is not None and len(x) < circuit.n_inputs:
        raise ParameterError(f"the circuit reads {circuit.n_inputs} input(s), got {len(x)} value(s)")
    w = _weight_map(circuit, weights)

    def leaf_input(i: int) -> Expr:
        return Const(x[i]) if x is not None else Input(i)

    def leaf_weight(name: str) -> Expr:
        return Const(w[name]) if name in w else Weight(name)

    out = Circuit(circuit.n_qubits).order_weights(circuit.weight_names)
    for op in circuit.ops:
        params = []
        for p in op.params:
            e = fold(p, input=leaf_input, weight=leaf_weight, const=Const,
                     add=lambda t: Sum(tuple(t)), mul=lambda f: Product(tuple(f)))
            params.append(simplified(e))
        out.append(Operation(op.name, op.qubits, tuple(params), op.controls, op.matrix, op.pauli))
    return out


def _weight_map(circuit: Circuit, weights) -> dict[str, float]:
    if weights is None:
        return {}
    names = circuit.weight_names
    if hasattr(weights, "items"):
        unknown = [k for k in weights if k not in set(names)]
        if unknown:
            raise ParameterError(f"unknown weight(s) {unknown}; the circuit's weights are {names}")
        return {k: float(v) for k, v in weights.items()}
    values = np.asarray(weights, dtype=float).reshape(-1)
    if len(values) != len(names):
        raise ParameterError(f"expected {len(names)} weight value(s) in circuit.weight_names order, got {len(values)}")
    return dict(zip(names, map(float, values)))


# ----- exact lowerings


def phase_ops(phi: Param, controls: Sequence[int], anchor: int = 0) -> list[Operation]:
    """Operations multiplying the state by ``e^{i phi}`` when all ``controls`` are 1.

    With controls this is a (multi-)controlled ``PhaseShift``; without, a global phase, written
    ``PhaseShift(2 phi) RZ(-2 phi)`` on qubit ``anchor`` (exact, symbolic angles allowed).

    >>> [(o.name, o.qubits, o.params, o.controls) for o in phase_ops(0.5, [0, 2])]
    [('PhaseShift', (2,), (0.5,), (0,))]
    """
    if is_numeric(phi) and numeric_value(phi) == 0:
        return []
    controls = tuple(controls)
    if controls:
        return [Operation("PhaseShift", controls[-1:], (phi,), controls[:-1])]
    twice = 2 * as_expr(phi)
    return [Operation("PhaseShift", (anchor,), (simplified(twice),)), Operation("RZ", (anchor,), (simplified(-twice),))]


def lower(op: Operation) -> list[Operation]:
    """Exact rewrite of ``RXX``/``RYY``/``RZZ``/``PauliRot``/``U3`` into simpler gates.

    Pauli rotations become basis changes (H for X, RX(pi/2) for Y), a CNOT ladder and one
    (controlled) RZ; ``U3(t, p, l) = P(p) RY(t) P(l)``. Other operations are returned as is.

    >>> [o.name for o in lower(Operation("PauliRot", (0, 1), (0.3,), pauli="XY"))]
    ['H', 'RX', 'X', 'RZ', 'X', 'H', 'RX']
    """
    if op.name in ("RXX", "RYY", "RZZ"):
        return lower(Operation("PauliRot", op.qubits, op.params, op.controls, pauli=op.name[1:]))
    if op.name == "U3":
        theta, phi, lam = op.params
        return [Operation("PhaseShift", op.qubits, (lam,), op.controls),
                Operation("RY", op.qubits, (theta,), op.controls),
                Operation("PhaseShift", op.qubits, (phi,), op.controls)]
    if op.name != "PauliRot":
        return [op]
    theta = op.params[0]
    active = [(q, p) for q, p in zip(op.qubits, op.pauli) if p != "I"]
    if not active:
        return phase_ops(simplified(-as_expr(theta) / 2), op.controls, op.qubits[0])
    before, after = [], []
    for q, p in active:
        if p == "X":
            before.append(Operation("H", (q,)))
            after.append(Operation("H", (q,)))
        elif p == "Y":
            before.append(Operation("RX", (q,), (math.pi / 2,)))
            after.append(Operation("RX", (q,), (-math.pi / 2,)))
    qs = [q for q, _ in active]
    ladder = [Operation("X", (b,), (), (a,)) for a, b in zip(qs, qs[1:])]
    rz = Operation("RZ", (qs[-1],), (theta,), op.controls)
    return before + ladder + [rz] + ladder[::-1] + after


def controlled(ops: Sequence[Operation], controls: Sequence[int] = (), control_values: Sequence[int] | None = None,
               phase: Param = 0.0) -> list[Operation]:
    """``ops`` followed by ``e^{i phase}``, all controlled by ``controls``.

    ``control_values`` (0 or 1 per control, default all 1) are honoured by conjugating the
    0-valued controls with X.

    >>> [(o.name, o.controls) for o in controlled([Operation("RY", (1,), (0.2,))], [0], [0])]
    [('X', ()), ('RY', (0,)), ('X', ())]
    """
    controls = tuple(controls)
    flips = [Operation("X", (c,)) for c, v in zip(controls, control_values or ()) if not int(v)]
    body = [Operation(op.name, op.qubits, op.params, controls + op.controls, op.matrix, op.pauli) for op in ops]
    return flips + body + phase_ops(phase, controls) + flips


class Builder:
    """Collects operations read from another framework into a :class:`Circuit`.

    Final measurements are dropped; a gate after a measurement of one of its qubits raises.
    """

    def __init__(self, n_qubits: int):
        self.circuit = Circuit(n_qubits)
        self._measured: set[int] = set()

    def add(self, ops: Sequence[Operation]) -> None:
        """Append ``ops`` (checked against earlier measurements)."""
        for op in ops:
            late = self._measured.intersection(op.wires)
            if late:
                raise QubitIndexError(
                    f"{op.name} acts on qubit(s) {sorted(late)} after they were measured; only final "
                    "measurements can be converted (a hybridq circuit has no mid-circuit measurement)"
                )
            self.circuit.append(op)

    def measure(self, qubits: Sequence[int]) -> None:
        """Record measured qubits (no gate may follow on them)."""
        self._measured.update(qubits)
