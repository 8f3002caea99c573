"""Validated gate application: the simulator's public boundary.

Builds :class:`~hybridq.sim.program.Op` values from gate names and angles, or from user
matrices, checking qubit indices, angle shapes, unitarity, dtypes and devices before any work.

Angles may be Python floats, 0-d tensors (shared by the batch) or ``(B,)`` tensors (one per
sample); all are differentiable.

>>> import torch
>>> from hybridq.sim import zero_state, probabilities
>>> psi = apply_gate(zero_state(2), "H", [0])
>>> psi = apply_gate(psi, "CNOT", [0, 1])
>>> probabilities(psi)
tensor([[0.5000, 0.0000, 0.0000, 0.5000]])
"""

from __future__ import annotations

from typing import Sequence

import torch

from ..checks import check_dtype
from ..errors import DTypeError, NotUnitaryError, QubitIndexError, ShapeError
from .gates import resolve
from .kernels import n_qubits_of
from .program import Op

Tensor = torch.Tensor
Angle = float | Tensor


_REAL = {torch.complex32: torch.float16, torch.complex64: torch.float32, torch.complex128: torch.float64}


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    """The real dtype matching a state dtype (complex64 -> float32)."""
    return _REAL.get(dtype, dtype)  # a lookup: cheap, and traceable by torch.compile


def check_state(state: Tensor) -> int:
    """Validate a ``(B, 2**n)`` state batch and return ``n``."""
    if not isinstance(state, torch.Tensor):
        raise ShapeError(f"state must be a torch.Tensor of shape (B, 2**n), got {type(state).__name__}")
    if state.dim() != 2 or state.shape[1] & (state.shape[1] - 1) or state.shape[1] == 0:
        raise ShapeError(f"state must have shape (B, 2**n), got {tuple(state.shape)}; use state.reshape(1, -1) for one state")
    check_dtype(state.dtype)
    return n_qubits_of(state)


def check_qubits(qubits: Sequence[int], n_qubits: int, what: str = "qubit") -> tuple[int, ...]:
    """Validate qubit indices: integers in range, no repeats."""
    out = []
    for q in qubits:
        if isinstance(q, bool) or not isinstance(q, int) and not (hasattr(q, "__index__")):
            raise QubitIndexError(f"{what} indices must be integers, got {q!r}")
        q = int(q)
        if not 0 <= q < n_qubits:
            raise QubitIndexError(f"{what} index {q} out of range for {n_qubits} qubit(s) (valid: 0..{n_qubits - 1})")
        out.append(q)
    if len(set(out)) != len(out):
        raise QubitIndexError(f"repeated {what} in {list(out)}")
    return tuple(out)


def qubits_or_all(qubits: Sequence[int] | None, n_qubits: int) -> list[int]:
    """``qubits`` validated (:func:`check_qubits`), or all ``n_qubits`` qubits when None."""
    return list(range(n_qubits)) if qubits is None else list(check_qubits(qubits, n_qubits))


