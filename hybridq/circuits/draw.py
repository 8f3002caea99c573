"""Text drawing of a circuit: one line per qubit, one column per layer.

>>> from hybridq.circuits import Circuit, Weight
>>> print(Circuit(2).h(0).cx(0, 1).rz(Weight("a"), 1).draw())
q0: ─H──●───────────
q1: ────X──RZ(a)────
"""

from __future__ import annotations

import re

from .expr import Const, Expr


def _angle(p) -> str:
    if isinstance(p, Const):
        p = p.value
    if isinstance(p, Expr):
        return re.sub(r"Input\((\d+)\)", r"x\1", re.sub(r"Weight\('([^']*)'\)", r"\1", repr(p)))
    return f"{p:.3g}"


def _label(op) -> str:
    if op.name == "PauliRot":
        return f"exp(-i{_angle(op.params[0])}/2·{op.pauli})"
    if op.name in ("Unitary", "Diagonal"):
        return "U" if op.name == "Unitary" else "D"
    if op.params:
        return f"{op.name}({', '.join(_angle(p) for p in op.params)})"
    return op.name


def draw(circuit) -> str:
    """Render ``circuit`` as text (controls ``●``, ``│`` through spanned qubits)."""
    n = circuit.n_qubits
    layers = circuit.layers()
    columns: list[dict[int, str]] = [dict() for _ in range(max(layers, default=-1) + 1)]
    for op, layer in zip(circuit.ops, layers):
        col = columns[layer]
        label = _label(op)
        for q in op.qubits:
            col[q] = label
        for q in op.controls:
            col[q] = "●"
        lo, hi = min(op.wires), max(op.wires)
        for q in range(lo + 1, hi):
            col.setdefault(q, "│")
    width = len(f"q{n - 1}")
    lines = [f"q{q}:".ljust(width + 1) + " ─" for q in range(n)]
    for col in columns:
        w = max((len(s) for s in col.values()), default=1)
        for q in range(n):
            cell = col.get(q, "")
            pad = w - len(cell)
            lines[q] += "─" * (pad // 2) + cell + "─" * (pad - pad // 2) + "──"
    return "\n".join(line + "──" for line in lines)
