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
stored (the un-computation needs unitary matrices: gates and their products are). On the CPU,
where every sweep moves a block of states through the cache, the forward keeps each layer's
output state (up to :data:`MAX_KEPT_STATES` bytes) and the backward reads every qubit's gradient
sums off it (gates on different qubits commute) instead of un-computing it: 28 multiply-adds
per amplitude pair and gate instead of 48, and only the adjoint state is written. From
``|0...0>`` the first layer is a product state, built and differentiated without gates. The
CPU forward also reads every qubit's ``<Z>`` off the final states while they are in cache
(:func:`attach_z`; :func:`hybridq.sim.expval_z` returns it), and a loss of those alone starts
the backward from ``dL/d<Z>``: no ``dL/dpsi`` tensor is made.

Used automatically by :func:`hybridq.sim.run` (CUDA with Triton, or a CPU where the native
kernels built; sizes that :func:`suits`; a program of such layers); anything else takes
the general path. On the CPU, compiled circuits reach the same kernels through the engine
(:mod:`hybridq.sim.native_run`), which adds the layers' other steps (diagonals, controlled and
two-qubit gates).

>>> import torch
>>> available(torch.device("meta"))
False
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from . import chains, kernels, native

if TYPE_CHECKING:
    from .program import Op

Tensor = torch.Tensor

try:  # optional: Triton ships with CUDA builds of torch
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = tl = None


#: Whether Triton runs, and whether in its interpreter (which Triton, too, reads at import).
_TRITON = tl is not None and hasattr(tl, "gather")
_INTERPRETED = _TRITON and os.environ.get("TRITON_INTERPRET") == "1"


def triton_runs(device: torch.device) -> bool:
    """Whether the Triton kernels run on ``device`` (CUDA, or any device in Triton's interpreter)."""
    return _TRITON and (device.type == "cuda" or _INTERPRETED)


def available(device: torch.device) -> bool:
    """Whether fused kernels can run on ``device``: CUDA with Triton, or a CPU with the native kernels.

    Setting the environment variable ``HYBRIDQ_FUSED=0`` turns them off.
    """
    if os.environ.get("HYBRIDQ_FUSED", "1") == "0":
        return False
    return triton_runs(device) or (device.type == "cpu" and native.library() is not None)


#: State dtypes of the fused kernels (half precision is refused at the API; real states take the general path).
DTYPES = (torch.complex64, torch.complex128)
#: Largest state of one whole-circuit GPU kernel; larger ones run layer by layer in chunks.
MAX_WHOLE_QUBITS = 13
#: Largest state of the chunked GPU kernels (the strided chunks keep 64 adjacent amplitudes).
MAX_CHUNKED_QUBITS = 18
#: Amplitudes per chunk: ``2**CHUNK_BITS`` (the size the whole-circuit kernel handles best).
CHUNK_BITS = 12
#: Warps per chunk program (measured on an H100 at 14 and 16 qubits: 8 beats 4 and 16).
CHUNK_WARPS = 8


def suits(device: torch.device, n: int) -> bool:
    """Whether the fused kernels take states of ``n`` qubits on ``device``.

    On a GPU, up to ``2**13`` amplitudes per sample stay in registers (one kernel for the whole
    circuit); up to :data:`MAX_CHUNKED_QUBITS`, each layer runs as two passes over chunks of
    ``2**12`` amplitudes (the low qubits' gates, then the high qubits' on strided chunks, with
    the permutation folded into the next load). On a CPU the kernels work on 16 samples at a
    time (a smaller batch fills one block) and, measured, beat the general path up to 16 qubits
    (7.8 s -> 1.2 s for the W1 benchmark's 16-qubit step on 2 cores; one sample of 10 qubits:
    a W1 training step 8.0 -> 0.53 ms, a CRX ring's 34 -> 0.86 ms). A few large states without
    gradients take the single-state kernel first (:func:`few_large_states`).
    """
    if triton_runs(device):
        return 2 <= n <= MAX_CHUNKED_QUBITS
    return 2 <= n <= 16


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


