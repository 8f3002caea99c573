"""The gate set: names, arities and matrices (batched, differentiable).

Each gate is a :class:`GateSpec`. Its ``build(params, dtype, device)`` turns angle tensors
(each of shape ``()`` for a shared angle or ``(B,)`` for one angle per sample) into the gate's
data: a matrix of shape ``(..., 2**k, 2**k)`` (``kind="dense"``), the diagonal of shape
``(..., 2**k)`` (``kind="diagonal"``), or nothing for gates applied as index permutations
(``kind="flip"``: X on every target; ``kind="swap"``). Qubit order inside a matrix: the first
target qubit is the most significant bit.

Controlled gates are not listed separately: CNOT is ``X`` with one control, CRX is ``RX`` with
one control, Toffoli is ``X`` with two; :data:`ALIASES` maps the usual names to
``(base gate, number of controls)``.

Conventions match Qiskit and PennyLane: ``RY(a) = exp(-i a Y / 2)``,
``U3(t, p, l) = [[cos(t/2), -e^{il} sin(t/2)], [e^{ip} sin(t/2), e^{i(p+l)} cos(t/2)]]``.

>>> import torch
>>> GATES["RY"].build([torch.tensor(torch.pi / 2)], torch.complex64, None).real * 2**0.5
tensor([[ 1.0000, -1.0000],
        [ 1.0000,  1.0000]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch

from ..errors import DTypeError, UnknownGateError

Kind = Literal["dense", "diagonal", "flip", "swap"]


@dataclass(frozen=True)
class GateSpec:
    """A gate of the standard set.

    Attributes:
        name: canonical name, e.g. ``"RX"``.
        n_qubits: number of target qubits (controls not counted).
        n_params: number of real angles.
        kind: how the simulator applies it (see module docstring).
        real: whether its data stays real for real angles (usable on real dtypes).
        builder: ``(params, dtype, device) -> Tensor`` for dense/diagonal gates.
    """

    name: str
    n_qubits: int
    n_params: int
    kind: Kind
    real: bool = False
    builder: Callable[..., torch.Tensor] | None = None

    def build(self, params: Sequence[torch.Tensor], dtype: torch.dtype, device) -> torch.Tensor | None:
        """The gate's matrix or diagonal, batched over the angles' shape."""
        if self.builder is None:
            return None
        if not dtype.is_complex and not self.real:
            raise DTypeError(
                f"gate {self.name} has complex entries and cannot act on a {dtype} state; "
                "use a complex dtype (complex64 or complex128)"
            )
        return self.builder(params, dtype, device)


def _const(rows: list[list[complex]]) -> Callable[..., torch.Tensor]:
    def build(params, dtype, device):
        values = torch.tensor(rows, dtype=torch.complex128)
        return (values if dtype.is_complex else values.real).to(dtype=dtype, device=device)

    return build


def _matrix(entries: list[list[torch.Tensor]]) -> torch.Tensor:
    """Stack a nested list of equally shaped tensors into (..., r, c)."""
    return torch.stack([torch.stack(row, dim=-1) for row in entries], dim=-2)


def _cos_sin(theta: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    half = theta / 2
    return torch.cos(half).to(dtype), torch.sin(half).to(dtype)


def _phase(angle: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return torch.polar(torch.ones_like(angle), angle).to(dtype)


def _rx(params, dtype, device):
    c, s = _cos_sin(params[0], dtype)
    return _matrix([[c, -1j * s], [-1j * s, c]])


def _ry(params, dtype, device):
    c, s = _cos_sin(params[0], dtype)
    return _matrix([[c, -s], [s, c]])


def _rz(params, dtype, device):
    e = _phase(-params[0] / 2, dtype)
    return torch.stack([e, e.conj()], dim=-1)


def _phase_shift(params, dtype, device):
    e = _phase(params[0], dtype)
    return torch.stack([torch.ones_like(e), e], dim=-1)


def _u3(params, dtype, device):
    theta, phi, lam = params
    theta, phi, lam = torch.broadcast_tensors(theta, phi, lam)
    c, s = _cos_sin(theta, dtype)
    return _matrix([[c, -_phase(lam, dtype) * s], [_phase(phi, dtype) * s, _phase(phi + lam, dtype) * c]])


def _rxx(params, dtype, device):
    c, s = _cos_sin(params[0], dtype)
    z = torch.zeros_like(c)
    m = -1j * s
    return _matrix([[c, z, z, m], [z, c, m, z], [z, m, c, z], [m, z, z, c]])


def _ryy(params, dtype, device):
    c, s = _cos_sin(params[0], dtype)
    z = torch.zeros_like(c)
    p, m = 1j * s, -1j * s
    return _matrix([[c, z, z, p], [z, c, m, z], [z, m, c, z], [p, z, z, c]])


def _rzz(params, dtype, device):
    e = _phase(-params[0] / 2, dtype)
    return torch.stack([e, e.conj(), e.conj(), e], dim=-1)


_S2 = 1 / math.sqrt(2)

#: The gate set by name (controlled gates are base gates with controls; see ALIASES).
GATES: dict[str, GateSpec] = {
    g.name: g
    for g in [
        GateSpec("I", 1, 0, "diagonal", True, _const([1, 1])),
        GateSpec("X", 1, 0, "flip", True),
        GateSpec("Y", 1, 0, "dense", False, _const([[0, -1j], [1j, 0]])),
        GateSpec("Z", 1, 0, "diagonal", True, _const([1, -1])),
        GateSpec("H", 1, 0, "dense", True, _const([[_S2, _S2], [_S2, -_S2]])),
        GateSpec("S", 1, 0, "diagonal", False, _const([1, 1j])),
        GateSpec("Sdg", 1, 0, "diagonal", False, _const([1, -1j])),
        GateSpec("T", 1, 0, "diagonal", False, _const([1, complex(_S2, _S2)])),
        GateSpec("Tdg", 1, 0, "diagonal", False, _const([1, complex(_S2, -_S2)])),
        GateSpec("SX", 1, 0, "dense", False, _const([[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]])),
        GateSpec("SXdg", 1, 0, "dense", False, _const([[0.5 - 0.5j, 0.5 + 0.5j], [0.5 + 0.5j, 0.5 - 0.5j]])),
        GateSpec("RX", 1, 1, "dense", False, _rx),
        GateSpec("RY", 1, 1, "dense", True, _ry),
        GateSpec("RZ", 1, 1, "diagonal", False, _rz),
        GateSpec("PhaseShift", 1, 1, "diagonal", False, _phase_shift),
        GateSpec("U3", 1, 3, "dense", False, _u3),
        GateSpec("SWAP", 2, 0, "swap", True),
        GateSpec("RXX", 2, 1, "dense", False, _rxx),
        GateSpec("RYY", 2, 1, "dense", False, _ryy),
        GateSpec("RZZ", 2, 1, "diagonal", False, _rzz),
    ]
}

#: Usual names of controlled gates -> (base gate, number of controls).
ALIASES: dict[str, tuple[str, int]] = {
    "CNOT": ("X", 1),
    "CX": ("X", 1),
    "CY": ("Y", 1),
    "CZ": ("Z", 1),
    "CH": ("H", 1),
    "CRX": ("RX", 1),
    "CRY": ("RY", 1),
    "CRZ": ("RZ", 1),
    "CPhase": ("PhaseShift", 1),
    "CSWAP": ("SWAP", 1),
    "Toffoli": ("X", 2),
    "CCX": ("X", 2),
    "CCZ": ("Z", 2),
    "P": ("PhaseShift", 0),
    "U": ("U3", 0),
}

#: Gates with a generator G such that gate(t) = exp(-i t G / 2) up to phase (used for shift rules).
ROTATIONS = frozenset({"RX", "RY", "RZ", "RXX", "RYY", "RZZ", "PhaseShift"})


def resolve(name: str) -> tuple[GateSpec, int]:
    """Look a gate name up: ``(spec, number of controls implied by the name)``.

    >>> resolve("CRX")[0].name, resolve("CRX")[1]
    ('RX', 1)
    """
    if not isinstance(name, str):
        raise UnknownGateError(f"a gate name must be a string such as 'RX' or 'CNOT', got {name!r}")
    if name in GATES:
        return GATES[name], 0
    base = ALIASES.get(name)
    if base is None:
        lowered = {k.lower(): k for k in [*GATES, *ALIASES]}
        if name.lower() in lowered:
            return resolve(lowered[name.lower()])
        raise UnknownGateError(
            f"unknown gate {name!r}; known gates: {', '.join(sorted([*GATES, *ALIASES]))}, "
            "plus 'Unitary', 'Diagonal' and 'PauliRot' for custom gates"
        )
    return GATES[base[0]], base[1]
