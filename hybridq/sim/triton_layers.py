"""Triton kernels of :class:`~hybridq.sim.layers.Layered` programs: one kernel per circuit.

Each program (one per sample) loads its ``2**n`` amplitudes into registers and walks a table of
steps, one row each:

- a one-qubit matrix on one qubit, with any controls (open or closed): a layer's one-qubit
  gates, CRX, CRY, CH, controlled U3;
- a two-qubit matrix on any pair, with any controls: RXX, RYY, arbitrary two-qubit unitaries;
- a diagonal on up to :data:`MAX_DIAGONAL_QUBITS` qubits: CZ, CP, CRZ, RZZ, Z phases;
- a permutation (a gather): CNOT rings, SWAPs, Toffolis.

The data of every step (matrices, diagonals) is packed into one ``(B or 1, W)`` complex buffer
per call, so per-sample (input-dependent) angles cost nothing more than shared ones. The
backward kernel is the adjoint method: it walks the table in reverse, un-computes the state and
the adjoint state step by step and reduces each step's gradient on chip into the same layout;
autograd then hands every part of it back to the step that made it. No intermediate state is
stored. complex64 and complex128 alike (the kernels take the buffers' real dtype).

Programs of layers that the older whole-layer kernels take (one-qubit gates on every qubit and a
permutation, :func:`hybridq.sim.fused.run`) are left to them: they are tuned for that shape.

>>> import torch
>>> from hybridq.sim.layers import Diagonal, Layer, Layered
>>> program = Layered(2, 1, torch.complex64, torch.device("cpu"), (Layer((), (Diagonal((0, 1), torch.ones(1, 4)),)),))
>>> TritonExecutor().run(program, None, "adjoint") is None  # the CPU is not its device
True
"""

from __future__ import annotations

import functools

import torch

from . import fused
from .layers import Dense, Diagonal, Layered, Permutation, joined

Tensor = torch.Tensor
tl = fused.tl
triton = fused.triton

#: Largest diagonal step (qubits) the kernels take.
MAX_DIAGONAL_QUBITS = 3
#: Largest state of the kernels: the whole state of a sample stays in registers.
MAX_QUBITS = fused.MAX_WHOLE_QUBITS
#: Step kinds (first column of a table row).
ONE, TWO, DIAG, PERM = 0, 1, 2, 3
#: Columns of a table row: kind, three qubit bits, control mask, control values, data offset, size.
ROW = 8


class TritonExecutor:
    """The engine's executor of :class:`Layered` programs on CUDA (see the module docstring)."""

    name = "triton-layers"

    def run(self, program: Layered, state: Tensor | None, method) -> Tensor | None:
        from .engine import fused_enabled

        if not (fused_enabled() and fused._triton(program.device) and program.dtype in fused.DTYPES):
            return None
        if not fused.common_batch([program.batch] + ([] if state is None else [state.shape[0]])):
            return None  # an empty batch (nothing to launch) or start states that do not broadcast to it
        if not 2 <= program.n_qubits <= MAX_QUBITS or _plain_layers(program) or not _known_steps(program):
            return None
        plan = _plan(program)
        if plan is None:
            return None
        return run(program, plan, state)


def _plain_layers(program: Layered) -> bool:
    """Whether every layer is one-qubit gates on every qubit and at most a permutation."""
    return all(len(layer.one_qubit_on) == program.n_qubits and all(isinstance(s, Permutation) for s in layer.steps)
               and len(layer.steps) <= 1 for layer in program.layers)


def _known_steps(program: Layered) -> bool:
    """Whether every step is of a type the kernels take (not a pair rotation, for one)."""
    return all(isinstance(s, (Diagonal, Dense, Permutation)) for layer in program.layers for s in layer.steps)


def _key(program: Layered) -> tuple:
    steps = []
    for layer in program.layers:
        parts = [layer.one_qubit_on]
        for s in layer.steps:
            if isinstance(s, Permutation):
                parts.append(("P", id(s.index)))
            elif isinstance(s, Diagonal):
                parts.append(("D", s.qubits))
            else:
                parts.append(("M", s.qubits, s.controls, s.control_values))
        steps.append(tuple(parts))
    return program.n_qubits, program.device, tuple(steps)


class _Plan:
    """The step table of a program structure (on the device) and its permutations."""

    def __init__(self, table: Tensor, perms: Tensor, width: int, n_steps: int, held: list):
        self.table, self.perms, self.width, self.n_steps, self.held = table, perms, width, n_steps, held


_PLANS: dict[tuple, _Plan] = {}


