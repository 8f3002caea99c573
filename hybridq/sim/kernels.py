"""Gate kernels on batches of state vectors.

Shape contract (every function here):
    state: ``(B, 2**n)`` complex (or real, for real gates); the batch axis is always present.
    data:  a matrix ``(2**k, 2**k)`` shared by the batch, or ``(B, 2**k, 2**k)`` one per sample;
           a diagonal ``(2**k,)`` or ``(B, 2**k)``.
    returns a new ``(B', 2**n)`` tensor (``B'`` = the larger batch; a batch of 1 broadcasts).

Qubit 0 is the most significant bit of an index. Within ``data``, ``qubits[0]`` is the most
significant bit. ``controls`` are qubits that must be 1 (or ``control_values[i]``) for the gate
to act. Kernels are out of place and differentiable with autograd.

Kernels trust their arguments (no validation): :mod:`hybridq.sim.ops` validates at the API
boundary.

>>> import torch
>>> psi = torch.tensor([[1, 0, 0, 0]], dtype=torch.complex64)
>>> h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex64) / 2 ** 0.5
>>> apply_dense(psi, h, (0,)).abs().square()
tensor([[0.5000, 0.0000, 0.5000, 0.0000]])
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

Tensor = torch.Tensor


def n_qubits_of(state: Tensor) -> int:
    """Number of qubits of a ``(B, 2**n)`` state."""
    return state.shape[-1].bit_length() - 1


def _batch(state: Tensor, data: Tensor | None, data_rank: int) -> int:
    b = state.shape[0]
    if data is not None and data.dim() > data_rank:
        return max(b, data.shape[0])
    return b


def _controlled(
    state: Tensor,
    qubits: Sequence[int],
    controls: Sequence[int],
    control_values: Sequence[int] | None,
    batch: int,
    act: Callable[[Tensor, tuple[int, ...]], Tensor],
) -> Tensor:
    """Reshape to ``(B, 2, ..., 2)``, apply ``act(view, target_axes)`` on the controlled slice.

    ``act`` receives a tensor whose axis 0 is the batch and the target axes (1-based positions
    among the remaining qubit axes) and returns the transformed tensor of the same shape.
    """
    n = n_qubits_of(state)
    psi = state.reshape((state.shape[0],) + (2,) * n)
    if psi.shape[0] != batch:
        psi = psi.expand((batch,) + (2,) * n)
    if not controls:
        return act(psi, tuple(1 + q for q in qubits)).reshape(batch, -1)
    values = control_values if control_values is not None else (1,) * len(controls)
    index: list = [slice(None)] * (n + 1)
    for c, v in zip(controls, values):
        index[1 + c] = int(v)
    index = tuple(index)
    kept = [q for q in range(n) if q not in set(controls)]
    axes = tuple(1 + kept.index(q) for q in qubits)
    out = psi.clone()
    out[index] = act(psi[index], axes)
    return out.reshape(batch, -1)


def apply_dense(
    state: Tensor,
    matrix: Tensor,
    qubits: Sequence[int],
    controls: Sequence[int] = (),
    control_values: Sequence[int] | None = None,
) -> Tensor:
    """Apply a dense ``2**k x 2**k`` matrix (shared or per sample) to ``qubits``."""
    k = len(qubits)
    batch = _batch(state, matrix, 2)

    def act(psi: Tensor, axes: tuple[int, ...]) -> Tensor:
        if k == 1:
            return _dense_1q(psi, matrix, axes[0])
        m = psi.dim() - 1
        last = tuple(range(m + 1 - k, m + 1))
        moved = psi.movedim(axes, last)
        shape = moved.shape
        flat = moved.reshape(shape[0], -1, 2**k)
        out = flat @ matrix.transpose(-1, -2)  # (B, R, K) @ (K, K) or (B, K, K)
        return out.reshape(shape).movedim(last, axes)

    return _controlled(state, qubits, controls, control_values, batch, act)


def _dense_1q(psi: Tensor, matrix: Tensor, axis: int) -> Tensor:
    """One-qubit matrix as two fused multiply-adds on the two halves (no transposes)."""
    b = psi.shape[0]
    left = 1
    for d in psi.shape[1:axis]:
        left *= d
    view = psi.reshape(b, left, 2, -1)
    a0, a1 = view[:, :, 0], view[:, :, 1]
    m = matrix.reshape(-1, 1, 1, 2, 2) if matrix.dim() == 3 else matrix.reshape(1, 1, 1, 2, 2)
    m = m.squeeze(1)  # (Bm, 1, 2, 2) broadcasting against (b, left, R)
    out0 = m[..., 0, 0, None] * a0 + m[..., 0, 1, None] * a1
    out1 = m[..., 1, 0, None] * a0 + m[..., 1, 1, None] * a1
    return torch.stack([out0, out1], dim=2).reshape(psi.shape)


def apply_diagonal(
    state: Tensor,
    diagonal: Tensor,
    qubits: Sequence[int],
    controls: Sequence[int] = (),
    control_values: Sequence[int] | None = None,
) -> Tensor:
    """Multiply by a diagonal of length ``2**k`` (shared or per sample) on ``qubits``."""
    k = len(qubits)
    batch = _batch(state, diagonal, 1)

    def act(psi: Tensor, axes: tuple[int, ...]) -> Tensor:
        bd = diagonal.shape[0] if diagonal.dim() == 2 else 1
        d = diagonal.reshape((bd,) + (2,) * k)
        order = sorted(range(k), key=lambda i: axes[i])
        d = d.permute(0, *(1 + i for i in order))
        shape = [bd] + [1] * (psi.dim() - 1)
        for i in order:
            shape[axes[i]] = 2
        return psi * d.reshape(shape)

    return _controlled(state, qubits, controls, control_values, batch, act)


def apply_flip(
    state: Tensor,
    qubits: Sequence[int],
    controls: Sequence[int] = (),
    control_values: Sequence[int] | None = None,
) -> Tensor:
    """Apply X to every qubit in ``qubits`` (CNOT, Toffoli, multi-controlled X)."""
    return _controlled(state, qubits, controls, control_values, state.shape[0], lambda psi, axes: psi.flip(axes))


def apply_swap(
    state: Tensor,
    qubits: Sequence[int],
    controls: Sequence[int] = (),
    control_values: Sequence[int] | None = None,
) -> Tensor:
    """Swap two qubits (Fredkin with controls)."""
    return _controlled(
        state, qubits, controls, control_values, state.shape[0], lambda psi, axes: psi.transpose(*axes)
    )


def apply_pauli(state: Tensor, pauli: str, qubits: Sequence[int]) -> Tensor:
    """Apply the Pauli string ``pauli`` (characters I, X, Y, Z) on ``qubits``: one flip, one sign."""
    n = n_qubits_of(state)
    psi = state.reshape((state.shape[0],) + (2,) * n)
    flips = tuple(1 + q for q, p in zip(qubits, pauli) if p in "XY")
    if flips:
        psi = psi.flip(flips)
    phase = (1j) ** pauli.count("Y")
    signs = [q for q, p in zip(qubits, pauli) if p in "YZ"]
    if signs:
        # after the flip, Y = i X Z acts as i * (-1)^bit of the *output* for Z-type factors
        sign = torch.ones((1,) + (2,) * n, dtype=state.real.dtype if state.is_complex() else state.dtype,
                          device=state.device)
        for q in signs:
            shape = [1] * (n + 1)
            shape[1 + q] = 2
            sign = sign * (1 - 2 * torch.arange(2, dtype=sign.dtype, device=sign.device)).reshape(shape)  # +1, -1
        psi = psi * sign
        # Y|b> = i(-1)^b |1-b>; the sign above was taken on the output bit 1-b, so flip it back
        phase *= (-1) ** sum(1 for p in pauli if p == "Y")
    if phase != 1:
        psi = psi * phase
    return psi.reshape(state.shape[0], -1)


def apply_pauli_rotation(
    state: Tensor,
    theta: Tensor,
    pauli: str,
    qubits: Sequence[int],
    controls: Sequence[int] = (),
    control_values: Sequence[int] | None = None,
) -> Tensor:
    """``exp(-i theta/2 P)`` for a Pauli string ``P`` on ``qubits``; theta shared or ``(B,)``.

    Computed as ``cos(theta/2) psi - i sin(theta/2) P psi``: two passes, any number of qubits.
    """
    batch = _batch(state, theta, 0)
    half = theta / 2
    c = torch.cos(half).to(state.dtype)
    s = torch.sin(half).to(state.dtype)

    def act(psi: Tensor, axes: tuple[int, ...]) -> Tensor:
        flat = psi.reshape(psi.shape[0], -1)
        p_psi = apply_pauli(flat, pauli, [a - 1 for a in axes])
        cc = c.reshape(-1, 1) if c.dim() else c
        ss = s.reshape(-1, 1) if s.dim() else s
        return (cc * flat - 1j * ss * p_psi).reshape(psi.shape)

    return _controlled(state, qubits, controls, control_values, batch, act)


def kron_block_sizes(qubits: Sequence[int], n: int, per_sample: bool = False, real: bool = False) -> list[list[int]]:
    """Split sorted ``qubits`` into runs of adjacent qubits of at most 5, or 4 where the
    arithmetic of larger blocks dominates: per-sample matrices on more than 10 qubits, and real
    matrices (applied as real matmuls, which 16 x 16 blocks keep memory-bound)."""
    limit = 4 if (per_sample and n > 10) or real else 5
    blocks: list[list[int]] = []
    for q in qubits:
        if blocks and q == blocks[-1][-1] + 1 and len(blocks[-1]) < limit:
            blocks[-1].append(q)
        else:
            blocks.append([q])
    return blocks


def matmul_2x2(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for (batches of) ``2 x 2`` matrices. On a GPU, elementwise: batched BLAS calls
    on tiny matrices cost far more (tens of microseconds per call) than these two kernels; on a
    CPU, batched matmul is the fastest (3x the elementwise form, whose complex reduction is slow)."""
    if a.device.type == "cpu":
        return a @ b
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2)


