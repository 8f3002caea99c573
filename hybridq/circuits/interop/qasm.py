"""OpenQASM 2.0 and 3.0 text: a small writer here, reading through Qiskit's loaders.

Writing needs no optional dependency. Gates use the names of ``qelib1.inc`` (Qiskit's
version, with ``sx``, ``rxx``, ``c3x``...) or ``stdgates.inc``; OpenQASM 3 writes any other
controlled gate with ``ctrl(k) @``. Pauli rotations and two-qubit rotations a library lacks
are written as exact basis changes, CNOT ladders and ``rz``. ``Unitary`` and ``Diagonal``
matrices have no exact OpenQASM form and raise :class:`~hybridq.errors.UnknownGateError`.

OpenQASM 2 has no parameters: bind inputs and weights (``inputs=``, ``weights=``) first.
OpenQASM 3 declares the unbound ones as ``input float[64]``: ``Input(i)`` as ``x_i``,
``Weight(name)`` as ``name``, weights in the circuit's order (read back in declaration order). Reading OpenQASM 3 needs ``qiskit-qasm3-import``.

>>> from hybridq.circuits import Circuit, Input, Weight
>>> print(to_qasm(Circuit(2).h(0).crx(Weight("w") * Input(0), 0, 1), version=3))
OPENQASM 3.0;
include "stdgates.inc";
input float[64] x_0;
input float[64] w;
qubit[2] q;
h q[0];
crx(w * x_0) q[0], q[1];
<BLANKLINE>
"""

from __future__ import annotations

import functools
import keyword
import math
import re

from ...errors import FormatError, ParameterError, ShapeError, UnknownGateError, require
from ...sim.gates import GATES
from ..circuit import Circuit, Operation
from ..expr import Param
from ._common import (INPUT_SYMBOL, bind_parameters, fold, input_symbol_index, is_numeric, lower, numeric_value,
                      symbol_leaf)