def _plan(program: Layered) -> _Plan | None:
    """The table of ``program``'s structure, made once per structure (None: a step the kernels
    do not take). Held permutations keep their ``id`` valid as part of the key."""
    key = _key(program)
    hit = _PLANS.get(key)
    if hit is not None:
        return hit
    n = program.n_qubits
    bit = lambda q: 1 << (n - 1 - q)  # noqa: E731
    rows, perms, held = [], [], []
    offset = program.n_layers * n * 4  # the one-qubit matrices come first
    for k, layer in enumerate(program.layers):
        for q in layer.one_qubit_on:
            rows.append([ONE, bit(q), 0, 0, 0, 0, (k * n + q) * 4, 4])
        for s in layer.steps:
            if isinstance(s, Permutation):
                rows.append([PERM, 0, 0, 0, 0, 0, len(perms) * 2**n, 0])
                perms += [s.index, s.inverse]
                held.append(s.index)
                continue
            if isinstance(s, Diagonal):
                if len(s.qubits) > MAX_DIAGONAL_QUBITS:
                    return None
                wires = [bit(q) for q in s.qubits] + [0] * (3 - len(s.qubits))
                size = 2 ** len(s.qubits)
                rows.append([DIAG, *wires, len(s.qubits), 0, offset, size])
            else:
                if len(s.qubits) > 2:
                    return None
                mask = sum(bit(c) for c in s.controls)
                values = sum(bit(c) for c, v in zip(s.controls, s.control_values or (1,) * len(s.controls)) if v)
                size = 4 ** len(s.qubits)
                wires = [bit(q) for q in s.qubits] + [0] * (3 - len(s.qubits))
                rows.append([ONE if len(s.qubits) == 1 else TWO, *wires, mask, values, offset, size])
            offset += size
    device = program.device
    table = torch.tensor(rows or [[PERM, 0, 0, 0, 0, 0, 0, 0]], dtype=torch.int32).to(device)
    index = torch.cat([p.to(device=device, dtype=torch.int32) for p in perms]) if perms else torch.zeros(1, dtype=torch.int32, device=device)
    plan = _Plan(table, index, offset, len(rows), held)
    if len(_PLANS) >= 64:
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[key] = plan
    return plan


def _pack(program: Layered) -> Tensor:
    """Every step's data as one ``(B or 1, W)`` complex tensor in the table's order (differentiable):
    the one-qubit matrices, then :meth:`~hybridq.sim.layers.Layered.step_data`."""
    mats = program.one_qubit() if program.matrices is not None or program.recipe is not None else None
    if mats is None:
        mats = torch.zeros(1, program.n_layers * program.n_qubits * 4, dtype=program.dtype, device=program.device)
    steps = program.step_data()
    return joined([mats] if steps is None else [mats, steps], program.dtype)


