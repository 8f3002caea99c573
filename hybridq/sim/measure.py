"""Read-outs of a state batch: probabilities, samples, Pauli expectations, reduced density matrices.

Pauli-sum expectations group the terms by their X/Y flip mask ``x``. For a group,
``v = conj(psi) * psi[i ^ x]`` is one gather; each term's value is then the signed sum
``sum_i v[i] (-1)^{popcount(i & z)}`` times ``(-i)^{#Y}``. The sign factorises over the high
and low halves of the index bits, so a group costs one ``(B, 2**h, 2**l) @ (2**l, U)`` product
(``U`` = distinct low Z patterns) plus a small contraction: no ``2**n x terms`` table is built.

Observables are duck-typed: anything with ``n_qubits`` and numpy bool arrays ``x``, ``z`` of
shape ``(T, n)`` (column i = qubit i) and ``coeffs`` of shape ``(T,)``, as
:class:`hybridq.operators.PauliSum`.

>>> import torch
>>> psi = torch.tensor([[1, 0, 0, 1]], dtype=torch.complex64) / 2 ** 0.5
>>> probabilities(psi, [1])
tensor([[0.5000, 0.5000]])
>>> expval_z(psi)
tensor([[0., 0.]])
"""

from __future__ import annotations

import functools
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from ..checks import check_count, check_dtype, check_finite, under_torch_func
from ..errors import ShapeError
from ..qubit_order import bits_to_index, index_to_bits
from . import native
from .fused import attached_z
from .kernels import n_qubits_of
from .ops import qubits_or_all

Tensor = torch.Tensor


def _check(state: Tensor) -> int:
    if not isinstance(state, torch.Tensor) or state.dim() != 2 or state.shape[1] & (state.shape[1] - 1):
        shape = tuple(state.shape) if isinstance(state, torch.Tensor) else type(state).__name__
        raise ShapeError(f"state must be a tensor of shape (B, 2**n), got {shape}")
    check_dtype(state.dtype)
    return n_qubits_of(state)


def _native_readout(state: Tensor, name: str):
    """The native read-out kernel ``name`` (``measure.c``) for a contiguous CPU ``state``, or None
    (then torch's ops).

    On 2 cores at 16 qubits and a batch of 256, ``|psi|**2`` takes 17 ms forward and 32 ms backward
    against 63 ms and 83 ms for torch's (strided) elementwise ops.
    """
    if torch.compiler.is_compiling() or under_torch_func(state):  # traced / transformed: torch's ops
        return None
    lib = native.library() if state.device.type == "cpu" and state.is_contiguous() and state.numel() else None
    if lib is None or state.dtype not in (torch.complex64, torch.complex128):
        return None
    return native.kernel(name, state.dtype)


class _SquaredModulus(torch.autograd.Function):
    """``|psi|**2`` with a one-pass backward ``2 g psi`` (autograd's takes five passes over the
    state through ``real``, ``imag`` and ``square``; this is the hot read-out of training)."""

    @staticmethod
    def forward(ctx, state):
        ctx.save_for_backward(state)
        kernel = _native_readout(state, "squared_modulus")
        if kernel is None:
            return state.real.square() + state.imag.square()
        out = torch.empty(state.shape, dtype=state.real.dtype)
        kernel(state.data_ptr(), out.data_ptr(), state.numel(), torch.get_num_threads())
        return out

    @staticmethod
    def backward(ctx, grad):
        (state,) = ctx.saved_tensors
        kernel = _native_readout(state, "squared_modulus_backward")
        if kernel is None or grad.dtype != state.real.dtype:
            return state * (2 * grad)
        grad, out = grad.contiguous(), torch.empty_like(state)
        kernel(state.data_ptr(), grad.data_ptr(), out.data_ptr(), state.numel(), torch.get_num_threads())
        return out