#: (hybridq base gate, number of controls) -> OpenQASM 2 gate of Qiskit's qelib1.inc (from the records).
GATES_2 = {(base, k): name for base, spec in GATES.items() for k, name in enumerate(spec.names.qasm2) if name}
#: hybridq base gate -> OpenQASM 3 gate of stdgates.inc (controls added with ``ctrl @``).
GATES_3 = {base: spec.names.qasm3[0] for base, spec in GATES.items() if spec.names.qasm3[0]}
#: Controlled gates of stdgates.inc written by name rather than with ``ctrl @``.
_NAMED_3 = {(base, k): name for base, spec in GATES.items() for k, name in enumerate(spec.names.qasm3) if k and name}
_RESERVED = {"pi", "tau", "euler", "q", "input", "output", "float", "angle", "qubit", "qreg", "creg", "bit", "gate",
             "ctrl", "negctrl", "inv", "pow", "gphase", "measure", "reset", "barrier", "U", "CX", "include"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: An OpenQASM 3 ``input`` declaration; its name (in declaration order: the weight order).
_INPUT_DECLARATION = re.compile(r"^\s*input\s+[^;=]*?([A-Za-z_][A-Za-z0-9_]*)\s*;", re.MULTILINE)


def to_qasm(circuit: Circuit, *, version: int = 2, inputs=None, weights=None) -> str:
    """OpenQASM text of ``circuit``.

    Args:
        circuit: the circuit.
        version: 2 or 3. Defaults to 2.
        inputs: one sample of input values to bind (see :func:`bind_parameters`), or None.
        weights: weight values to bind (a mapping, possibly partial, or a flat sequence), or None.
    """
    if version not in (2, 3):
        raise ShapeError(f"OpenQASM version must be 2 or 3, got {version!r}")
    if inputs is not None or weights is not None:
        circuit = bind_parameters(circuit, inputs, weights)
    names = _check_names(circuit, version)
    lines = [f"OPENQASM {version}.0;", 'include "qelib1.inc";' if version == 2 else 'include "stdgates.inc";']
    if version == 2:
        lines.append(f"qreg q[{circuit.n_qubits}];")
    else:
        lines += [f"input float[64] {INPUT_SYMBOL.format(i)};" for i in range(circuit.n_inputs)]
        lines += [f"input float[64] {name};" for name in names]
        lines.append(f"qubit[{circuit.n_qubits}] q;")
    for op in circuit.ops:
        parts = _expressible(op, version)
        if parts is None:
            raise _unsupported(op, version)
        lines += [_statement(part, version) for part in parts]
    return "\n".join(lines) + "\n"


def _check_names(circuit: Circuit, version: int) -> list[str]:
    names = circuit.weight_names
    if version == 2:
        if circuit.n_inputs or names:
            raise ParameterError(
                f"OpenQASM 2 has no parameters, but the circuit reads {circuit.n_inputs} input(s) and weights "
                f"{names}; bind them with inputs=/weights= or write version=3"
            )
        return names
    for name in names:
        if not _IDENTIFIER.fullmatch(name) or name in _RESERVED or keyword.iskeyword(name):
            raise ParameterError(f"weight name {name!r} is not a usable OpenQASM 3 identifier; rename it")
        if input_symbol_index(name) is not None:
            raise ParameterError(f"weight name {name!r} clashes with the input names x_0, x_1, ...; rename it")
    return names


def _expressible(op: Operation, version: int) -> list[Operation] | None:
    """``op`` as operations with an OpenQASM form (exact rewrites), or None."""
    if op.name in ("Unitary", "Diagonal"):
        return None
    k = len(op.controls)
    if version == 2 and (op.name, k) in GATES_2 or version == 3 and op.name in GATES_3:
        return [op]
    rewritten = _controlled_rewrite_2(op) if version == 2 and k else None
    if rewritten is None:
        rewritten = lower(op)
        if rewritten == [op]:
            return None
    parts = [_expressible(part, version) for part in rewritten]
    return None if any(p is None for p in parts) else [q for p in parts for q in p]


def _unsupported(op: Operation, version: int) -> UnknownGateError:
    if op.name in ("Unitary", "Diagonal"):
        return UnknownGateError(f"a {op.name} matrix has no exact OpenQASM form; use to_qiskit (UnitaryGate) instead")
    return UnknownGateError(
        f"{op.name} with {len(op.controls)} control(s) has no OpenQASM {version} form"
        + ("; write version=3, which has ctrl @ modifiers" if version == 2 else "")
    )


def _controlled_rewrite_2(op: Operation) -> list[Operation] | None:
    """Exact rewrites of controlled gates that qelib1.inc lacks, or None."""
    k = len(op.controls)
    if op.name == "I":
        return [Operation("I", op.qubits)]
    if op.name in _PHASES:  # S, T and inverses are phase shifts
        return [Operation("PhaseShift", op.qubits, (_PHASES[op.name],), op.controls)]
    if op.name == "Z" and k <= 4:  # multi-controlled Z = H . multi-controlled X . H
        h = Operation("H", op.qubits)
        return [h, Operation("X", op.qubits, (), op.controls), h]
    if op.name == "SXdg" and k == 1:  # SXdg = e^{-i pi/4} RX(-pi/2)
        return [Operation("RX", op.qubits, (-math.pi / 2,), op.controls),
                Operation("PhaseShift", op.controls, (-math.pi / 4,))]
    return None


_PHASES = {"S": math.pi / 2, "Sdg": -math.pi / 2, "T": math.pi / 4, "Tdg": -math.pi / 4}


def _statement(op: Operation, version: int) -> str:
    k = len(op.controls)
    if version == 2:
        name = GATES_2[(op.name, k)]
    elif (op.name, k) in _NAMED_3:
        name = _NAMED_3[(op.name, k)]
    else:
        name = ("" if not k else "ctrl @ " if k == 1 else f"ctrl({k}) @ ") + GATES_3[op.name]
    params = f"({', '.join(_angle(p) for p in op.params)})" if op.params else ""
    return f"{name}{params} {', '.join(f'q[{q}]' for q in op.controls + op.qubits)};"


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise ParameterError(f"cannot write the angle {value} to OpenQASM")
    text = repr(float(value))
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


def _angle(p: Param) -> str:
    if is_numeric(p):
        return _number(numeric_value(p))
    return fold(p, input=INPUT_SYMBOL.format, weight=str, const=_number, add=" + ".join,
                mul=lambda factors: " * ".join(f"({f})" if " + " in f else f for f in factors))


def from_qasm(text: str) -> Circuit:
    """A hybridq :class:`Circuit` from OpenQASM 2.0 or 3.0 text (read with Qiskit).

    OpenQASM 3 ``input float`` variables named ``x_<i>`` become :class:`Input` (i), others
    :class:`Weight` s. Final measurements and barriers are dropped.
    """
    from .qiskit import read_qiskit

    if not isinstance(text, str):
        raise FormatError(f"from_qasm reads OpenQASM text (a str), got {type(text).__name__}")
    match = re.search(r"OPENQASM\s+(\d+)(\.\d+)?\s*;", text)
    if match is None:
        raise ShapeError("not OpenQASM text: expected a header such as 'OPENQASM 2.0;'")
    if match.group(1) not in ("2", "3"):
        raise ShapeError(f"OpenQASM version must be 2 or 3, got {match.group(1)}")
    if match.group(1) == "2":
        qasm2 = require("qiskit.qasm2", "qiskit")
        load = functools.partial(qasm2.loads, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    else:
        require("qiskit_qasm3_import", "qasm3")
        load = require("qiskit.qasm3", "qiskit").loads
    try:
        qc = load(text)
    except Exception as error:  # noqa: BLE001 - the parsers raise their own classes (QASM2ParseError, ...)
        raise FormatError(f"cannot read this OpenQASM {match.group(1)} text: {str(error)[:300]}") from error
    return read_qiskit(qc, lambda p: symbol_leaf(p.name)).order_weights(_INPUT_DECLARATION.findall(text))
