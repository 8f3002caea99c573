"""The gate set: one record per gate holding everything about it.

Each gate is a :class:`GateSpec`: arity, matrix builder, inverse, generator and parameter-shift
rules, and its names in Qiskit, Cirq, PennyLane and OpenQASM (:class:`Names`). The converters
of :mod:`hybridq.circuits.interop`, :meth:`~hybridq.circuits.circuit.Operation.inverse`
and the backends' shift-rule gradients read these records; adding a gate is one entry here
plus its row in the consistency test (``tests/sim/test_gate_records.py``).

Its ``build(params, dtype, device)`` turns angle tensors
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

import functools
import math
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch

from ..errors import DTypeError, UnknownGateError

Kind = Literal["dense", "diagonal", "flip", "swap"]


@dataclass(frozen=True)
class ShiftRule:
    """``f'(t) = sum_k coeffs[k] f(t + shifts[k])`` for an expectation ``f`` of a gate angle ``t``."""

    shifts: tuple[float, ...]
    coeffs: tuple[float, ...]


_D_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_D_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
#: Generators with two eigenvalues 1 apart (rotations exp(-i t P / 2), phase gates).
TWO_TERM = ShiftRule((math.pi / 2, -math.pi / 2), (0.5, -0.5))
#: Generators with eigenvalues 0 and +-1/2: controlled rotations (Anselmetti et al., 2021).
FOUR_TERM = ShiftRule((math.pi / 2, -math.pi / 2, 3 * math.pi / 2, -3 * math.pi / 2),
                      (_D_PLUS, -_D_PLUS, -_D_MINUS, _D_MINUS))