def check_wires(qubits: Sequence[int], controls: Sequence[int], n_qubits: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Validate targets and controls together: in range, distinct, not overlapping."""
    qubits = check_qubits(qubits, n_qubits)
    controls = check_qubits(controls, n_qubits, "control")
    if set(controls) & set(qubits):
        raise QubitIndexError(f"controls {list(controls)} overlap targets {list(qubits)}")
    return qubits, controls


def on_device(tensor: Tensor, device) -> bool:
    """Whether ``tensor`` lies on ``device`` (``"cuda"`` names the current CUDA device).

    >>> on_device(torch.zeros(1), "cpu")
    True
    """
    want = torch.device(device)
    if want.type != tensor.device.type:  # decided before asking CUDA, which a CPU-only torch lacks
        return False
    if want.type == "cuda" and want.index is None:
        want = torch.device("cuda", torch.cuda.current_device())
    return tensor.device == want


def angle_tensor(value: Angle, batch: int, dtype: torch.dtype, device) -> Tensor:
    """An angle as a real tensor of shape ``()`` or ``(B,)`` on the state's device."""
    rdt = real_dtype(dtype)
    if not isinstance(value, torch.Tensor):
        try:
            return torch.tensor(float(value), dtype=rdt, device=device)
        except (TypeError, ValueError):
            raise ShapeError(f"an angle must be a number or a tensor, got {value!r}") from None
    if value.is_complex():
        raise DTypeError(f"angles must be real, got a {value.dtype} tensor")
    if device is not None and not on_device(value, device):
        raise DTypeError(f"angle is on {value.device} but the state is on {device}; move one of them")
    if value.dim() > 1 or (value.dim() == 1 and value.shape[0] not in (batch, 1) and batch != 1):
        raise ShapeError(
            f"an angle must be a scalar or have shape ({batch},) (one per sample), got {tuple(value.shape)}"
        )
    if value.dim() == 1 and value.shape[0] == 1:
        value = value[0]
    return value.to(rdt)


def gate_op(
    name: str,
    qubits: Sequence[int],
    params: Sequence[Angle] = (),
    *,
    n_qubits: int,
    batch: int = 1,
    controls: Sequence[int] = (),
    control_values: Sequence[int] | None = None,
    dtype: torch.dtype = torch.complex64,
    device=None,
) -> Op:
    """Build the :class:`Op` for a named gate, validating everything first."""
    spec, implied = resolve(name)
    qubits = tuple(qubits)
    if implied:
        if controls:
            raise QubitIndexError(f"{name} already implies {implied} control(s); pass them in `qubits`, not `controls`")
        controls, qubits = qubits[:implied], qubits[implied:]
    if len(qubits) != spec.n_qubits:
        raise QubitIndexError(f"{name} acts on {spec.n_qubits + implied} qubit(s), got {len(qubits) + implied}")
    if len(params) != spec.n_params:
        raise ShapeError(f"{name} takes {spec.n_params} angle(s), got {len(params)}")
    qubits, controls = check_wires(qubits, controls, n_qubits)
    angles = [angle_tensor(p, batch, dtype, device) for p in params]
    data = spec.build(angles, dtype, device)
    return Op(spec.kind, qubits, controls, _values(control_values, controls), data, real=spec.real)


def _values(control_values: Sequence[int] | None, controls: Sequence[int]) -> tuple[int, ...] | None:
    if control_values is None:
        return None
    values = tuple(int(v) for v in control_values)
    if len(values) != len(controls) or any(v not in (0, 1) for v in values):
        raise ShapeError(f"control_values must be {len(controls)} bits (0 or 1), got {list(control_values)}")
    return values


def matrix_op(
    matrix,
    qubits: Sequence[int],
    *,
    n_qubits: int,
    batch: int = 1,
    controls: Sequence[int] = (),
    control_values: Sequence[int] | None = None,
    dtype: torch.dtype = torch.complex64,
    device=None,
    diagonal: bool = False,
    check_unitary: bool = True,
    atol: float | None = None,
) -> Op:
    """Build the :class:`Op` for a user matrix ``(2**k, 2**k)`` / ``(B, 2**k, 2**k)`` or diagonal."""
    qubits, controls = check_wires(qubits, controls, n_qubits)
    m = torch.as_tensor(matrix, device=device)
    if device is not None and not on_device(m, device):
        raise DTypeError(f"matrix is on {m.device} but the state is on {device}")
    if m.is_complex() and not dtype.is_complex:
        if bool((m.detach().imag != 0).any()):
            raise DTypeError(f"the matrix has complex entries and cannot act on a {dtype} state; use a complex dtype")
        m = m.real
    m = m.to(dtype)
    size = 2 ** len(qubits)
    rank = 1 if diagonal else 2
    expect = f"({size},)" if diagonal else f"({size}, {size})"
    if m.dim() not in (rank, rank + 1) or tuple(m.shape[-rank:]) != (size,) * rank:
        raise ShapeError(f"a {'diagonal' if diagonal else 'matrix'} on {len(qubits)} qubit(s) must have shape {expect} or (B, *{expect}), got {tuple(m.shape)}")
    if m.dim() == rank + 1 and m.shape[0] not in (batch, 1) and batch != 1:
        raise ShapeError(f"per-sample {'diagonals' if diagonal else 'matrices'} must have batch {batch}, got {m.shape[0]}")
    if check_unitary:
        _check_unitary(m, diagonal, atol)
    return Op("diagonal" if diagonal else "dense", qubits, controls, _values(control_values, controls), m)


def _check_unitary(m: Tensor, diagonal: bool, atol: float | None) -> None:
    d = m.detach()
    tol = atol if atol is not None else (1e-4 if d.dtype in (torch.complex64, torch.float32) else 1e-8)
    if diagonal:
        err = float((d.abs() - 1).abs().max())
    else:
        eye = torch.eye(d.shape[-1], dtype=d.dtype, device=d.device)
        err = float((d @ d.conj().transpose(-1, -2) - eye).abs().max())
    if err > tol:
        raise NotUnitaryError(
            f"the {'diagonal' if diagonal else 'matrix'} is not unitary (max deviation {err:.3g} > {tol:g}); "
            "pass check_unitary=False to apply it anyway"
        )


def pauli_rotation_op(
    theta: Angle,
    pauli: str,
    qubits: Sequence[int],
    *,
    n_qubits: int,
    batch: int = 1,
    controls: Sequence[int] = (),
    dtype: torch.dtype = torch.complex64,
    device=None,
) -> Op:
    """Build the :class:`Op` for ``exp(-i theta/2 P)``."""
    pauli = pauli.upper()
    if len(pauli) != len(qubits) or set(pauli) - set("IXYZ"):
        raise ShapeError(f"Pauli string must use I, X, Y, Z and match {len(qubits)} qubit(s), got {pauli!r}")
    if not dtype.is_complex:
        raise DTypeError(f"Pauli rotations need a complex state, got {dtype}")
    qubits, controls = check_wires(qubits, controls, n_qubits)
    return Op("pauli_rotation", qubits, controls, None, angle_tensor(theta, batch, dtype, device), pauli)


def _apply(op: Op, state: Tensor) -> Tensor:
    """``op`` on ``state``; an empty batch comes back as it is (the kernels take no empty tensors)."""
    return state.clone() if state.shape[0] == 0 else op.apply(state)


def apply_gate(
    state: Tensor, name: str, qubits: Sequence[int], *params: Angle, controls: Sequence[int] = ()
) -> Tensor:
    """Apply a named gate (``"RX"``, ``"CNOT"``, ``"Toffoli"``, ...) to a state batch.

    >>> from hybridq.sim import zero_state
    >>> apply_gate(zero_state(1), "RY", [0], torch.pi)[0].real.round().tolist()
    [0.0, 1.0]
    """
    n = check_state(state)
    op = gate_op(name, qubits, params, n_qubits=n, batch=state.shape[0], controls=controls,
                 dtype=state.dtype, device=state.device)
    return _apply(op, state)


def apply_matrix(state: Tensor, matrix, qubits: Sequence[int], *, controls: Sequence[int] = (), check_unitary: bool = True) -> Tensor:
    """Apply a ``(2**k, 2**k)`` matrix, or one per sample ``(B, 2**k, 2**k)``, to ``qubits``.

    >>> from hybridq.sim import zero_state
    >>> x = torch.tensor([[0, 1], [1, 0]])
    >>> apply_matrix(zero_state(2), x, [1])[0].real.tolist()
    [0.0, 1.0, 0.0, 0.0]
    """
    n = check_state(state)
    op = matrix_op(matrix, qubits, n_qubits=n, batch=state.shape[0], controls=controls, dtype=state.dtype,
                   device=state.device, check_unitary=check_unitary)
    return _apply(op, state)


def apply_diagonal(state: Tensor, diagonal, qubits: Sequence[int], *, controls: Sequence[int] = (), check_unitary: bool = True) -> Tensor:
    """Multiply by a diagonal gate ``(2**k,)`` or ``(B, 2**k)`` on ``qubits``."""
    n = check_state(state)
    op = matrix_op(diagonal, qubits, n_qubits=n, batch=state.shape[0], controls=controls, dtype=state.dtype,
                   device=state.device, diagonal=True, check_unitary=check_unitary)
    return _apply(op, state)


def apply_pauli_rotation(state: Tensor, theta: Angle, pauli: str, qubits: Sequence[int], *, controls: Sequence[int] = ()) -> Tensor:
    """Apply ``exp(-i theta/2 P)`` for a Pauli string ``P`` such as ``"XYZ"`` on ``qubits``."""
    n = check_state(state)
    op = pauli_rotation_op(theta, pauli, qubits, n_qubits=n, batch=state.shape[0], controls=controls,
                           dtype=state.dtype, device=state.device)
    return _apply(op, state)
