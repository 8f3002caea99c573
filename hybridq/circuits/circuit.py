"""The circuit IR: gate operations on qubits ``0..n-1`` with numeric or expression angles.

Builder methods follow Qiskit's argument order (angles first, then qubits; controls before
targets) and return the circuit, so calls chain.

>>> from hybridq.circuits import Circuit, Input, Weight
>>> c = Circuit(2).h(0).cx(0, 1).ry(Weight("w") * Input(0) + Weight("b"), 1)
>>> c
Circuit(n_qubits=2, ops=3, n_inputs=1, weights=['w', 'b'])
>>> c.depth(), c.inverse().ops[0].name
(3, 'RY')
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterator, Sequence, TypeVar

import numpy as np
import torch

from ..checks import check_finite
from ..errors import NotUnitaryError, ParameterError, QubitIndexError, ShapeError, UnknownGateError
from ..sim.gates import GATES, resolve
from ..sim.ops import check_wires
from .expr import Expr, Param, as_expr

CUSTOM = ("Unitary", "Diagonal", "PauliRot")
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Operation:
    """One gate in a circuit.

    Attributes:
        name: a base gate of :data:`~hybridq.sim.gates.GATES` or ``"Unitary"``, ``"Diagonal"``, ``"PauliRot"``.
        qubits: target qubits (the first is the most significant bit of the gate's matrix).
        params: angles (numbers or :class:`~hybridq.circuits.expr.Expr`).
        controls: control qubits (all must be 1).
        matrix: the matrix of a ``"Unitary"`` or the diagonal of a ``"Diagonal"``.
        pauli: the Pauli string of a ``"PauliRot"`` (``exp(-i theta/2 P)``).
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[Param, ...] = ()
    controls: tuple[int, ...] = ()
    matrix: np.ndarray | None = field(default=None, repr=False)
    pauli: str | None = None

    def __post_init__(self) -> None:
        """Check the gate name, the number of qubits and angles, and what a custom gate needs."""
        for name in ("qubits", "controls"):
            object.__setattr__(self, name, tuple(_as_ints(_sequence(getattr(self, name)))))
        object.__setattr__(self, "params", tuple(self.params))
        spec = GATES.get(self.name) if isinstance(self.name, str) else None
        if spec is not None:
            if len(self.qubits) != spec.n_qubits or len(self.params) != spec.n_params:
                raise ShapeError(f"{self.name} takes {spec.n_qubits} target qubit(s) and {spec.n_params} angle(s), "
                                 f"got qubits {self.qubits} and angles {self.params}")
        elif self.name in ("Unitary", "Diagonal"):
            if self.matrix is None or self.params:
                raise ShapeError(f"a {self.name} operation needs its matrix (and no angles); use Circuit.{self.name.lower()}")
        elif self.name == "PauliRot":
            if not isinstance(self.pauli, str) or len(self.pauli) != len(self.qubits) or len(self.params) != 1:
                raise ShapeError("a PauliRot operation needs one angle and a Pauli string with one letter per qubit; "
                                 "use Circuit.pauli_rotation")
        else:
            spec, implied = resolve(self.name)  # unknown names raise UnknownGateError with the list
            raise UnknownGateError(f"Operation takes base gate names: {self.name!r} is {spec.name} with {implied} "
                                   f"control(s); use Circuit.add({self.name!r}, ...) or Operation({spec.name!r}, "
                                   "targets, angles, controls)")

    @property
    def wires(self) -> tuple[int, ...]:
        """Controls then targets."""
        return self.controls + self.qubits

    def inverse(self) -> Operation:
        """The inverse operation."""
        if self.name == "Unitary":
            return Operation("Unitary", self.qubits, (), self.controls, self.matrix.conj().T)
        if self.name == "Diagonal":
            return Operation("Diagonal", self.qubits, (), self.controls, self.matrix.conj())
        if self.name == "PauliRot":
            return Operation(self.name, self.qubits, (-as_expr(self.params[0]),), self.controls, pauli=self.pauli)
        name, params = GATES[self.name].inverse_of(tuple(as_expr(p) for p in self.params))
        return Operation(name, self.qubits, params, self.controls)

    def remapped(self, mapping: Sequence[int]) -> Operation:
        """The same operation on qubits ``mapping[q]``."""
        return Operation(self.name, tuple(mapping[q] for q in self.qubits), self.params,
                         tuple(mapping[q] for q in self.controls), self.matrix, self.pauli)


_EDITS = itertools.count()


class OperationList(list):
    """A circuit's operations: a list whose ``edit`` changes with every change to it (fresh lists
    get a fresh one), so what is derived from the operations is cached on ``edit`` alone.

    >>> ops = OperationList()
    >>> before = ops.edit
    >>> ops.append(Operation("H", (0,)))
    >>> ops.edit != before
    True
    """

    def __init__(self, *args):
        super().__init__(*args)
        self.edit = next(_EDITS)

    def __reduce__(self):  # copies and unpickled lists are fresh lists: a fresh edit
        return OperationList, (list(self),)


def _edited(method):
    """``method`` of ``list``, giving the list a fresh ``edit`` after it ran."""
    def edited(self, *args, **kwargs):
        out = method(self, *args, **kwargs)
        self.edit = next(_EDITS)
        return out
    return functools.wraps(method)(edited)


for _name in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "__setitem__",
              "__delitem__", "__iadd__", "__imul__"):
    setattr(OperationList, _name, _edited(getattr(list, _name)))