@torch.compiler.disable  # compiled models call the kernels as they are (no tracing into ctypes or Triton launches)
def run(state: Tensor, ops: Sequence[Op]) -> Tensor | None:
    """``ops`` applied to ``state`` by the fused kernels, or None when they do not apply."""
    n = state.shape[-1].bit_length() - 1
    if not (state.dtype in DTYPES and available(state.device)):
        return None
    split = layers(ops, n)
    if split is None:
        return None
    mats, perms = split
    batch = common_batch([state.shape[0]] + [m.shape[0] for m in mats if m is not None and m.dim() == 4])
    if not batch:  # empty, or batches that do not broadcast: nothing for a kernel to launch on
        return None
    if large_state(state, mats, n, batch):
        return run_large_state(state, mats, perms, n)
    if not suits(state.device, n):
        return None
    per_sample = batch if any(m is not None and m.dim() == 4 for m in mats) else 1
    stacked = _slices_of_one(mats, n, state.dtype)
    if stacked is None:
        stacked = _stack_layers(mats, (per_sample, n, 2, 2), state, dim=1)
    return _run_stacked(state, stacked, perms)


@torch.compiler.disable
def run_layers(state: Tensor, mats: Tensor, perms: Sequence[tuple[Tensor, Tensor] | None]) -> Tensor | None:
    """Layers of one-qubit matrices on every qubit, ``mats`` ``(P, L, n, 2, 2)``, each followed by its
    permutation ``(index, inverse)`` (None: none), applied to ``state`` by the fused kernels on a
    GPU (or in Triton's interpreter), or None when they do not apply. The matrices go to the kernels
    as they are: no per-layer slices to stack again.
    """
    n = state.shape[-1].bit_length() - 1
    if not (state.dtype in DTYPES and triton_runs(state.device)) or mats.dtype != state.dtype:
        return None
    batch = common_batch([state.shape[0], mats.shape[0]])
    if not batch or not suits(state.device, n):
        return None
    return _run_stacked(state, mats, perms)


def _run_stacked(state: Tensor, stacked: Tensor, perms: Sequence[tuple[Tensor, Tensor] | None]) -> Tensor:
    """:func:`run`'s and :func:`run_layers`' work after their checks: ``stacked`` ``(P, L, n, 2, 2)``."""
    n = state.shape[-1].bit_length() - 1
    wants_grad = torch.is_grad_enabled() and (state.requires_grad or stacked.requires_grad)
    out, z = _FusedRun.apply(state, stacked, *layer_indices(perms, n, state.device), tuple(p is not None for p in perms),
                             wants_grad, starts_at_zero(state))
    if z is not None:
        attach_z(out, z)
    return out


def common_batch(sizes: Sequence[int]) -> int:
    """The batch that tensors of batch ``sizes`` broadcast to (each 1 or the same ``B``), or 0 when
    it is empty or they do not broadcast: the kernels launch one program per sample, and read
    every sample's data at its stride (1: shared), so only such batches are safe to hand them.

    >>> common_batch([1, 5, 5]), common_batch([1, 0]), common_batch([3, 5])
    (5, 0, 0)
    """
    batch = max(sizes)
    return batch if 0 not in sizes and all(b in (1, batch) for b in sizes) else 0


def attach_z(state: Tensor, z: Tensor) -> None:
    """Record ``z``, every qubit's ``<Z>`` of ``state`` ``(B, n)`` made with it (and differentiable
    like it), for :func:`hybridq.sim.expval_z` to return while ``state`` is unchanged."""
    state._hybridq_z = (z, state._version)


def attached_z(state: Tensor) -> Tensor | None:
    """The ``<Z>`` recorded by :func:`attach_z` for ``state``, or None (none, or ``state`` changed since)."""
    attached = getattr(state, "_hybridq_z", None)
    return attached[0] if attached is not None and attached[1] == state._version else None


def starts_at_zero(state: Tensor) -> bool:
    """Whether the CPU kernels may treat ``state`` as ``|0...0>`` for the whole batch: the first
    layer then makes a product state (2**n multiplies instead of n gates), and the backward reads
    that layer's gradients off the product instead of un-computing it."""
    if triton_runs(state.device) or state.shape[0] != 1 or state[0, 0] != 1:
        return False
    return int(torch.count_nonzero(state)) == 1


def _slices_of_one(mats: list[Tensor | None], n: int, dtype: torch.dtype) -> Tensor | None:
    """The ``(P, L, n, 2, 2)`` stack of the layers' matrices as a view, when they are consecutive
    slices of one ``(P, L * n, 2, 2)`` tensor (as a compiled circuit makes them), else None.

    Stacking copies them and its backward costs a few kernels per layer: on a GPU, a tenth of a
    training step's kernels.
    """
    base = mats[0]._base if mats[0] is not None else None
    if base is None or base.dim() != 4 or base.dtype != dtype or base.shape[1] != len(mats) * n:
        return None
    for i, m in enumerate(mats):
        if (m is None or m._base is not base or m.shape != (base.shape[0], n, 2, 2) or m.stride() != base.stride()
                or m.storage_offset() != base.storage_offset() + i * n * base.stride(1)):
            return None
    return base.unflatten(1, (len(mats), n))