@functools.lru_cache(maxsize=32)
def _zero(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    state = torch.zeros(1, 2**n, dtype=dtype, device=device)
    state[0, 0] = 1
    return state


def run(program: Layered, plan: _Plan, state: Tensor | None) -> Tensor:
    """The output states ``(B, 2**n)`` of ``program`` from ``state`` (None: ``|0...0>``)."""
    data = _pack(program)
    state = _zero(program.n_qubits, program.dtype, program.device) if state is None else state.to(program.dtype)
    out = _Run.apply(state, data, plan, program.batch)
    return out


def _warps(n: int) -> int:
    return 4 if n <= 10 else 8


class _Run(torch.autograd.Function):
    @staticmethod
    def forward(ctx, state, data, plan, batch):
        n = state.shape[1].bit_length() - 1
        state, data = state.contiguous(), data.contiguous()
        out = torch.empty(batch, 2**n, dtype=state.dtype, device=state.device)
        psi, d = torch.view_as_real(state), torch.view_as_real(data)
        _forward_kernel[(batch,)](psi, d, plan.table, plan.perms, torch.view_as_real(out),
                                  psi.stride(0) if state.shape[0] > 1 else 0, d.stride(0) if data.shape[0] > 1 else 0,
                                  plan.n_steps, N_QUBITS=n, num_warps=_warps(n))
        ctx.plan, ctx.state_batch, ctx.data_batch = plan, state.shape[0], data.shape[0]
        ctx.save_for_backward(out, data)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, data = ctx.saved_tensors
        plan, batch, n = ctx.plan, out.shape[0], out.shape[1].bit_length() - 1
        grad = grad.contiguous()
        grad_data = torch.zeros(batch, data.shape[1], dtype=data.dtype, device=data.device)
        grad_state = torch.empty_like(out)
        d = torch.view_as_real(data)
        _backward_kernel[(batch,)](torch.view_as_real(out), torch.view_as_real(grad), d, plan.table, plan.perms,
                                   torch.view_as_real(grad_data), torch.view_as_real(grad_state),
                                   d.stride(0) if data.shape[0] > 1 else 0, 2 * data.shape[1], plan.n_steps,
                                   N_QUBITS=n, num_warps=_warps(n))
        if ctx.data_batch == 1:
            grad_data = grad_data.sum(0, keepdim=True)
        if not ctx.needs_input_grad[0]:
            return None, grad_data, None, None
        return (grad_state.sum(0, keepdim=True) if ctx.state_batch == 1 else grad_state), grad_data, None, None


if tl is not None:

    @triton.jit
    def _one(re, im, idx, s, mask, values, base, ADJOINT: tl.constexpr):
        """A (controlled) one-qubit matrix at ``base`` (or its adjoint) on qubit bit ``s``."""
        hi = (idx & s) != 0
        pr, pi = tl.gather(re, idx ^ s, 0), tl.gather(im, idx ^ s, 0)
        nr, ni = fused._mix(re, im, pr, pi, hi, base, ADJOINT)
        on = (idx & mask) == values
        return tl.where(on, nr, re), tl.where(on, ni, im)

    @triton.jit
    def _two(re, im, idx, sa, sb, mask, values, base, ADJOINT: tl.constexpr):
        """A (controlled) two-qubit matrix at ``base`` (or its adjoint) on bits ``sa`` (its index's
        most significant) and ``sb``."""
        r = ((idx & sa) != 0).to(tl.int32) * 2 + ((idx & sb) != 0).to(tl.int32)
        accr = tl.zeros_like(re)
        acci = tl.zeros_like(im)
        for d in tl.static_range(4):
            flip = (sa if d >= 2 else 0) ^ (sb if d % 2 == 1 else 0)
            pr, pi = tl.gather(re, idx ^ flip, 0), tl.gather(im, idx ^ flip, 0)
            c = r ^ d
            if ADJOINT:  # (M^H)[r][c] = conj(M[c][r])
                e = c * 4 + r
                mr, mi = tl.load(base + 2 * e), -tl.load(base + 2 * e + 1)
            else:
                e = r * 4 + c
                mr, mi = tl.load(base + 2 * e), tl.load(base + 2 * e + 1)
            accr += mr * pr - mi * pi
            acci += mr * pi + mi * pr
        on = (idx & mask) == values
        return tl.where(on, accr, re), tl.where(on, acci, im)

    @triton.jit
    def _diagonal_index(idx, s0, s1, s2, k):
        j = ((idx & s0) != 0).to(tl.int32) * 4 + ((idx & s1) != 0).to(tl.int32) * 2 + ((idx & s2) != 0).to(tl.int32)
        return j >> (3 - k)

    @triton.jit
    def _diagonal(re, im, j, base, ADJOINT: tl.constexpr):
        vr = tl.load(base + 2 * j)
        vi = tl.load(base + 2 * j + 1)
        if ADJOINT:
            vi = -vi
        return vr * re - vi * im, vr * im + vi * re

    @triton.jit
    def _row(table_ptr, t):
        row = table_ptr + t * 8
        return (tl.load(row), tl.load(row + 1), tl.load(row + 2), tl.load(row + 3), tl.load(row + 4),
                tl.load(row + 5), tl.load(row + 6), tl.load(row + 7))

    @triton.jit
    def _forward_kernel(psi_ptr, data_ptr, table_ptr, perm_ptr, out_ptr, psi_stride, data_stride, n_steps,
                        N_QUBITS: tl.constexpr):
        b = tl.program_id(0)
        N: tl.constexpr = 1 << N_QUBITS
        idx = tl.arange(0, N)
        re = tl.load(psi_ptr + b * psi_stride + 2 * idx)
        im = tl.load(psi_ptr + b * psi_stride + 2 * idx + 1)
        data = data_ptr + b * data_stride
        for t in range(n_steps):
            kind, s0, s1, s2, mask, values, offset, size = _row(table_ptr, t)
            base = data + 2 * offset
            if kind == 0:
                re, im = _one(re, im, idx, s0, mask, values, base, False)
            elif kind == 1:
                re, im = _two(re, im, idx, s0, s1, mask, values, base, False)
            elif kind == 2:
                re, im = _diagonal(re, im, _diagonal_index(idx, s0, s1, s2, mask), base, False)
            else:
                perm = tl.load(perm_ptr + offset + idx)
                re, im = tl.gather(re, perm, 0), tl.gather(im, perm, 0)
        tl.store(out_ptr + b * 2 * N + 2 * idx, re)
        tl.store(out_ptr + b * 2 * N + 2 * idx + 1, im)

    @triton.jit
    def _one_sums(re, im, gr, gi, idx, s, on, target):
        """Store at ``target`` the 8 reals of ``G[r][c] = sum lam_r conj(psi_c)`` over the pairs of
        bit ``s`` (psi before the gate, lam after it, amplitudes off the controls left out)."""
        qr, qi = tl.gather(re, idx ^ s, 0), tl.gather(im, idx ^ s, 0)
        zero = tl.zeros_like(re)
        dr, di = tl.where(on, gr * re + gi * im, zero), tl.where(on, gi * re - gr * im, zero)  # own: G[h][h]
        orr, oi = tl.where(on, gr * qr + gi * qi, zero), tl.where(on, gi * qr - gr * qi, zero)  # partner: G[h][1-h]
        fused.pair_sums(dr, di, orr, oi, (idx & s) != 0, target)

    @triton.jit
    def _slot_sum(sel, tr, ti, target):
        """Store at ``target`` the complex sum of ``tr + i ti`` where ``sel``."""
        tl.store(target, tl.sum(tl.where(sel, tr, 0.0), axis=0))
        tl.store(target + 1, tl.sum(tl.where(sel, ti, 0.0), axis=0))

    @triton.jit
    def _backward_kernel(out_ptr, grad_ptr, data_ptr, table_ptr, perm_ptr, grad_data_ptr, grad_psi_ptr,
                         data_stride, grad_stride, n_steps, N_QUBITS: tl.constexpr):
        """The adjoint sweep: per step (last first), the state before it, the gradient of its data
        (``dL/dM = sum lam psi_before^H`` over the amplitudes it mixes, masked by its controls),
        and the adjoint state before it."""
        b = tl.program_id(0)
        N: tl.constexpr = 1 << N_QUBITS
        idx = tl.arange(0, N)
        re = tl.load(out_ptr + b * 2 * N + 2 * idx)
        im = tl.load(out_ptr + b * 2 * N + 2 * idx + 1)
        gr = tl.load(grad_ptr + b * 2 * N + 2 * idx)
        gi = tl.load(grad_ptr + b * 2 * N + 2 * idx + 1)
        data = data_ptr + b * data_stride
        grads = grad_data_ptr + b * grad_stride
        zero = tl.zeros_like(re)
        for step in range(n_steps):
            t = n_steps - 1 - step
            kind, s0, s1, s2, mask, values, offset, size = _row(table_ptr, t)
            base = data + 2 * offset
            target = grads + 2 * offset
            if kind == 0:
                re, im = _one(re, im, idx, s0, mask, values, base, True)
                _one_sums(re, im, gr, gi, idx, s0, (idx & mask) == values, target)
                gr, gi = _one(gr, gi, idx, s0, mask, values, base, True)
            elif kind == 1:
                on = (idx & mask) == values
                re, im = _two(re, im, idx, s0, s1, mask, values, base, True)
                r = ((idx & s0) != 0).to(tl.int32) * 2 + ((idx & s1) != 0).to(tl.int32)
                for d in tl.static_range(4):  # G[r][r ^ d]: lam at r, psi at its partner r ^ d
                    flip = (s0 if d >= 2 else 0) ^ (s1 if d % 2 == 1 else 0)
                    qr, qi = tl.gather(re, idx ^ flip, 0), tl.gather(im, idx ^ flip, 0)
                    tr = tl.where(on, gr * qr + gi * qi, zero)
                    ti = tl.where(on, gi * qr - gr * qi, zero)
                    for row in tl.static_range(4):
                        _slot_sum(r == row, tr, ti, target + 2 * (row * 4 + (row ^ d)))
                gr, gi = _two(gr, gi, idx, s0, s1, mask, values, base, True)
            elif kind == 2:
                j = _diagonal_index(idx, s0, s1, s2, mask)
                re, im = _diagonal(re, im, j, base, True)
                tr, ti = gr * re + gi * im, gi * re - gr * im
                for slot in range(size):
                    _slot_sum(j == slot, tr, ti, target + 2 * slot)
                gr, gi = _diagonal(gr, gi, j, base, True)
            else:
                inverse = tl.load(perm_ptr + offset + N + idx)
                re, im = tl.gather(re, inverse, 0), tl.gather(im, inverse, 0)
                gr, gi = tl.gather(gr, inverse, 0), tl.gather(gi, inverse, 0)
        tl.store(grad_psi_ptr + b * 2 * N + 2 * idx, gr)
        tl.store(grad_psi_ptr + b * 2 * N + 2 * idx + 1, gi)