class Circuit:
    """A quantum circuit on ``n_qubits`` qubits.

    Angles may be numbers or expressions over :class:`Input` (per-sample data) and
    :class:`Weight` (trainable); see :mod:`hybridq.circuits.expr`. Run it with
    :func:`hybridq.simulate`.
    """

    def __init__(self, n_qubits: int):
        if not isinstance(n_qubits, int) or n_qubits < 1:
            raise ShapeError(f"n_qubits must be a positive int, got {n_qubits!r}")
        self.n_qubits = n_qubits
        self._derived: dict[Hashable, tuple] = {}  # see derived(): kind -> (ops.edit, key, value)
        self.ops = OperationList()
        self.weight_order: tuple[str, ...] = ()

    @property
    def ops(self) -> OperationList:
        """The operations in order (a list; assigning one stores a copy as an :class:`OperationList`)."""
        return self._ops

    @ops.setter
    def ops(self, ops) -> None:
        self._ops = ops if isinstance(ops, OperationList) else OperationList(ops)

    # ----- generic construction
    def add(self, name: str, qubits: Sequence[int], *params: Param, controls: Sequence[int] = ()) -> Circuit:
        """Append a named gate; aliases such as ``"CNOT"`` take their controls first in ``qubits``.

        >>> Circuit(3).add("Toffoli", [0, 1, 2]).ops[0]
        Operation(name='X', qubits=(2,), params=(), controls=(0, 1), pauli=None)
        """
        spec, implied = resolve(name)
        qubits = list(_as_ints(_sequence(qubits)))
        controls = list(_as_ints(_sequence(controls)))
        if implied:
            controls, qubits = controls + qubits[:implied], qubits[implied:]
        if len(qubits) != spec.n_qubits:
            raise QubitIndexError(f"{name} acts on {spec.n_qubits + implied} qubit(s), got {len(qubits) + implied}")
        if len(params) != spec.n_params:
            raise ShapeError(f"{name} takes {spec.n_params} angle(s), got {len(params)}")
        params = tuple(_angle(p) for p in params)
        return self.append(Operation(spec.name, tuple(qubits), params, tuple(controls)))

    def append(self, op: Operation) -> Circuit:
        """Append an :class:`Operation` after checking its qubits."""
        if not isinstance(op, Operation):
            raise ParameterError(f"Circuit.append takes an Operation, got {type(op).__name__}; use Circuit.add(name, qubits, *angles)")
        check_wires(op.qubits, op.controls, self.n_qubits)
        self.ops.append(op)
        return self

    # ----- named gates (Qiskit argument order)
    def i(self, q): return self.add("I", [q])
    def x(self, q): return self.add("X", [q])
    def y(self, q): return self.add("Y", [q])
    def z(self, q): return self.add("Z", [q])
    def h(self, q): return self.add("H", [q])
    def s(self, q): return self.add("S", [q])
    def sdg(self, q): return self.add("Sdg", [q])
    def t(self, q): return self.add("T", [q])
    def tdg(self, q): return self.add("Tdg", [q])
    def sx(self, q): return self.add("SX", [q])
    def rx(self, theta, q): return self.add("RX", [q], theta)
    def ry(self, theta, q): return self.add("RY", [q], theta)
    def rz(self, theta, q): return self.add("RZ", [q], theta)
    def p(self, phi, q): return self.add("PhaseShift", [q], phi)
    def u3(self, theta, phi, lam, q): return self.add("U3", [q], theta, phi, lam)
    def cx(self, c, t): return self.add("X", [t], controls=[c])
    cnot = cx
    def cy(self, c, t): return self.add("Y", [t], controls=[c])
    def cz(self, c, t): return self.add("Z", [t], controls=[c])
    def ch(self, c, t): return self.add("H", [t], controls=[c])
    def swap(self, a, b): return self.add("SWAP", [a, b])
    def crx(self, theta, c, t): return self.add("RX", [t], theta, controls=[c])
    def cry(self, theta, c, t): return self.add("RY", [t], theta, controls=[c])
    def crz(self, theta, c, t): return self.add("RZ", [t], theta, controls=[c])
    def cp(self, phi, c, t): return self.add("PhaseShift", [t], phi, controls=[c])
    def rxx(self, theta, a, b): return self.add("RXX", [a, b], theta)
    def ryy(self, theta, a, b): return self.add("RYY", [a, b], theta)
    def rzz(self, theta, a, b): return self.add("RZZ", [a, b], theta)
    def ccx(self, c1, c2, t): return self.add("X", [t], controls=[c1, c2])
    toffoli = ccx
    def cswap(self, c, a, b): return self.add("SWAP", [a, b], controls=[c])
    def mcx(self, controls: Sequence[int], t): return self.add("X", [t], controls=controls)

    def unitary(self, matrix, qubits: Sequence[int], *, controls: Sequence[int] = (), atol: float = 1e-8) -> Circuit:
        """Append an arbitrary ``2**k x 2**k`` unitary on ``qubits`` (``qubits[0]`` = most significant bit)."""
        m = _constant_matrix(matrix, "a unitary")
        k = len(qubits)
        if m.shape != (2**k, 2**k):
            raise ShapeError(f"a unitary on {k} qubit(s) must be {2**k}x{2**k}, got {m.shape}")
        err = np.abs(m @ m.conj().T - np.eye(2**k)).max()
        if err > atol:
            raise NotUnitaryError(f"matrix is not unitary (max |U U^dag - I| = {err:.3g} > {atol:g})")
        return self.append(Operation("Unitary", tuple(_as_ints(qubits)), (), tuple(_as_ints(controls)), m))

    def diagonal(self, diagonal, qubits: Sequence[int], *, atol: float = 1e-8) -> Circuit:
        """Append a diagonal unitary (a length ``2**k`` vector of phases) on ``qubits``."""
        d = _constant_matrix(diagonal, "a diagonal")
        if d.shape != (2 ** len(qubits),):
            raise ShapeError(f"a diagonal on {len(qubits)} qubit(s) must have length {2 ** len(qubits)}, got {d.shape}")
        if np.abs(np.abs(d) - 1).max() > atol:
            raise NotUnitaryError("diagonal entries must have modulus 1")
        return self.append(Operation("Diagonal", tuple(_as_ints(qubits)), (), (), d))

    def pauli_rotation(self, theta, pauli: str, qubits: Sequence[int]) -> Circuit:
        """Append ``exp(-i theta/2 P)`` for a Pauli string such as ``"XZY"`` on ``qubits``."""
        qubits = list(_as_ints(_sequence(qubits)))
        if not isinstance(pauli, str) or len(pauli) != len(qubits) or set(pauli.upper()) - set("IXYZ"):
            raise ShapeError(f"Pauli string must use I, X, Y, Z and have {len(qubits)} letters, got {pauli!r}")
        pauli, theta = pauli.upper(), _angle(theta)
        return self.append(Operation("PauliRot", tuple(_as_ints(qubits)), (theta,), (), pauli=pauli))

    # ----- structure
    def order_weights(self, names: Sequence[str]) -> Circuit:
        """Fix the order of :attr:`weight_names`: ``names`` first (those the circuit reads), then
        any other weight in first-use order. Converters use it to keep the order on a round trip.

        >>> from hybridq.circuits import Weight
        >>> Circuit(1).rx(Weight("a"), 0).ry(Weight("b"), 0).order_weights(["b"]).weight_names
        ['b', 'a']
        """
        self.weight_order = tuple(str(n) for n in names)
        self.ops = list(self.ops)  # a fresh edit: what was derived from the old order is stale
        return self

    def compose(self, other: Circuit, qubits: Sequence[int] | None = None) -> Circuit:
        """A new circuit: this one followed by ``other`` (placed on ``qubits`` if given)."""
        mapping = list(range(other.n_qubits)) if qubits is None else list(_as_ints(qubits))
        if len(mapping) != other.n_qubits:
            raise QubitIndexError(f"compose needs {other.n_qubits} qubits for the other circuit, got {len(mapping)}")
        out = self.copy()
        for op in other.ops:
            out.append(op.remapped(mapping))
        return out

    def __add__(self, other: Circuit) -> Circuit:
        return self.compose(other)

    def inverse(self) -> Circuit:
        """The inverse circuit (gates reversed and inverted)."""
        out = Circuit(self.n_qubits).order_weights(self.weight_names)
        out.ops = [op.inverse() for op in reversed(self.ops)]
        return out

    def copy(self) -> Circuit:
        out = Circuit(self.n_qubits).order_weights(self.weight_order)
        out.ops = list(self.ops)
        return out

    def depth(self) -> int:
        """Number of layers when each gate goes as early as its qubits allow."""
        return max(self.layers(), default=-1) + 1

    def layers(self) -> list[int]:
        """The layer index of each operation (as in :meth:`depth`)."""
        level = [0] * self.n_qubits
        out = []
        for op in self.ops:
            d = max(level[q] for q in op.wires)
            for q in op.wires:
                level[q] = d + 1
            out.append(d)
        return out

    @property
    def n_inputs(self) -> int:
        """Number of input columns read (highest :class:`Input` index + 1)."""
        return self.derived("parameters", self._parameters)[0]

    @property
    def weight_names(self) -> list[str]:
        """Names of the weights, the order of a flat weight vector: first-use order, or the
        order fixed by :meth:`order_weights`."""
        return list(self.derived("parameters", self._parameters)[1])

    def _parameters(self) -> tuple[int, tuple[str, ...]]:
        """``(n_inputs, weight names)``, kept by :meth:`derived` (a training step asks for them on
        every call)."""
        exprs = [p for op in self.ops for p in op.params if isinstance(p, Expr)]
        n_inputs = max([0] + [i + 1 for p in exprs for i in p.input_indices()])
        used = dict.fromkeys(w for p in exprs for w in p.weight_names())
        return n_inputs, tuple(dict.fromkeys([n for n in self.weight_order if n in used] + list(used)))

    def derived(self, kind: Hashable, build: Callable[[], T], *, key: Hashable = None) -> T:
        """What ``build()`` derives from this circuit (its parameters, compiled program, phase or
        noise plan), kept under ``kind`` while the operations are unchanged and ``key`` is equal:
        any change to :attr:`ops` (in place, by assignment or by :meth:`order_weights`), or another
        ``key``, makes the next call build anew (one object per kind).

        >>> c = Circuit(1).h(0)
        >>> c.derived("gates", lambda: len(c.ops)), c.derived("gates", lambda: 0)
        (1, 1)
        >>> c.x(0).derived("gates", lambda: len(c.ops))
        2
        """
        edit = self._ops.edit
        held = self._derived.get(kind)
        if held is None or held[0] != edit or (held[1] is not key and held[1] != key):
            held = self._derived[kind] = (edit, key, build())
        return held[2]

    def count_ops(self) -> dict[str, int]:
        """How many of each gate (controlled gates counted as ``"C" * k + name``)."""
        counts: dict[str, int] = {}
        for op in self.ops:
            key = "C" * len(op.controls) + op.name
            counts[key] = counts.get(key, 0) + 1
        return counts

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.ops)

    def __repr__(self) -> str:
        return (f"Circuit(n_qubits={self.n_qubits}, ops={len(self.ops)}, n_inputs={self.n_inputs}, "
                f"weights={self.weight_names})")

    # ----- conversions (see :mod:`hybridq.circuits.interop`)
    def to_qiskit(self, **kwargs):
        """This circuit as a Qiskit ``QuantumCircuit`` (:func:`~hybridq.circuits.interop.to_qiskit`)."""
        from .interop import to_qiskit

        return to_qiskit(self, **kwargs)

    def to_cirq(self):
        """This circuit as a ``cirq.Circuit`` (:func:`~hybridq.circuits.interop.to_cirq`)."""
        from .interop import to_cirq

        return to_cirq(self)

    def to_pennylane(self, **kwargs):
        """A PennyLane quantum function ``qfunc(inputs, weights)`` (:func:`~hybridq.circuits.interop.to_pennylane`)."""
        from .interop import to_pennylane

        return to_pennylane(self, **kwargs)

    def to_qasm(self, **kwargs) -> str:
        """OpenQASM 2 (or 3 with ``version=3``) text (:func:`~hybridq.circuits.interop.to_qasm`).

        >>> print(Circuit(1).h(0).to_qasm().splitlines()[-1])
        h q[0];
        """
        from .interop import to_qasm

        return to_qasm(self, **kwargs)

    def bind(self, inputs=None, weights=None) -> Circuit:
        """A copy with input and weight values substituted (:func:`~hybridq.circuits.interop.bind_parameters`)."""
        from .interop import bind_parameters

        return bind_parameters(self, inputs=inputs, weights=weights)

    def draw(self) -> str:
        """A text drawing, one line per qubit (see :func:`hybridq.circuits.draw.draw`)."""
        from .draw import draw

        return draw(self)

    def __str__(self) -> str:
        return self.draw()


