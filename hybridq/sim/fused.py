"""Whole-circuit kernels for small states: one sample's state stays on chip for the whole circuit.

Hybrid models run circuits of a few qubits on large batches. Gate by gate, every layer costs
several passes over the batch of states and a dozen kernel launches. Here a fused program of
``[one-qubit layer on every qubit, permutation]`` layers (what :mod:`hybridq.sim.fusion` and
:mod:`hybridq.circuits.compiled` make of layered ansätze) runs as **one** kernel:

- on CUDA, a Triton program per sample loads its ``2**n`` amplitudes into registers, applies
  every gate (a partner exchange ``i <-> i ^ bit`` per qubit) and every permutation (a register
  gather), and writes the result;
- on the CPU, the C kernels of :mod:`hybridq.sim.native` take 16 samples at a time, one per
  SIMD lane, in a block that stays in cache for the whole circuit; a few large states (12+
  qubits, no gradient wanted) take a forward-only kernel that makes three cache-blocked passes
  per layer (1.2-3x the general path from 14 to 22 qubits on 2 cores).

The backward is one kernel too, by the adjoint method: it un-computes the state and the adjoint
state gate by gate and reduces each gate's gradient on chip, so no intermediate state is ever
stored (the un-computation needs unitary matrices: gates and their products are).

Used automatically by :func:`hybridq.sim.run` (CUDA with Triton, or a CPU where the native
kernels built; sizes that :func:`suits`; a program of such layers); anything else takes
the general path.

>>> import torch
>>> available(torch.device("meta"))
False
"""

from __future__ import annotations

import ctypes
import os
from typing import TYPE_CHECKING, Sequence

import torch

from . import kernels, native

if TYPE_CHECKING:
    from .program import Op

Tensor = torch.Tensor

try:  # optional: Triton ships with CUDA builds of torch
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = tl = None


def _triton(device: torch.device) -> bool:
    """Whether the Triton kernels run on ``device`` (CUDA, or any device in Triton's interpreter)."""
    if tl is None or not hasattr(tl, "gather"):
        return False
    return device.type == "cuda" or os.environ.get("TRITON_INTERPRET") == "1"


def available(device: torch.device) -> bool:
    """Whether fused kernels can run on ``device``: CUDA with Triton, or a CPU with the native kernels.

    Setting the environment variable ``HYBRIDQ_FUSED=0`` turns them off.
    """
    if os.environ.get("HYBRIDQ_FUSED", "1") == "0":
        return False
    return _triton(device) or (device.type == "cpu" and native.library() is not None)


def suits(device: torch.device, n: int, batch: int) -> bool:
    """Whether the fused kernels take ``batch`` states of ``n`` qubits on ``device``.

    On a GPU, up to ``2**13`` amplitudes per sample stay in registers. On a CPU the kernels work
    on 16 samples at a time, so they need a batch (8 or more) and, measured, beat the general
    path up to 16 qubits (7.8 s -> 1.9 s for the W1 benchmark's 16-qubit step on 2 cores).
    """
    if _triton(device):
        return 2 <= n <= 13
    return 2 <= n <= 16 and batch >= 8


def layers(ops: Sequence[Op], n: int) -> tuple[list[Tensor | None], list[tuple[Tensor, Tensor] | None]] | None:
    """Split a program into layers ``(one-qubit matrices on all qubits, permutation)``.

    Returns the ``(..., n, 2, 2)`` matrices (None: identity) and ``(index, inverse)`` pairs
    (None: no permutation) of each layer, or None when the program has any other kind of op.
    """
    mats: list[Tensor | None] = []
    perms: list[tuple[Tensor, Tensor] | None] = []
    pending: Tensor | None = None
    have = False
    for op in ops:
        if op.kind == "kron" and len(op.qubits) == n and not op.controls:
            if have:
                mats.append(pending)
                perms.append(None)
            pending, have = op.data, True
        elif op.kind == "permutation":
            mats.append(pending)
            perms.append(op.index)
            pending, have = None, False
        else:
            return None
    if have:
        mats.append(pending)
        perms.append(None)
    return (mats, perms) if mats else None