#: Smallest state the CPU's single-state kernel takes (below, the batched kernels or torch win).
LARGE_STATE_QUBITS = 12


def few_large_states(n: int, batch: int) -> bool:
    """Whether ``batch`` states of ``n`` qubits are few and large enough for the CPU's
    single-state kernel (it beats the batched kernels' 16-sample blocks there: one 16-qubit W1
    state without gradients 1.3 ms against 11 ms)."""
    return n >= LARGE_STATE_QUBITS and batch < 8


def large_state(state: Tensor, mats: list[Tensor | None], n: int, batch: int) -> bool:
    """Whether ``state`` runs through the CPU's single-state kernel: a few large states, matrices
    shared by the batch, and no gradient wanted (the kernel has no backward)."""
    if triton_runs(state.device) or not few_large_states(n, batch):
        return False
    if any(m is not None and m.dim() == 4 and m.shape[0] > 1 for m in mats):
        return False
    wants_grad = torch.is_grad_enabled() and (state.requires_grad or any(m is not None and m.requires_grad for m in mats))
    return not wants_grad


def run_large_state(state: Tensor, mats: list[Tensor | None], perms: list, n: int) -> Tensor:
    """Each state of the batch through ``state_forward`` of ``state.c`` (three cache-friendly passes per layer;
    layers of real matrices at half the arithmetic, on the real part alone while the state is real)."""
    stacked = _stack_layers([None if m is None else m.reshape(n, 2, 2) for m in mats], (n, 2, 2), state, dim=0)
    index = [None if p is None else p[0].to(torch.int32).contiguous() for p in perms]  # no stacked copies
    pointers = (ctypes.c_void_p * len(index))(*[None if i is None else _ptr(i) for i in index])
    real = (stacked.imag == 0).flatten(1).all(1).to(torch.uint8)  # held: the kernel reads it by address
    state = state.contiguous()
    out = torch.empty_like(state)
    kernel = native.kernel("state_forward", state.dtype)
    for b in range(state.shape[0]):
        kernel(_ptr(state[b]), _ptr(stacked), pointers, _ptr(real), _ptr(out[b]), n, len(mats), torch.get_num_threads())
    return out


_INDEX_CACHE: dict[tuple, tuple] = {}