#: Numeric angles beyond this are reduced mod 4 pi (every gate is 4 pi-periodic), in float64, so
#: that they keep their meaning in single precision (float32 spacing is 1e-3 there).
LARGE_ANGLE = 4 * math.pi * 1024


def _angle(value: Param) -> Param:
    """An expression as is; a number as a finite float (reduced mod 4 pi beyond :data:`LARGE_ANGLE`)."""
    if isinstance(value, Expr):
        return value
    angle = as_expr(value).value
    return math.remainder(angle, 4 * math.pi) if abs(angle) > LARGE_ANGLE else angle


def _constant_matrix(matrix, what: str) -> np.ndarray:
    """A user matrix as a finite complex128 array (a circuit stores it; gradients cannot flow)."""
    if isinstance(matrix, torch.Tensor):
        if matrix.requires_grad:
            raise ParameterError(f"{what} in a circuit is a constant; this tensor requires grad. Pass "
                                 "matrix.detach(), or make the gate trainable with Weight angles (e.g. U3)")
        matrix = matrix.detach().resolve_conj().resolve_neg().cpu().numpy()
    try:
        m = np.asarray(matrix, dtype=np.complex128)
    except (TypeError, ValueError) as error:
        raise ShapeError(f"{what} must be an array of numbers, got {type(matrix).__name__}: {error}") from None
    check_finite(m, what)
    return m


def _sequence(qubits) -> Sequence:
    """Qubits as a sequence: one index stands for itself."""
    if isinstance(qubits, (int, np.integer)) and not isinstance(qubits, bool):
        return (qubits,)
    if isinstance(qubits, (str, bytes)) or not hasattr(qubits, "__iter__"):
        raise QubitIndexError(f"qubits must be an index or a sequence of indices, got {qubits!r}")
    return qubits


def _as_ints(qubits) -> Iterator[int]:
    for q in qubits:
        if isinstance(q, bool) or not hasattr(q, "__index__"):
            raise QubitIndexError(f"qubit indices must be integers, got {q!r}")
        yield int(q)