def run(state: Tensor, ops: Sequence[Op]) -> Tensor | None:
    """``ops`` applied to ``state`` by the fused kernels, or None when they do not apply."""
    n = state.shape[-1].bit_length() - 1
    if not (state.is_complex() and available(state.device)):
        return None
    split = layers(ops, n)
    if split is None:
        return None
    mats, perms = split
    batch = max([state.shape[0]] + [m.shape[0] for m in mats if m is not None and m.dim() == 4])
    if _large_state(state, mats, n, batch):
        return _run_large_state(state, mats, perms, n)
    if not suits(state.device, n, batch):
        return None
    per_sample = batch if any(m is not None and m.dim() == 4 for m in mats) else 1
    eye = torch.eye(2, dtype=state.dtype, device=state.device).expand(per_sample, n, 2, 2)
    stacked = torch.stack([eye if m is None else m.to(state.dtype).expand(per_sample, n, 2, 2) for m in mats], dim=1)
    return _FusedRun.apply(state, stacked, *_indices(perms, n, state.device))


#: Smallest state the CPU's single-state kernel takes (below, the batched kernels or torch win).
LARGE_STATE_QUBITS = 12


def _large_state(state: Tensor, mats: list[Tensor | None], n: int, batch: int) -> bool:
    """Whether ``state`` runs through the CPU's single-state kernel: a few large states, matrices
    shared by the batch, and no gradient wanted (the kernel has no backward)."""
    if _triton(state.device) or n < LARGE_STATE_QUBITS or batch >= 8:
        return False
    if any(m is not None and m.dim() == 4 and m.shape[0] > 1 for m in mats):
        return False
    wants_grad = torch.is_grad_enabled() and (state.requires_grad or any(m is not None and m.requires_grad for m in mats))
    return not wants_grad


def _run_large_state(state: Tensor, mats: list[Tensor | None], perms: list, n: int) -> Tensor:
    """Each state of the batch through ``state_forward`` (three cache-friendly passes per layer)."""
    eye = torch.eye(2, dtype=state.dtype).expand(n, 2, 2)
    stacked = torch.stack([eye if m is None else m.reshape(n, 2, 2).to(state.dtype) for m in mats]).contiguous()
    index = [None if p is None else p[0].to(torch.int32).contiguous() for p in perms]  # no stacked copies
    pointers = (ctypes.c_void_p * len(index))(*[None if i is None else _ptr(i) for i in index])
    state = state.contiguous()
    out = torch.empty_like(state)
    lib = native.library()
    kernel = lib.state_forward_f32 if state.dtype == torch.complex64 else lib.state_forward_f64
    for b in range(state.shape[0]):
        kernel(_ptr(state[b]), _ptr(stacked), pointers, _ptr(out[b]), n, len(mats), torch.get_num_threads())
    return out


_INDEX_CACHE: dict[tuple, tuple] = {}


def _indices(perms: list, n: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor | None]:
    """The layers' gather indices and inverses stacked (int32), and which layers permute (CPU).

    Cached by the identity of the index tensors: a compiled circuit hands out the same cached
    tensors on every call, so a training step stacks them once.
    """
    key = (n, device, *(None if p is None else id(p[0]) for p in perms))
    hit = _INDEX_CACHE.get(key)
    if hit is not None and all(a is b or (a is not None and b is not None and a[0] is b[0]) for a, b in zip(hit[0], perms)):
        return hit[1]
    identity = torch.arange(2**n, dtype=torch.int32, device=device)
    index = torch.stack([identity if p is None else p[0].to(torch.int32) for p in perms])
    inverse = torch.stack([identity if p is None else p[1].to(torch.int32) for p in perms])
    has_perm = None if _triton(device) else torch.tensor([p is not None for p in perms], dtype=torch.uint8)
    if len(_INDEX_CACHE) >= 8:
        _INDEX_CACHE.pop(next(iter(_INDEX_CACHE)))
    _INDEX_CACHE[key] = (list(perms), (index, inverse, has_perm))
    return index, inverse, has_perm


def _warps(n: int, backward: bool = False) -> int:
    """Warps per program, measured on an H100 (W1 shapes): the forward takes 4 up to 12 qubits
    and 8 at 13; the backward, with twice the live registers, takes 8 from 11 qubits on (at 12
    qubits 2.16 ms against 2.92 ms with 4)."""
    if backward:
        return 4 if n <= 10 else 8
    return 4 if n <= 12 else 8


def _ptr(t: Tensor) -> int:
    return t.data_ptr()