def probabilities(state: Tensor, qubits: Sequence[int] | None = None) -> Tensor:
    """Probabilities of the outcomes on ``qubits`` (all by default): shape ``(B, 2**k)``.

    ``qubits[0]`` is the most significant bit of the outcome index.
    """
    n = _check(state)
    qubits = qubits_or_all(qubits, n)
    if not state.is_complex():
        p = state.square()
    elif under_torch_func(state):  # torch.func cannot transform a custom autograd function
        p = state.real.square() + state.imag.square()
    else:
        p = _SquaredModulus.apply(state)
    if qubits == list(range(n)):
        return p
    p = p.reshape((state.shape[0],) + (2,) * n)
    rest = [1 + q for q in range(n) if q not in qubits]
    if rest:
        p = p.sum(dim=rest)
    kept = sorted(qubits)
    p = p.permute(0, *(1 + kept.index(q) for q in qubits))
    return p.reshape(state.shape[0], 2 ** len(qubits))


def sample(
    state: Tensor,
    shots: int,
    *,
    qubits: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """Draw ``shots`` outcomes per state: int64 indices of shape ``(B, shots)``.

    Args:
        state: ``(B, 2**n)`` states.
        shots: samples per state.
        qubits: measured qubits (all by default); ``qubits[0]`` is the most significant bit.
        generator: a ``torch.Generator`` on the state's device, or ``seed`` to make one.
            With the same seed, device and torch version the samples are identical.

    >>> psi = torch.tensor([[0, 1]], dtype=torch.complex64)
    >>> sample(psi, 3, seed=1).tolist()
    [[1, 1, 1]]
    """
    shots = check_count(shots, "shots")
    p = probabilities(state.detach(), qubits)
    check_finite(p, "the state's probabilities")
    if generator is None and seed is not None:
        generator = torch.Generator(device=state.device).manual_seed(int(seed))
    p = p.to(torch.float64) if p.device.type == "cpu" else p
    return torch.multinomial(p, shots, replacement=True, generator=generator)


def expval_z(state: Tensor, qubits: Sequence[int] | None = None) -> Tensor:
    """``<Z_q>`` for each qubit in ``qubits`` (all by default): shape ``(B, k)``.

    States from the CPU's fused kernels come with their ``<Z>`` read (:func:`hybridq.sim.fused.attach_z`); on a CPU
    with the native kernels, otherwise, one pass over the states forward and one backward
    (``measure.c``); elsewhere one matmul of the probabilities with a ``(2**n, k)`` table of signs.
    """
    n = _check(state)
    qubits = qubits_or_all(qubits, n)
    z = attached_z(state)
    if z is None and _native_readout(state, "expval_z") is not None:
        z = _ExpvalZ.apply(state)
    if z is not None:
        return z if qubits == list(range(n)) else z[:, qubits]
    if state.is_complex() and not torch.compiler.is_compiling() and not under_torch_func(state):
        return _SignedSquares.apply(state, *_z_sign_pairs(n, tuple(qubits), state.real.dtype, state.device))
    p = probabilities(state)
    return p @ _z_signs(n, tuple(qubits), p.dtype, p.device)


class _SignedSquares(torch.autograd.Function):
    """``|psi|**2 @ signs`` of complex states in two ops forward and two backward (``dL/dpsi =
    2 psi (g @ signs^T)``), on the real view of the states: autograd's chain through
    :func:`probabilities` takes seven small kernels, which on a GPU cost more than the arithmetic."""

    @staticmethod
    def forward(ctx, state, pairs, twice_transposed):
        real = torch.view_as_real(state.detach())  # (B, N, 2)
        ctx.save_for_backward(real, twice_transposed)
        return real.square().flatten(1) @ pairs

    @staticmethod
    def backward(ctx, grad):
        real, twice_transposed = ctx.saved_tensors
        spread = (grad.to(real.dtype) @ twice_transposed).unsqueeze(-1)  # (B, N, 1)
        return torch.view_as_complex(real * spread), None, None


@functools.lru_cache(maxsize=16)
def _z_sign_pairs(n: int, qubits: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """What :class:`_SignedSquares` reads: the signs once per real and imaginary part ``(2 * 2**n, k)``, and
    twice their transpose ``(k, 2**n)``."""
    signs = _z_signs(n, qubits, dtype, device)
    return signs.repeat_interleave(2, dim=0), (2 * signs.T).contiguous()


class _ExpvalZ(torch.autograd.Function):
    """Every qubit's ``<Z>`` of contiguous CPU states, by the native kernels (see :func:`expval_z`)."""

    @staticmethod
    def forward(ctx, state):
        ctx.save_for_backward(state)
        out = torch.empty(state.shape[0], n_qubits_of(state), dtype=state.real.dtype)
        _native_readout(state, "expval_z")(state.data_ptr(), out.data_ptr(), state.shape[0], out.shape[1],
                                           torch.get_num_threads())
        return out

    @staticmethod
    def backward(ctx, grad):
        (state,) = ctx.saved_tensors
        grad, out = grad.to(state.real.dtype).contiguous(), torch.empty_like(state)
        _native_readout(state, "expval_z_backward")(state.data_ptr(), grad.data_ptr(), out.data_ptr(), state.shape[0],
                                                    grad.shape[1], torch.get_num_threads())
        return out


def z_sign_table(z: np.ndarray, *, dtype: torch.dtype = torch.float64, device=None) -> Tensor:
    """``(-1)**popcount(i & z_t)`` for every basis index ``i``: shape ``(2**n, T)``.

    ``z`` is a bool ``(T, n)`` array of Z masks (column 0 = qubit 0 = most significant bit).

    >>> z_sign_table(np.array([[True, False]])).flatten().tolist()
    [1.0, 1.0, -1.0, -1.0]
    """
    z = np.asarray(z, dtype=bool)
    n = z.shape[1]
    bits = index_to_bits(torch.arange(2**n, device=device), n)
    parity = (bits.to(torch.float64) @ torch.tensor(z, dtype=torch.float64, device=device).T) % 2
    return (1 - 2 * parity).to(dtype)


@functools.lru_cache(maxsize=16)
def _z_signs(n: int, qubits: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    return z_sign_table(np.eye(n, dtype=bool)[list(qubits)], dtype=dtype, device=device)


@dataclass(frozen=True)
class _Group:
    x: int
    terms: Tensor  # term indices in this group, (Tg,)
    lo_patterns: Tensor  # signs of the distinct low Z patterns, (2**l, U)
    lo_index: Tensor  # which pattern each term uses, (Tg,)
    hi_signs: Tensor  # (2**h, Tg)
    phase: Tensor  # (-i)^{#Y} per term, (Tg,)


@dataclass(frozen=True)
class _Plan:
    n: int
    low: int
    groups: tuple[_Group, ...]
    n_terms: int
    moved: dict = field(default_factory=dict, compare=False)  # (device, dtype) -> tensors there


def _moved(plan: _Plan, device: torch.device, cdt: torch.dtype) -> tuple[Tensor, list[tuple[Tensor, ...]]]:
    """The plan's tables on ``device``, moved once (per call: no host copies, graph-capturable)."""
    key = (device, cdt)
    if key not in plan.moved:
        rdt = torch.empty(0, dtype=cdt).real.dtype
        plan.moved[key] = (torch.arange(2**plan.n, device=device), [
            (g.lo_patterns.to(device, cdt), g.lo_index.to(device), g.hi_signs.to(device, rdt),
             g.phase.to(device, cdt), g.terms.to(device)) for g in plan.groups])
    return plan.moved[key]


#: Plans by the identity of their observable (alive): equal Pauli sums may list their terms in
#: another order, and a plan fixes the order of the outputs.
_PLANS: dict[int, tuple[weakref.ref, _Plan]] = {}


def parity_signs(indices: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``(-1)**popcount(index & mask)``: float64 table of shape ``(len(indices), len(masks))``.

    >>> parity_signs(np.arange(4), np.array([1, 3])).tolist()
    [[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]
    """
    both = np.asarray(indices, dtype=np.int64)[:, None] & np.asarray(masks, dtype=np.int64)[None, :]
    parity = np.zeros(both.shape, dtype=np.int64)
    while both.any():
        parity ^= both & 1
        both >>= 1
    return 1.0 - 2.0 * parity

def _plan(observable) -> _Plan:
    cached = _PLANS.get(id(observable))
    if cached is not None and cached[0]() is observable:
        return cached[1]
    x = np.asarray(observable.x, dtype=bool)
    z = np.asarray(observable.z, dtype=bool)
    n = int(observable.n_qubits)
    if x.shape != z.shape or x.ndim != 2 or x.shape[1] != n:
        raise ShapeError(f"observable masks must have shape (T, {n}), got x {x.shape} and z {z.shape}")
    xi, zi = bits_to_index(x), bits_to_index(z)
    n_y = (x & z).sum(axis=1)
    low = n // 2
    lo_mask = (1 << low) - 1
    groups = []
    for xm in np.unique(xi):
        terms = np.nonzero(xi == xm)[0]
        z_lo = zi[terms] & lo_mask
        patterns, lo_index = np.unique(z_lo, return_inverse=True)
        phase = (-1j) ** n_y[terms]
        groups.append(
            _Group(
                x=int(xm),
                terms=torch.as_tensor(terms),
                lo_patterns=torch.as_tensor(parity_signs(np.arange(1 << low), patterns)),
                lo_index=torch.as_tensor(lo_index.reshape(-1)),
                hi_signs=torch.as_tensor(parity_signs(np.arange(1 << (n - low)), zi[terms] >> low)),
                phase=torch.as_tensor(phase),
            )
        )
    plan = _Plan(n, low, tuple(groups), len(xi))
    try:
        key = id(observable)
        _PLANS[key] = (weakref.ref(observable, lambda _, key=key: _PLANS.pop(key, None)), plan)
    except TypeError:  # an observable that takes no weak reference: no cache
        pass
    return plan


def expval_terms(state: Tensor, observable) -> Tensor:
    """``<P_t>`` of every Pauli term (coefficients not applied): real, shape ``(B, T)``."""
    n = _check(state)
    plan = _plan(observable)
    if plan.n != n:
        raise ShapeError(f"observable acts on {plan.n} qubits but the state has {n}")
    B = state.shape[0]
    cdt, rdt = state.dtype, state.real.dtype
    if not state.is_complex():
        state = state.to(torch.complex64 if rdt == torch.float32 else torch.complex128)
        cdt = state.dtype
    index, groups = _moved(plan, state.device, cdt)
    conj = state.conj()
    out = torch.zeros(B, plan.n_terms, dtype=rdt, device=state.device)
    hi, lo = n - plan.low, plan.low
    for g, (lo_patterns, lo_index, hi_signs, phase, terms) in zip(plan.groups, groups):
        v = conj * (state[:, index ^ g.x] if g.x else state)
        w = (v.reshape(B, 2**hi, 2**lo) @ lo_patterns)[:, :, lo_index]  # (B, 2**hi, Tg)
        vals = (w * hi_signs).sum(dim=1) * phase
        out = out.index_copy(1, terms, vals.real)
    return out


def expval(state: Tensor, observable) -> Tensor:
    """Exact ``<psi|H|psi>`` of a Pauli sum for each state: shape ``(B,)``.

    Writes ``H = sum_g D_g X_g`` with one diagonal ``D_g`` per X/Y flip mask (the signed sum of
    the group's coefficients), i.e. a sparse matrix with one entry per row and group, built
    once per observable, dtype and device and cached. A call is then one sparse-dense product
    for the whole batch, whatever the number of terms. Real Hamiltonians (e.g. molecular ones)
    run in real arithmetic on the (real, imaginary) columns of the states.

    >>> from hybridq.operators import PauliSum
    >>> psi = torch.tensor([[1, 0, 0, 0]], dtype=torch.complex64)
    >>> expval(psi, PauliSum.from_list([("ZZ", 0.5), ("XI", 2.0)]))
    tensor([0.5000])
    """
    n = _check(state)
    coeffs = np.array(observable.coeffs)
    if np.abs(coeffs.imag).max(initial=0) > 1e-12:
        from ..errors import NotHermitianError

        raise NotHermitianError("the observable has complex coefficients; an expectation value needs a Hermitian operator")
    if not state.is_complex():
        state = state.to(torch.complex64 if state.dtype == torch.float32 else torch.complex128)
    plan = _plan(observable)
    if plan.n != n:
        raise ShapeError(f"observable acts on {plan.n} qubits but the state has {n}")
    matrix = _sparse_matrix(observable, plan, state.real.dtype, state.device, half=True)
    B, N = state.shape
    columns = state.transpose(0, 1)
    if matrix.is_complex():
        return (columns.conj() * (matrix @ columns.contiguous())).real.sum(dim=0)
    real = torch.view_as_real(columns.contiguous()).reshape(N, 2 * B)
    full = _sparse_matrix(observable, plan, state.real.dtype, state.device) if real.requires_grad else None
    return _RealQuadratic.apply(real, matrix, full).reshape(B, 2).sum(dim=1)


class _RealQuadratic(torch.autograd.Function):
    """``x^T M x`` per column of ``x`` for the half matrix ``M`` of a real symmetric ``H``; the
    backward is ``2 H x`` with the full CSR matrix (autograd would transpose ``M`` on every call)."""

    @staticmethod
    def forward(ctx, real, half, full):
        ctx.save_for_backward(real)
        ctx.full = full
        return (real * (half @ real)).sum(dim=0)

    @staticmethod
    def backward(ctx, grad):
        (real,) = ctx.saved_tensors
        return 2 * (ctx.full @ real) * grad, None, None


_SPARSE: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


def _sparse_matrix(observable, plan: _Plan, rdt: torch.dtype, device, *, half: bool = False) -> Tensor:
    """``H`` as a CSR matrix with one entry per (row, flip mask); real when ``H`` is real.

    ``half=True`` keeps the diagonal and twice the upper triangle: half the entries, enough for
    ``Re <psi|H|psi>`` of a Hermitian ``H`` (not a matrix-vector product with ``H``).
    """
    try:
        cache = _SPARSE.setdefault(observable, {})
    except TypeError:
        cache = {}
    key = (rdt, str(device), half)
    if key not in cache:
        xs, table = _diagonals(plan, np.array(observable.coeffs).real, rdt)
        N, G = 2**plan.n, len(xs)
        index_dtype = torch.int32 if N * G < 2**31 else torch.int64
        rows = torch.arange(N)[:, None]
        cols = rows ^ xs[None, :]
        cols, order = cols.sort(dim=1)
        values = torch.gather(table.T, 1, order)
        keep = cols >= rows if half else torch.ones_like(cols, dtype=torch.bool)
        values = (torch.where(cols > rows, 2 * values, values) if half else values)[keep]
        crow = torch.cat([torch.zeros(1, dtype=torch.long), keep.sum(dim=1).cumsum(0)]).to(index_dtype)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            cache[key] = torch.sparse_csr_tensor(crow, cols[keep].to(index_dtype), values,
                                                 size=(N, N), check_invariants=False).to(device)
    return cache[key]


def _diagonals(plan: _Plan, coeffs: np.ndarray, rdt: torch.dtype) -> tuple[Tensor, Tensor]:
    """Flip masks ``(G,)`` and diagonals ``(G, 2**n)`` of ``H = sum_g D_g X_g`` (real when possible)."""
    coeffs = torch.as_tensor(coeffs, dtype=torch.float64)
    rows = []
    for g in plan.groups:
        c = coeffs[g.terms] * g.phase  # complex128 (Tg,)
        lo = g.lo_patterns[:, g.lo_index].to(torch.complex128)  # (2**l, Tg)
        rows.append(((g.hi_signs.to(torch.complex128) * c) @ lo.T).reshape(-1))
    table = torch.stack(rows)
    cdt = torch.complex64 if rdt == torch.float32 else torch.complex128
    table = table.real.to(rdt) if bool((table.imag.abs() < 1e-12).all()) else table.to(cdt)
    return torch.tensor([g.x for g in plan.groups]), table


def reduced_density_matrix(state: Tensor, qubits: Sequence[int]) -> Tensor:
    """Reduced density matrix of ``qubits`` (others traced out): shape ``(B, 2**k, 2**k)``."""
    n = _check(state)
    qubits = qubits_or_all(qubits, n)
    k = len(qubits)
    psi = state.reshape((state.shape[0],) + (2,) * n).movedim([1 + q for q in qubits], list(range(1, k + 1)))
    a = psi.reshape(state.shape[0], 2**k, 2 ** (n - k))
    return a @ a.conj().transpose(-1, -2)