@dataclass(frozen=True)
class Names:
    """A gate's names in other frameworks (same matrix, same angles in radians).

    Attributes:
        qiskit: classes of ``qiskit.circuit.library``: the one written, then others read as it.
        cirq: the Cirq gate as an expression of ``cirq``, ``pi`` and the angle ``a`` (None: written
            as other gates).
        pennylane: operation names: the one written (``"Adjoint(S)"``: an adjoint), then others read.
        qasm2: OpenQASM 2 names (Qiskit's ``qelib1.inc``) by number of controls (None: none).
        qasm3: OpenQASM 3 names (``stdgates.inc``) by number of controls (None: ``ctrl @``).
    """

    qiskit: tuple[str, ...]
    cirq: str | None
    pennylane: tuple[str, ...]
    qasm2: tuple[str | None, ...]
    qasm3: tuple[str | None, ...]


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
        names: its names in Qiskit, Cirq, PennyLane and OpenQASM.
        inverse: the inverse gate's name (None: the gate itself), with the angles negated and
            taken in the order ``inverse_order`` (None: the same order).
        generator: for a one-angle gate, Pauli terms ``(label, coeff)`` of ``G`` with
            ``gate(t) = exp(-i t G)``.
        shift: a shift rule per angle, without controls; ``controlled_shift``: with controls.
    """

    name: str
    n_qubits: int
    n_params: int
    kind: Kind
    real: bool = False
    builder: Callable[..., torch.Tensor] | None = None
    names: Names | None = None
    inverse: str | None = None
    inverse_order: tuple[int, ...] | None = None
    generator: tuple[tuple[str, float], ...] | None = None
    shift: tuple[ShiftRule, ...] = ()
    controlled_shift: tuple[ShiftRule, ...] = ()

    def inverse_of(self, params: Sequence) -> tuple[str, tuple]:
        """``(name, angles)`` of the inverse gate (angles may be numbers or expressions).

        >>> GATES["U3"].inverse_of((1.0, 2.0, 3.0))
        ('U3', (-1.0, -3.0, -2.0))
        """
        order = self.inverse_order or range(len(params))
        return self.inverse or self.name, tuple(-params[i] for i in order)

    @functools.cached_property
    def zero_parts(self) -> str | None:
        """For a dense gate, the parts of its matrix that are zero at every angle (and so in every
        derivative by an angle: a gradient of the matrix there is never read): ``"real"`` every
        imaginary part (RY, H), ``"cross"`` all but the diagonal's real and the anti-diagonal's
        imaginary parts (RX, Y; on two targets RXX, RYY: each amplitude mixes with one other);
        None for other gates and patterns (U3: real at some angles only). Read off the builder at
        a few random angles.

        >>> GATES["RX"].zero_parts, GATES["RY"].zero_parts, GATES["U3"].zero_parts, GATES["RXX"].zero_parts
        ('cross', 'real', None, 'cross')
        """
        if self.kind != "dense":
            return None
        angles = torch.rand(self.n_params, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        m = self.build(list(angles * 4 * math.pi - 2 * math.pi), torch.complex128, None)
        if not m.imag.any():
            return "real"
        diagonal = torch.eye(2**self.n_qubits, dtype=torch.bool)
        anti = diagonal.flip(-1)
        if not m[..., ~(diagonal | anti)].any() and not m[..., diagonal].imag.any() and not m[..., anti].real.any():
            return "cross"
        return None

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
    """A builder of a fixed matrix, made once per dtype and device: later calls make no
    host-to-device copy, so a step that builds it can be captured as a CUDA graph."""
    made: dict[tuple, torch.Tensor] = {}

    def build(params, dtype, device):
        key = (dtype, torch.device(device or "cpu"))
        if key not in made:
            values = torch.tensor(rows, dtype=torch.complex128)
            made[key] = (values if dtype.is_complex else values.real).to(dtype=dtype, device=key[1])
        return made[key]

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


def _names(qiskit, cirq, pennylane, qasm2, qasm3) -> Names:
    as_tuple = lambda v: v if isinstance(v, tuple) else (v,)  # noqa: E731
    return Names(as_tuple(qiskit), cirq, as_tuple(pennylane), as_tuple(qasm2), as_tuple(qasm3))


def _rotation(name, n_qubits, kind, real, builder, names, pauli: str) -> GateSpec:
    """``exp(-i t P / 2)``: generator ``P / 2``, two-term rule, four-term with controls."""
    return GateSpec(name, n_qubits, 1, kind, real, builder, names, generator=((pauli, 0.5),),
                    shift=(TWO_TERM,), controlled_shift=(FOUR_TERM,))


def _fixed(name, n_qubits, kind, real, rows, names, inverse=None) -> GateSpec:
    return GateSpec(name, n_qubits, 0, kind, real, None if rows is None else _const(rows), names, inverse)


#: The gate set by name (controlled gates are base gates with controls; see ALIASES).
GATES: dict[str, GateSpec] = {
    g.name: g
    for g in [
        _fixed("I", 1, "diagonal", True, [1, 1], _names("IGate", "cirq.I", "Identity", "id", "id")),
        _fixed("X", 1, "flip", True, None, _names("XGate", "cirq.X", ("PauliX", "X"),
                                                  ("x", "cx", "ccx", "c3x", "c4x"), ("x", "cx", "ccx"))),
        _fixed("Y", 1, "dense", False, [[0, -1j], [1j, 0]], _names("YGate", "cirq.Y", ("PauliY", "Y"),
                                                                   ("y", "cy"), ("y", "cy"))),
        _fixed("Z", 1, "diagonal", True, [1, -1], _names("ZGate", "cirq.Z", ("PauliZ", "Z"), ("z", "cz"), ("z", "cz"))),
        _fixed("H", 1, "dense", True, [[_S2, _S2], [_S2, -_S2]], _names("HGate", "cirq.H", "Hadamard", ("h", "ch"),
                                                                        ("h", "ch"))),
        _fixed("S", 1, "diagonal", False, [1, 1j], _names("SGate", "cirq.S", "S", "s", "s"), "Sdg"),
        _fixed("Sdg", 1, "diagonal", False, [1, -1j], _names("SdgGate", "cirq.S**-1", "Adjoint(S)", "sdg", "sdg"), "S"),
        _fixed("T", 1, "diagonal", False, [1, complex(_S2, _S2)], _names("TGate", "cirq.T", "T", "t", "t"), "Tdg"),
        _fixed("Tdg", 1, "diagonal", False, [1, complex(_S2, -_S2)],
               _names("TdgGate", "cirq.T**-1", "Adjoint(T)", "tdg", "tdg"), "T"),
        _fixed("SX", 1, "dense", False, [[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]],
               _names("SXGate", "cirq.X**0.5", "SX", ("sx", "csx"), "sx"), "SXdg"),
        _fixed("SXdg", 1, "dense", False, [[0.5 - 0.5j, 0.5 + 0.5j], [0.5 + 0.5j, 0.5 - 0.5j]],
               _names("SXdgGate", "cirq.X**-0.5", "Adjoint(SX)", "sxdg", "inv @ sx"), "SX"),
        _rotation("RX", 1, "dense", False, _rx, _names("RXGate", "cirq.rx(a)", "RX", ("rx", "crx"), ("rx", "crx")), "X"),
        _rotation("RY", 1, "dense", True, _ry, _names("RYGate", "cirq.ry(a)", "RY", ("ry", "cry"), ("ry", "cry")), "Y"),
        _rotation("RZ", 1, "diagonal", False, _rz, _names("RZGate", "cirq.rz(a)", "RZ", ("rz", "crz"), ("rz", "crz")),
                  "Z"),
        GateSpec("PhaseShift", 1, 1, "diagonal", False, _phase_shift,
                 _names(("PhaseGate", "U1Gate"), "cirq.ZPowGate(exponent=a / pi)", "PhaseShift", ("u1", "cu1"),
                        ("p", "cp")),
                 generator=(("I", -0.5), ("Z", 0.5)), shift=(TWO_TERM,), controlled_shift=(TWO_TERM,)),
        GateSpec("U3", 1, 3, "dense", False, _u3,
                 _names(("UGate", "U3Gate"), None, "U3", ("u3", "cu3"), "u3"),
                 inverse_order=(0, 2, 1), shift=(TWO_TERM,) * 3, controlled_shift=(FOUR_TERM, TWO_TERM, TWO_TERM)),
        _fixed("SWAP", 2, "swap", True, None, _names("SwapGate", "cirq.SWAP", "SWAP", ("swap", "cswap"),
                                                     ("swap", "cswap"))),
        _rotation("RXX", 2, "dense", False, _rxx,
                  _names("RXXGate", "cirq.XXPowGate(exponent=a / pi, global_shift=-0.5)", "IsingXX", "rxx", None),
                  "XX"),
        _rotation("RYY", 2, "dense", False, _ryy,
                  _names("RYYGate", "cirq.YYPowGate(exponent=a / pi, global_shift=-0.5)", "IsingYY", None, None),
                  "YY"),
        _rotation("RZZ", 2, "diagonal", False, _rzz,
                  _names("RZZGate", "cirq.ZZPowGate(exponent=a / pi, global_shift=-0.5)", "IsingZZ", "rzz", None),
                  "ZZ"),
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