class _FusedRun(torch.autograd.Function):
    """Forward and adjoint backward of a layered program, one kernel each."""

    @staticmethod
    def forward(ctx, state, mats, index, inverse, has_perm):
        batch, n_layers, n = max(state.shape[0], mats.shape[0]), mats.shape[1], mats.shape[2]
        state, mats = state.contiguous(), mats.contiguous()
        out = torch.empty(batch, 2**n, dtype=state.dtype, device=state.device)
        psi, m = torch.view_as_real(state), torch.view_as_real(mats)
        psi_stride = psi.stride(0) if state.shape[0] > 1 else 0
        mats_stride = m.stride(0) if mats.shape[0] > 1 else 0
        if _triton(state.device):
            _forward_kernel[(batch,)](psi, m, index.contiguous(), torch.view_as_real(out), psi_stride, mats_stride,
                                      N_QUBITS=n, N_LAYERS=n_layers, num_warps=_warps(n))
        else:
            kernel = native.library().fused_forward_f32 if state.dtype == torch.complex64 else native.library().fused_forward_f64
            kernel(_ptr(state), psi_stride, _ptr(mats), mats_stride, _ptr(index.contiguous()), _ptr(has_perm),
                   _ptr(out), batch, n, n_layers, torch.get_num_threads())
        ctx.save_for_backward(out, mats, inverse, has_perm)
        ctx.state_batch = state.shape[0]
        return out

    @staticmethod
    def backward(ctx, grad):
        out, mats, inverse, has_perm = ctx.saved_tensors
        batch, n_layers, n = out.shape[0], mats.shape[1], mats.shape[2]
        m = torch.view_as_real(mats)
        mats_stride = m.stride(0) if mats.shape[0] > 1 else 0
        grad = grad.contiguous()
        grad_mats = torch.empty(batch, n_layers, n, 2, 2, dtype=mats.dtype, device=mats.device)
        grad_state = torch.empty_like(out)
        if _triton(out.device):
            _backward_kernel[(batch,)](
                torch.view_as_real(out), torch.view_as_real(grad), m, inverse.contiguous(),
                torch.view_as_real(grad_mats), torch.view_as_real(grad_state), mats_stride,
                N_QUBITS=n, N_LAYERS=n_layers, num_warps=_warps(n, backward=True))
        else:
            kernel = native.library().fused_backward_f32 if out.dtype == torch.complex64 else native.library().fused_backward_f64
            kernel(_ptr(out), _ptr(grad), _ptr(mats), mats_stride, _ptr(inverse.contiguous()), _ptr(has_perm),
                   _ptr(grad_mats), _ptr(grad_state), batch, n, n_layers, torch.get_num_threads())
        grad_mats = kernels.matmul_2x2(grad_mats, mats)  # the kernels leave S; dL/dM = S M (M unitary)
        if mats.shape[0] == 1:
            grad_mats = grad_mats.sum(0, keepdim=True)
        if ctx.state_batch == 1:
            grad_state = grad_state.sum(0, keepdim=True)
        return grad_state if ctx.needs_input_grad[0] else None, grad_mats, None, None, None