def layer_indices(perms: list, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """The layers' gather indices and inverses stacked (int32; the identity where a layer has none).

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
    if len(_INDEX_CACHE) >= 8:
        _INDEX_CACHE.pop(next(iter(_INDEX_CACHE)))
    _INDEX_CACHE[key] = (list(perms), (index, inverse))
    return index, inverse


def _warps(n: int, backward: bool = False) -> int:
    """Warps per program, measured on an H100 (W1 shapes): the forward takes 4 up to 12 qubits
    and 8 at 13; the backward, with twice the live registers, takes 8 from 11 qubits on (at 12
    qubits 2.16 ms against 2.92 ms with 4)."""
    if backward:
        return 4 if n <= 10 else 8
    return 4 if n <= 12 else 8


def _ptr(t: Tensor) -> int:
    return t.data_ptr()


def _stack_layers(mats: list[Tensor | None], shape: tuple[int, ...], state: Tensor, dim: int) -> Tensor:
    """The layers' matrices (None: identity) expanded to ``shape`` and stacked along ``dim``."""
    eye = torch.eye(2, dtype=state.dtype, device=state.device).expand(shape)
    return torch.stack([eye if m is None else m.to(state.dtype).expand(shape) for m in mats], dim=dim).contiguous()


@functools.lru_cache(maxsize=64)
def _flags(permutes: tuple[bool, ...]) -> Tensor:
    """Which layers permute, as the native kernels read it (one byte per layer; made once)."""
    return torch.tensor(permutes, dtype=torch.uint8)


#: Largest batch of states (bytes) the CPU kernels keep from the forward for the backward; the
#: last backward's buffer stays for the next training step (one buffer at most).
MAX_KEPT_STATES = 2**30


def _kept_states(real: torch.dtype, batch: int, n_layers: int, n: int, kept_from: int) -> Tensor | None:
    """Room for the output states of layers ``kept_from .. n_layers - 2`` (in the native kernels'
    layout, of the real dtype ``real``), or None when too large: the backward then reads them
    instead of un-computing the state gate by gate (28 multiply-adds per amplitude pair and gate
    instead of 48). The last layer's is the output; a first layer from ``|0...0>`` is never read back."""
    blocks = -(-batch // chains.LANES)
    size = blocks * max(n_layers - 1 - kept_from, 0) * 2 * chains.LANES * 2**n
    if size * real.itemsize > MAX_KEPT_STATES:
        return None
    spare = _SPARE_KEPT.pop((size, real), None)
    _SPARE_KEPT.clear()  # one of another size would only add to the peak
    return torch.empty(size, dtype=real) if spare is None else spare


#: The last backward's kept states, for the next forward of the same size: fresh memory costs a
#: page fault per 4 KiB on first write (at 12 qubits and a batch of 1024, a third of the forward).
_SPARE_KEPT: dict[tuple, Tensor] = {}


#: Outputs of at least this many bytes come from :func:`_output`'s pool.
POOLED_OUTPUT_BYTES = 2**24
#: Memory of earlier large outputs by size, reused once no tensor holds it.
_OUTPUTS: dict[int, np.ndarray] = {}


def _output(batch: int, n: int, dtype: torch.dtype) -> Tensor:
    """An uninitialised ``(batch, 2**n)`` CPU output; a large one reuses an earlier one's memory
    when no tensor holds it any more (torch drops its reference to the memory with the last
    tensor on it). Fresh memory costs a page fault per 4 KiB on first write: at 16 qubits and a
    batch of 256, 90 ms of a 0.6 s training step."""
    nbytes = batch * 2**n * dtype.itemsize
    if nbytes < POOLED_OUTPUT_BYTES:
        return torch.empty(batch, 2**n, dtype=dtype)
    memory = _OUTPUTS.get(nbytes)
    if memory is None or sys.getrefcount(memory) > 3:  # held by more than the pool, this name and the call
        memory = np.empty(nbytes, dtype=np.uint8)
        if len(_OUTPUTS) >= 4:
            _OUTPUTS.pop(next(iter(_OUTPUTS)))
        _OUTPUTS[nbytes] = memory
    return torch.frombuffer(memory, dtype=dtype).view(batch, 2**n)


def _spare(kept: Tensor) -> None:
    _SPARE_KEPT.clear()
    _SPARE_KEPT[(kept.numel(), kept.dtype)] = kept


class _FusedRun(torch.autograd.Function):
    """Forward and adjoint backward of a layered program, one kernel each.

    Outputs the final states and, on the CPU, every qubit's ``<Z>`` of them (read off the states
    while they are in cache; None elsewhere): a loss of those alone starts the backward kernel
    from ``dL/d<Z>``, with no ``dL/dpsi`` tensor in between.
    """

    @staticmethod
    def forward(ctx, state, mats, index, inverse, permutes, wants_grad, zero_start):
        ctx.set_materialize_grads(False)
        ctx.permutes, ctx.state_batch = permutes, state.shape[0]
        state, mats = state.contiguous(), mats.contiguous()
        z = None
        if not triton_runs(state.device):
            out, z = native_forward(ctx, None if zero_start else state, mats, index, wants_grad, state.requires_grad)
        elif mats.shape[2] > MAX_WHOLE_QUBITS:
            out = _chunked_forward(state, mats, index, inverse, permutes)
        else:
            batch, n_layers, n = max(state.shape[0], mats.shape[0]), mats.shape[1], mats.shape[2]
            psi, m = torch.view_as_real(state), torch.view_as_real(mats)
            out = torch.empty(batch, 2**n, dtype=state.dtype, device=state.device)
            _forward_kernel[(batch,)](psi, m, index.contiguous(), torch.view_as_real(out),
                                      psi.stride(0) if state.shape[0] > 1 else 0, _mats_stride(mats),
                                      N_QUBITS=n, N_LAYERS=n_layers, num_warps=_warps(n))
        ctx.save_for_backward(out, mats, inverse)
        return out, z

    @staticmethod
    def backward(ctx, grad, grad_z):
        out, mats, inverse = ctx.saved_tensors
        n = mats.shape[2]
        if not triton_runs(out.device):
            grad_mats, grad_state = native_backward(ctx, out, mats, inverse, grad, grad_z, ctx.needs_input_grad[0])
        else:
            grad = torch.zeros_like(out) if grad is None else grad.contiguous()
            if n > MAX_WHOLE_QUBITS:
                grad_mats, grad_state = _chunked_backward(out, grad, mats, inverse, ctx.permutes)
            else:
                grad_mats = torch.empty(out.shape[0], mats.shape[1], n, 2, 2, dtype=mats.dtype, device=mats.device)
                grad_state = torch.empty_like(out)
                _backward_kernel[(out.shape[0],)](
                    torch.view_as_real(out), torch.view_as_real(grad), torch.view_as_real(mats), inverse.contiguous(),
                    torch.view_as_real(grad_mats), torch.view_as_real(grad_state), _mats_stride(mats),
                    N_QUBITS=n, N_LAYERS=mats.shape[1], num_warps=_warps(n, backward=True))
            grad_mats = kernels.matmul_2x2(grad_mats, mats)  # the Triton kernels leave S; dL/dM = S M (M unitary)
        if mats.shape[0] == 1:
            grad_mats = grad_mats.sum(0, keepdim=True)
        if not ctx.needs_input_grad[0]:
            return None, grad_mats, None, None, None, None, None
        return grad_state.sum(0, keepdim=True) if ctx.state_batch == 1 else grad_state, grad_mats, None, None, None, None, None


def _mats_stride(mats: Tensor) -> int:
    """The kernels' stride between samples' matrices, in reals (0: one set shared by the batch;
    negative: between blocks of real lane blocks, see ``native.c``)."""
    if not mats.is_complex():
        return -mats.stride(0)
    return torch.view_as_real(mats).stride(0) if mats.shape[0] > 1 else 0


def native_forward(ctx, state: Tensor | None, mats: Tensor, index: Tensor, wants_grad: bool, state_grad: bool,
                   batch: int | None = None, steps=None) -> tuple[Tensor, Tensor]:
    """The CPU forward kernel of a layered program (``ctx.permutes`` says which layers permute)
    on ``state`` (None: ``|0...0>``): the output states and their ``<Z>`` ``(B, n)``. Keeps on
    ``ctx`` what :func:`native_backward` reads when ``wants_grad`` (``state_grad``: the backward
    will want ``dL/dstate`` too).

    ``mats`` ``(B or 1, L, n, 2, 2)`` complex, or real lane blocks ``(blocks, L, n, 8, LANES)``
    of a ``batch`` of samples (see :func:`hybridq.sim.chains.products`), and ``index``
    ``(L, 2**n)`` int32 are contiguous. ``steps``: the layers' other steps
    (:class:`hybridq.sim.native_run.StepTables`), None: none.
    """
    n_layers, n = mats.shape[1], mats.shape[2]
    batch = batch or mats.shape[0]
    if state is not None:
        batch = max(batch, state.shape[0])
    flags = _flags(ctx.permutes)  # held: the kernel reads it by address
    zero_start = state is None
    kept_from = int(zero_start and not state_grad)  # the backward reads the product's gradients
    real = mats.real.dtype
    kept = _kept_states(real, batch, n_layers, n, kept_from) if wants_grad else None
    out = _output(batch, n, real.to_complex())
    z = torch.empty(batch, n, dtype=real)
    native.kernel("fused_forward", real)(
        None if zero_start else _ptr(state), 0 if zero_start or state.shape[0] == 1 else 2 * 2**n,
        _ptr(mats), _mats_stride(mats), _ptr(index), _ptr(flags), _ptr(out), _ptr(z),
        None if kept is None else _ptr(kept), kept_from, zero_start, batch, n, n_layers, torch.get_num_threads(),
        None if steps is None else steps.pointer())
    ctx.kept, ctx.kept_from, ctx.zero_start = kept, kept_from, zero_start
    return out, z


def native_backward(ctx, out: Tensor, mats: Tensor, inverse: Tensor, grad: Tensor | None, grad_z: Tensor | None,
                    state_grad: bool, steps=None) -> tuple[Tensor, Tensor | None]:
    """The CPU adjoint kernel after :func:`native_forward`: ``dL/dM`` ``(B, L, n, 2, 2)`` (in
    lane blocks like ``mats`` where they are) and, when ``state_grad``, ``dL/dstate`` ``(B, 2**n)``,
    from ``dL/d(output)`` and ``dL/d<Z>`` (either None: none); the steps' data gradient goes
    where ``steps`` (as in the forward) says."""
    batch, n_layers, n = out.shape[0], mats.shape[1], mats.shape[2]
    real = mats.real.dtype
    if grad is None and grad_z is None:
        grad = torch.zeros_like(out)
    grad = None if grad is None else grad.contiguous()
    grad_z = None if grad_z is None else grad_z.to(real).contiguous()
    grad_mats = torch.empty(batch, n_layers, n, 2, 2, dtype=mats.dtype) if mats.is_complex() else torch.empty_like(mats)
    grad_state = torch.empty_like(out) if state_grad else None
    flags, kept = _flags(ctx.permutes), ctx.kept  # held: the kernel reads them by address
    native.kernel("fused_backward", out.dtype)(
        _ptr(out), None if grad is None else _ptr(grad), None if grad_z is None else _ptr(grad_z),
        None if kept is None else _ptr(kept), -1 if kept is None else ctx.kept_from, _ptr(mats), _mats_stride(mats),
        _ptr(inverse), _ptr(flags), _ptr(grad_mats), None if grad_state is None else _ptr(grad_state),
        ctx.zero_start and not state_grad, batch, n, n_layers, torch.get_num_threads(),
        None if steps is None else steps.pointer())
    if kept is not None:
        ctx.kept = None
        _spare(kept)
    return grad_mats, grad_state


def _chunked_forward(state: Tensor, mats: Tensor, index: Tensor, inverse: Tensor, permutes: tuple[bool, ...]) -> Tensor:
    """Layer by layer: the low qubits' gates on chunks (the previous layer's permutation folded
    into the load), then the high qubits' gates on strided chunks, in place (the last layer's
    permutation folded into the store)."""
    batch, n_layers, n = max(state.shape[0], mats.shape[0]), mats.shape[1], mats.shape[2]
    m = torch.view_as_real(mats)
    mats_stride = m.stride(0) if mats.shape[0] > 1 else 0
    grid = (batch, 2 ** (n - CHUNK_BITS))
    common = dict(N_QUBITS=n, K=CHUNK_BITS, num_warps=CHUNK_WARPS)
    src, src_stride = torch.view_as_real(state), (2 * 2**n if state.shape[0] > 1 else 0)
    for layer in range(n_layers):
        dst = torch.empty(batch, 2**n, 2, dtype=m.dtype, device=state.device)
        _chunk_forward_kernel[grid](src, dst, m, index[max(layer - 1, 0)], inverse[0], src_stride, mats_stride,
                                    layer, HIGH=False, GATHER=layer > 0 and permutes[layer - 1], SCATTER=False, **common)
        scatter = layer == n_layers - 1 and permutes[layer]  # out[inverse[j]] = y[j]: out[i] = y[index[i]]
        out = torch.empty_like(dst) if scatter else dst
        _chunk_forward_kernel[grid](dst, out, m, index[0], inverse[layer], 2 * 2**n, mats_stride, layer,
                                    HIGH=True, GATHER=False, SCATTER=scatter, **common)
        src, src_stride = out, 2 * 2**n
    return torch.view_as_complex(src)


def _chunked_backward(out: Tensor, grad: Tensor, mats: Tensor, inverse: Tensor,
                      permutes: tuple[bool, ...]) -> tuple[Tensor, Tensor]:
    """The adjoint sweep of :func:`_chunked_forward`: per layer, undo its permutation (folded
    into the load) and its high qubits' gates, then its low qubits' gates; each chunk writes
    its share of every gate's sums S, added up here."""
    batch, n_layers, n = out.shape[0], mats.shape[1], mats.shape[2]
    m = torch.view_as_real(mats)
    mats_stride = m.stride(0) if mats.shape[0] > 1 else 0
    chunks = 2 ** (n - CHUNK_BITS)
    partial = torch.empty(batch, n_layers, n, chunks, 8, dtype=m.dtype, device=out.device)
    common = dict(N_QUBITS=n, K=CHUNK_BITS, N_LAYERS=n_layers, num_warps=CHUNK_WARPS)
    psi, lam = torch.view_as_real(out), torch.view_as_real(grad)
    for layer in range(n_layers - 1, -1, -1):
        psi_next, lam_next = torch.empty_like(psi), torch.empty_like(lam)
        _chunk_adjoint_kernel[(batch, chunks)](psi, lam, psi_next, lam_next, m, inverse[layer], partial, mats_stride,
                                               layer, HIGH=True, GATHER=permutes[layer], **common)
        _chunk_adjoint_kernel[(batch, chunks)](psi_next, lam_next, psi_next, lam_next, m, inverse[layer], partial,
                                               mats_stride, layer, HIGH=False, GATHER=False, **common)
        psi, lam = psi_next, lam_next
    s = torch.view_as_complex(partial.sum(3).reshape(batch, n_layers, n, 2, 2, 2).contiguous())
    return s, torch.view_as_complex(lam)


if tl is not None:

    @triton.jit
    def mix(re, im, pr, pi, hi, base, ADJOINT: tl.constexpr):
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
                re, im = mix(re, im, pr, pi, (idx & (1 << (N_QUBITS - 1 - q))) != 0, base, False)
            perm = tl.load(index_ptr + layer * N + idx)
            re = tl.gather(re, perm, 0)
            im = tl.gather(im, perm, 0)
        tl.store(out_ptr + b * 2 * N + 2 * idx, re)
        tl.store(out_ptr + b * 2 * N + 2 * idx + 1, im)

    @triton.jit
    def pair_sums(dr, di, orr, oi, hi, target):
        """Store at ``target`` the 8 reals of a one-qubit gate's ``S[r][c]``, from each amplitude's
        own term ``dr + i di`` (``c == r``) and its partner's ``orr + i oi``, ``hi`` marking bit-1
        rows. One reduction: ``u[:, a, b, c]`` holds term ``4c + 2b + a``, that is (re, im) of
        ``S[0][0]``, ``S[0][1]`` (bit 0 rows) then ``S[1][0]``, ``S[1][1]`` (bit 1 rows)."""
        zero = tl.zeros_like(dr)
        u = tl.join(tl.join(tl.join(tl.where(hi, zero, dr), tl.where(hi, zero, di)),
                            tl.join(tl.where(hi, zero, orr), tl.where(hi, zero, oi))),
                    tl.join(tl.join(tl.where(hi, orr, zero), tl.where(hi, oi, zero)),
                            tl.join(tl.where(hi, dr, zero), tl.where(hi, di, zero))))
        pair = tl.arange(0, 2)
        offsets = pair[:, None, None] + 2 * pair[None, :, None] + 4 * pair[None, None, :]
        tl.store(target + offsets, tl.sum(u, axis=0))

    @triton.jit
    def _adjoint_gate(re, im, gr, gi, idx, s, base, target):
        """One gate of the adjoint sweep: store at ``target`` the 8 reals of
        S[r][c] = sum over pairs of lam_r conj(psi_c) (psi = re + i im and lam = gr + i gi after
        the gate, bit ``s`` of ``idx`` the gate's qubit; the caller turns S into dL/dM = S M),
        then return psi and lam before the gate (un-computed by the adjoint of the matrix at ``base``)."""
        hi = (idx & s) != 0
        pr, pi = tl.gather(re, idx ^ s, 0), tl.gather(im, idx ^ s, 0)
        dr, di = gr * re + gi * im, gi * re - gr * im  # own bit (r == c)
        orr, oi = gr * pr + gi * pi, gi * pr - gr * pi  # partner
        pair_sums(dr, di, orr, oi, hi, target)
        re, im = mix(re, im, pr, pi, hi, base, True)
        lr, li = tl.gather(gr, idx ^ s, 0), tl.gather(gi, idx ^ s, 0)
        gr, gi = mix(gr, gi, lr, li, hi, base, True)
        return re, im, gr, gi

    @triton.jit
    def _chunk_address(c, idx, N_QUBITS: tl.constexpr, K: tl.constexpr, HIGH: tl.constexpr):
        """Addresses of chunk ``c``: ``2**K`` consecutive amplitudes, or (HIGH) every value of the
        ``n - K`` high bits times ``2**(2K - n)`` adjacent amplitudes."""
        H: tl.constexpr = N_QUBITS - K
        LC: tl.constexpr = K - H
        if HIGH:
            return ((idx >> LC) << K) | (c << LC) | (idx & ((1 << LC) - 1))
        return (c << K) | idx

    @triton.jit
    def _gate_bit(t, N_QUBITS: tl.constexpr, K: tl.constexpr, HIGH: tl.constexpr):
        """The qubit of a chunk's t-th gate and its bit in the chunk's index."""
        H: tl.constexpr = N_QUBITS - K
        if HIGH:
            return t, K - H + (H - 1 - t)
        return H + t, N_QUBITS - 1 - (H + t)

    @triton.jit
    def _chunk_forward_kernel(src_ptr, dst_ptr, mats_ptr, index_ptr, inverse_ptr, src_stride, mats_stride, layer,
                              N_QUBITS: tl.constexpr, K: tl.constexpr, HIGH: tl.constexpr,
                              GATHER: tl.constexpr, SCATTER: tl.constexpr):
        b = tl.program_id(0)
        c = tl.program_id(1)
        idx = tl.arange(0, 1 << K)
        addr = _chunk_address(c, idx, N_QUBITS, K, HIGH)
        source = addr
        if GATHER:  # the previous layer's permutation: out[i] = in[index[i]]
            source = tl.load(index_ptr + addr)
        re = tl.load(src_ptr + b * src_stride + 2 * source)
        im = tl.load(src_ptr + b * src_stride + 2 * source + 1)
        count: tl.constexpr = N_QUBITS - K if HIGH else K
        for t in range(count):
            q, bit = _gate_bit(t, N_QUBITS, K, HIGH)
            base = mats_ptr + b * mats_stride + (layer * N_QUBITS + q) * 8
            partner = idx ^ (1 << bit)
            pr, pi = tl.gather(re, partner, 0), tl.gather(im, partner, 0)
            re, im = mix(re, im, pr, pi, (idx & (1 << bit)) != 0, base, False)
        if SCATTER:  # this layer's permutation: out[inverse[j]] = y[j]
            addr = tl.load(inverse_ptr + addr)
        tl.store(dst_ptr + b * 2 * (1 << N_QUBITS) + 2 * addr, re)
        tl.store(dst_ptr + b * 2 * (1 << N_QUBITS) + 2 * addr + 1, im)

    @triton.jit
    def _chunk_adjoint_kernel(psi_ptr, lam_ptr, psi_out_ptr, lam_out_ptr, mats_ptr, inverse_ptr, partial_ptr,
                              mats_stride, layer, N_QUBITS: tl.constexpr, K: tl.constexpr, N_LAYERS: tl.constexpr,
                              HIGH: tl.constexpr, GATHER: tl.constexpr):
        b = tl.program_id(0)
        c = tl.program_id(1)
        N: tl.constexpr = 1 << N_QUBITS
        CHUNKS: tl.constexpr = 1 << (N_QUBITS - K)
        idx = tl.arange(0, 1 << K)
        addr = _chunk_address(c, idx, N_QUBITS, K, HIGH)
        source = addr
        if GATHER:  # undo this layer's permutation: in[k] = out[inverse[k]]
            source = tl.load(inverse_ptr + addr)
        re = tl.load(psi_ptr + b * 2 * N + 2 * source)
        im = tl.load(psi_ptr + b * 2 * N + 2 * source + 1)
        gr = tl.load(lam_ptr + b * 2 * N + 2 * source)
        gi = tl.load(lam_ptr + b * 2 * N + 2 * source + 1)
        count: tl.constexpr = N_QUBITS - K if HIGH else K
        for step in range(count):
            q, bit = _gate_bit(count - 1 - step, N_QUBITS, K, HIGH)
            base = mats_ptr + b * mats_stride + (layer * N_QUBITS + q) * 8
            target = partial_ptr + (((b * N_LAYERS + layer) * N_QUBITS + q) * CHUNKS + c) * 8
            re, im, gr, gi = _adjoint_gate(re, im, gr, gi, idx, 1 << bit, base, target)
        tl.store(psi_out_ptr + b * 2 * N + 2 * addr, re)
        tl.store(psi_out_ptr + b * 2 * N + 2 * addr + 1, im)
        tl.store(lam_out_ptr + b * 2 * N + 2 * addr, gr)
        tl.store(lam_out_ptr + b * 2 * N + 2 * addr + 1, gi)

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
        for step in range(N_LAYERS):
            layer = N_LAYERS - 1 - step
            inv = tl.load(inverse_ptr + layer * N + idx)
            re, im = tl.gather(re, inv, 0), tl.gather(im, inv, 0)
            gr, gi = tl.gather(gr, inv, 0), tl.gather(gi, inv, 0)
            for t in range(N_QUBITS):
                q = N_QUBITS - 1 - t
                base = mats_ptr + b * mats_stride + (layer * N_QUBITS + q) * 8
                target = grad_mats_ptr + (b * N_LAYERS * N_QUBITS + layer * N_QUBITS + q) * 8
                re, im, gr, gi = _adjoint_gate(re, im, gr, gi, idx, 1 << (N_QUBITS - 1 - q), base, target)
        tl.store(grad_psi_ptr + b * 2 * N + 2 * idx, gr)
        tl.store(grad_psi_ptr + b * 2 * N + 2 * idx + 1, gi)