def kron_matrices(mats: Tensor) -> Tensor:
    """Kronecker product of ``(..., m, 2, 2)`` one-qubit matrices: ``(..., 2**m, 2**m)``.

    Built as a balanced tree of pairwise products, each an outer product by batched matmul
    and one transpose, whose backward is again matmuls (not reductions over broadcast axes).
    """
    m = mats.shape[-3]
    if m == 1:
        return mats[..., 0, :, :]
    a, b = kron_matrices(mats[..., : m // 2, :, :]), kron_matrices(mats[..., m // 2 :, :, :])
    da, db = a.shape[-1], b.shape[-1]
    lead = a.shape[:-2]
    outer = a.reshape(-1, da * da, 1) @ b.reshape(-1, 1, db * db)
    return outer.reshape(*lead, da, da, db, db).transpose(-3, -2).reshape(*lead, da * db, da * db)


def free_buffer(buffers: tuple[Tensor, Tensor], state: Tensor) -> Tensor:
    """Of two scratch buffers, the one that does not hold ``state``."""
    return buffers[0] if buffers[0].data_ptr() != state.data_ptr() else buffers[1]


def apply_kron(state: Tensor, mats: Tensor, qubits: Sequence[int], real: bool = False,
               scratch: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """Apply one-qubit matrices ``mats[..., j]`` to ``qubits[j]`` (ascending), a block at a time.

    Each block of adjacent qubits becomes one Kronecker matrix applied by a batched matmul.
    When the op covers every qubit (and no ``scratch`` is given), each block is a plain ``bmm``
    of the transposed ``(B, 2**k, rest)`` view, which also rotates the qubit order by ``k``;
    after the last block the order is back where it started. Otherwise blocks act on
    ``(B, left, 2**k, right)`` views. With ``real=True`` (all matrices real) a complex state is
    transformed with real arithmetic on (re, im) pairs. ``scratch``: two buffers shaped like the
    result that the blocks write into in turn, instead of new memory (no autograd).

    Shape: ``mats`` is ``(m, 2, 2)`` shared or ``(B, m, 2, 2)`` per sample.
    """
    n = n_qubits_of(state)
    batch = _batch(state, mats, 3)
    psi = state if state.shape[0] == batch else state.expand(batch, -1)
    per_sample = mats.dim() == 4
    pos = {q: j for j, q in enumerate(qubits)}
    real = real and psi.is_complex()
    rotating = len(qubits) == n and scratch is None  # complex bmm blocks (see _RotatingBlocks)
    blocks = kron_block_sizes(qubits, n, per_sample, real and not rotating)
    if rotating:
        ms = [kron_matrices(mats[..., pos[b[0]] : pos[b[-1]] + 1, :, :]) for b in blocks]  # slices: no index copy
        return _RotatingBlocks.apply(psi, *ms)
    for block in blocks:
        k = len(block)
        m = kron_matrices(mats[..., pos[block[0]] : pos[block[-1]] + 1, :, :])
        left, right = 2 ** block[0], 2 ** (n - block[-1] - 1)
        out = None
        if scratch is not None:
            out = free_buffer(scratch, psi).view(batch, left, 2**k, right)
        if real and right > 1:
            shape = (batch, left, 2**k, 2 * right)
            view = torch.view_as_real(psi.reshape(batch, left, 2**k, right)).reshape(shape)
            mr = m.real.contiguous()  # a strided real view would send matmul down a per-matrix path
            result = torch.matmul(mr[:, None] if per_sample else mr, view,
                                  out=None if out is None else torch.view_as_real(out).view(shape))
            psi = torch.view_as_complex(result.reshape(batch, left, 2**k, right, 2)).reshape(batch, -1)
        elif right == 1:
            psi = torch.matmul(psi.reshape(batch, left, 2**k), m.transpose(-1, -2),
                               out=None if out is None else out.view(batch, left, 2**k)).reshape(batch, -1)
        else:
            psi = torch.matmul(m[:, None] if per_sample else m, psi.reshape(batch, left, 2**k, right),
                               out=out).reshape(batch, -1)
    return psi


class _RotatingBlocks(torch.autograd.Function):
    """Block matrices ``ms`` applied to the leading qubits of a ``(B, 2**n)`` state, each as one
    matmul of the ``(B, 2**k, rest)`` view's transpose, which also rotates the qubit order by
    ``k`` (the blocks of :func:`apply_kron` cover every qubit, so the order ends where it began).

    The backward is two matmuls per block on transposed / conjugated views (no copies):
    ``grad_x = m^H g^T`` and ``grad_m = g^T x^H`` for ``out = x^T m^T``.
    """

    @staticmethod
    def forward(ctx, psi, *ms):
        batch = psi.shape[0]
        inputs = []
        for m in ms:
            x = psi.reshape(batch, m.shape[-1], -1)
            inputs.append(x)
            psi = (x.mT @ m.mT).reshape(batch, -1)
        ctx.save_for_backward(*inputs, *ms)
        return psi

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        k = len(saved) // 2
        inputs, ms = saved[:k], saved[k:]
        grads: list[Tensor | None] = [None] * k
        for i in range(k - 1, -1, -1):
            x, m = inputs[i], ms[i]
            g = grad.reshape(x.shape[0], -1, m.shape[-1]).mT  # (B, K, rest) view
            if ctx.needs_input_grad[1 + i]:
                gm = g @ x.mH
                grads[i] = gm if m.dim() == 3 else gm.sum(0)
            grad = (m.mH @ g).reshape(x.shape[0], -1)
        return (grad if ctx.needs_input_grad[0] else None, *grads)


class _Permute(torch.autograd.Function):
    """``out[:, i] = state[:, index[i]]``; the backward gathers with the inverse permutation."""

    @staticmethod
    def forward(ctx, state, index, inverse):
        ctx.inverse = inverse
        return _gather(state, index)

    @staticmethod
    def backward(ctx, grad):
        return _gather(grad, ctx.inverse), None, None


def _gather(state: Tensor, index: Tensor, out: Tensor | None = None) -> Tensor:
    """``state[:, index]``, into ``out`` if given. complex64 moves as float64 words; one state
    is a 1-D select and a batch a gather with a broadcast index: on a CPU each is several times
    faster than ``index_select`` along dim 1."""
    words = state.dtype == torch.complex64
    src = state.contiguous().view(torch.float64) if words else state
    dst = None if out is None else (out.view(torch.float64) if words else out)
    if src.shape[0] == 1:
        result = torch.index_select(src[0], 0, index, out=None if dst is None else dst[0]).unsqueeze(0)
    else:
        result = torch.gather(src, 1, index.long().expand(src.shape[0], -1), out=dst)
    return result.view(torch.complex64) if words else result


def apply_permutation(state: Tensor, index: Tensor, inverse: Tensor, out: Tensor | None = None) -> Tensor:
    """Permute basis states: ``out[:, i] = state[:, index[i]]`` (``inverse`` is its inverse).

    ``out``: a buffer shaped like ``state`` to write into (no autograd).
    """
    if out is None:
        return _Permute.apply(state, index, inverse)
    return _gather(state, index, out)