if tl is not None:

    @triton.jit
    def _mix(re, im, pr, pi, hi, base, ADJOINT: tl.constexpr):
        """One qubit's 2x2 matrix at ``base`` (or its adjoint) on amplitudes ``re + i im`` whose
        pair partners are ``pr + i pi``; ``hi`` marks the amplitudes whose qubit bit is 1."""
        m00r, m00i = tl.load(base + 0), tl.load(base + 1)
        m01r, m01i = tl.load(base + 2), tl.load(base + 3)
        m10r, m10i = tl.load(base + 4), tl.load(base + 5)
        m11r, m11i = tl.load(base + 6), tl.load(base + 7)
        if ADJOINT:  # (M^H)[r][c] = conj(M[c][r])
            ar, ai = tl.where(hi, m11r, m00r), -tl.where(hi, m11i, m00i)
            br, bi = tl.where(hi, m01r, m10r), -tl.where(hi, m01i, m10i)
        else:  # out_0 = m00 x_0 + m01 x_1, out_1 = m11 x_1 + m10 x_0
            ar, ai = tl.where(hi, m11r, m00r), tl.where(hi, m11i, m00i)
            br, bi = tl.where(hi, m10r, m01r), tl.where(hi, m10i, m01i)
        return ar * re - ai * im + br * pr - bi * pi, ar * im + ai * re + br * pi + bi * pr

    @triton.jit
    def _forward_kernel(psi_ptr, mats_ptr, index_ptr, out_ptr, psi_stride, mats_stride,
                        N_QUBITS: tl.constexpr, N_LAYERS: tl.constexpr):
        b = tl.program_id(0)
        N: tl.constexpr = 1 << N_QUBITS
        idx = tl.arange(0, N)
        re = tl.load(psi_ptr + b * psi_stride + 2 * idx)
        im = tl.load(psi_ptr + b * psi_stride + 2 * idx + 1)
        for layer in range(N_LAYERS):
            for q in range(N_QUBITS):
                base = mats_ptr + b * mats_stride + (layer * N_QUBITS + q) * 8
                partner = idx ^ (1 << (N_QUBITS - 1 - q))
                pr, pi = tl.gather(re, partner, 0), tl.gather(im, partner, 0)
                re, im = _mix(re, im, pr, pi, (idx & (1 << (N_QUBITS - 1 - q))) != 0, base, False)
            perm = tl.load(index_ptr + layer * N + idx)
            re = tl.gather(re, perm, 0)
            im = tl.gather(im, perm, 0)
        tl.store(out_ptr + b * 2 * N + 2 * idx, re)
        tl.store(out_ptr + b * 2 * N + 2 * idx + 1, im)

    @triton.jit
    def _backward_kernel(out_ptr, grad_ptr, mats_ptr, inverse_ptr, grad_mats_ptr, grad_psi_ptr, mats_stride,
                         N_QUBITS: tl.constexpr, N_LAYERS: tl.constexpr):
        b = tl.program_id(0)
        N: tl.constexpr = 1 << N_QUBITS
        idx = tl.arange(0, N)
        re = tl.load(out_ptr + b * 2 * N + 2 * idx)  # the state after the circuit ...
        im = tl.load(out_ptr + b * 2 * N + 2 * idx + 1)
        gr = tl.load(grad_ptr + b * 2 * N + 2 * idx)  # ... and the gradient w.r.t. it
        gi = tl.load(grad_ptr + b * 2 * N + 2 * idx + 1)
        pair = tl.arange(0, 2)
        offsets = pair[:, None, None] + 2 * pair[None, :, None] + 4 * pair[None, None, :]
        for step in range(N_LAYERS):
            layer = N_LAYERS - 1 - step
            inv = tl.load(inverse_ptr + layer * N + idx)
            re, im = tl.gather(re, inv, 0), tl.gather(im, inv, 0)
            gr, gi = tl.gather(gr, inv, 0), tl.gather(gi, inv, 0)
            for t in range(N_QUBITS):
                q = N_QUBITS - 1 - t
                base = mats_ptr + b * mats_stride + (layer * N_QUBITS + q) * 8
                s = 1 << (N_QUBITS - 1 - q)
                hi = (idx & s) != 0
                pr, pi = tl.gather(re, idx ^ s, 0), tl.gather(im, idx ^ s, 0)
                # S[r][c] = sum over pairs of lam_r conj(psi_c) with psi after the gate: own bit
                # (r == c) and partner; the caller turns it into dL/dM = S M
                dr, di = gr * re + gi * im, gi * re - gr * im
                orr, oi = gr * pr + gi * pi, gi * pr - gr * pi
                # the 8 sums as one reduction: u[:, a, b, c] holds term 4c + 2b + a, that is
                # (re, im) of S[0][0], S[0][1] (bit 0 rows) then S[1][0], S[1][1] (bit 1 rows)
                zero = tl.zeros_like(dr)
                u = tl.join(tl.join(tl.join(tl.where(hi, zero, dr), tl.where(hi, zero, di)),
                                    tl.join(tl.where(hi, zero, orr), tl.where(hi, zero, oi))),
                            tl.join(tl.join(tl.where(hi, orr, zero), tl.where(hi, oi, zero)),
                                    tl.join(tl.where(hi, dr, zero), tl.where(hi, di, zero))))
                target = grad_mats_ptr + (b * N_LAYERS * N_QUBITS + layer * N_QUBITS + q) * 8
                tl.store(target + offsets, tl.sum(u, axis=0))
                re, im = _mix(re, im, pr, pi, hi, base, True)  # the state before the gate
                lr, li = tl.gather(gr, idx ^ s, 0), tl.gather(gi, idx ^ s, 0)
                gr, gi = _mix(gr, gi, lr, li, hi, base, True)  # the adjoint state before the gate
        tl.store(grad_psi_ptr + b * 2 * N + 2 * idx, gr)
        tl.store(grad_psi_ptr + b * 2 * N + 2 * idx + 1, gi)
