"""Programs: lists of gate operations, run with autograd or with the adjoint method.

An :class:`Op` is one gate with its data already built (matrix, diagonal or angle, with the
autograd graph back to whatever parameters produced it). :func:`run` applies a list of them.
With ``method="adjoint"`` the forward pass keeps no intermediate state and the backward pass
walks the circuit in reverse, un-computing the state and the adjoint state one gate at a time:
two states per sample in memory instead of one per gate. The gradient of each gate's data is a
local vector-Jacobian product, so every gate kind, control pattern and per-sample angle is
handled by the same code.

>>> import torch
>>> from hybridq.sim import zero_state
>>> theta = torch.tensor(0.3, requires_grad=True)
>>> ry = torch.stack([torch.stack([theta.cos() / 1, -theta.sin()]), torch.stack([theta.sin(), theta.cos()])])
>>> op = Op("dense", (0,), data=ry.to(torch.complex64))
>>> out = run(zero_state(1), [op], method="adjoint")
>>> out.abs().square()[0, 1].backward(); round(theta.grad.item(), 4)
0.5646
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Sequence

import torch

from ..errors import ShapeError
from . import fused, kernels, pairs

Tensor = torch.Tensor
OpKind = Literal["dense", "diagonal", "flip", "swap", "pauli_rotation", "kron", "permutation", "pair_rotation"]
Method = Literal["autograd", "adjoint"]


#: Dimensions of one sample's data, by kind (one more: a leading batch axis).
_SAMPLE_DIMS = {"dense": 2, "diagonal": 1, "kron": 3, "pauli_rotation": 0, "pair_rotation": 1}


@dataclass(frozen=True, eq=False)
class Op:
    """One gate application.

    Attributes:
        kind: ``"dense"`` (data: matrix), ``"diagonal"`` (data: diagonal), ``"flip"`` (X on each
            target), ``"swap"``, ``"pauli_rotation"`` (data: angle, with ``pauli``), ``"kron"``
            (data: ``(..., m, 2, 2)`` one-qubit matrices on ascending ``qubits``) or
            ``"permutation"`` (``index``: a basis-state gather over all qubits) or ``"pair_rotation"``
            (data: each pair's angle, ``index``: the pairs, ``phase``; :mod:`hybridq.sim.pairs`).
        qubits: target qubits, the first is the most significant bit of the data's index.
        controls: control qubits; ``control_values`` their required values (default all 1).
        data: the gate's tensor, shared or with a leading batch axis.
        pauli: the Pauli string of a ``pauli_rotation``.
        index: ``(gather index, inverse)`` of a ``permutation``.
        real: whether the data is known to be real (lets kernels use real arithmetic).
        phase: the pairs' unit factors of a ``pair_rotation``.
    """

    kind: OpKind
    qubits: tuple[int, ...]
    controls: tuple[int, ...] = ()
    control_values: tuple[int, ...] | None = None
    data: Tensor | None = None
    pauli: str | None = None
    index: tuple[Tensor, Tensor] | None = None
    real: bool = False
    phase: Tensor | None = None

    @property
    def batch(self) -> int:
        """The leading batch axis of the data (1: none, the data is shared by the batch of states)."""
        if self.data is None or self.data.dim() <= _SAMPLE_DIMS.get(self.kind, self.data.dim()):
            return 1
        return self.data.shape[0]

    def apply(self, state: Tensor, data: Tensor | None = None) -> Tensor:
        """Apply to a ``(B, 2**n)`` state; ``data`` overrides the stored data."""
        d = self.data if data is None else data
        c, cv = self.controls, self.control_values
        if self.kind == "dense":
            return kernels.apply_dense(state, d, self.qubits, c, cv)
        if self.kind == "diagonal":
            return kernels.apply_diagonal(state, d, self.qubits, c, cv)
        if self.kind == "flip":
            return kernels.apply_flip(state, self.qubits, c, cv)
        if self.kind == "swap":
            return kernels.apply_swap(state, self.qubits, c, cv)
        if self.kind == "kron":
            return kernels.apply_kron(state, d, self.qubits, self.real)
        if self.kind == "permutation":
            return kernels.apply_permutation(state, *self.index)
        if self.kind == "pair_rotation":
            return pairs.apply_pair_rotation(state, d, self.phase, *self.index)
        return kernels.apply_pauli_rotation(state, d, self.pauli, self.qubits, c, cv)

    def inverse(self) -> Op:
        """The inverse gate (data detached from autograd)."""
        if self.kind == "permutation":
            return replace(self, index=self.index[::-1])
        if self.data is None:
            return self
        d = self.data.detach()
        if self.kind in ("dense", "kron"):
            d = d.conj().transpose(-1, -2)
        elif self.kind == "diagonal":
            d = d.conj()
        else:
            d = -d
        return replace(self, data=d)


def run(state: Tensor, ops: Sequence[Op], *, method: Method = "autograd") -> Tensor:
    """Apply ``ops`` in order to a ``(B, 2**n)`` state.

    Args:
        state: the initial state batch.
        ops: the program.
        method: ``"autograd"`` records every intermediate state (fastest for small states);
            ``"adjoint"`` keeps O(1) states and recomputes during backward. Defaults to autograd.
            Layered programs on small states on a GPU run as fused kernels whatever the method
            (:mod:`hybridq.sim.fused`: one kernel forward, one adjoint kernel backward).
    """
    batches = {state.shape[0], *(op.batch for op in ops)} - {1}
    if len(batches) > 1:
        raise ShapeError(f"the state and the ops' data have batches {sorted(batches)}; each must be 1 (shared) or the "
                         "same B: build the ops with the state's batch")
    if 0 in batches:  # an empty batch: nothing to apply (the kernels take no empty tensors)
        return state[:0].clone()
    out = fused.run(state, ops)  # small states on a GPU: one kernel forward, one (adjoint) backward
    if out is not None:
        return out
    return run_reference(state, ops, method=method)


def run_reference(state: Tensor, ops: Sequence[Op], *, method: Method = "autograd") -> Tensor:
    """:func:`run` on the torch kernels alone (no fused kernels)."""
    if method == "adjoint" and torch.is_grad_enabled():
        datas = [op.data for op in ops]
        return _AdjointRun.apply(state, list(ops), *datas)
    if state.device.type == "cpu" and not _records_grad(state, ops):
        return _run_in_buffers(state, ops)
    for op in ops:
        state = op.apply(state)
    return state


def _records_grad(state: Tensor, ops: Sequence[Op]) -> bool:
    return torch.is_grad_enabled() and (
        state.requires_grad or any(op.data is not None and op.data.requires_grad for op in ops))


def _run_in_buffers(state: Tensor, ops: Sequence[Op]) -> Tensor:
    """Apply ``ops`` with Kronecker and permutation ops writing into two reused buffers.

    On a CPU a fresh ``2**n`` output per op costs a page-faulting allocation, about as long as
    the op itself; without autograd nothing needs the intermediate states, so two buffers serve.
    """
    buffers: tuple[Tensor, Tensor] | None = None
    for op in ops:
        if op.kind not in ("kron", "permutation"):
            state = op.apply(state)
            continue
        batch = state.shape[0] if op.kind == "permutation" or op.data.dim() == 3 else max(state.shape[0], op.data.shape[0])
        if buffers is None or buffers[0].shape[0] != batch or buffers[0].dtype != state.dtype:
            buffers = tuple(torch.empty(batch, state.shape[1], dtype=state.dtype, device=state.device) for _ in range(2))
        if op.kind == "kron":
            state = kernels.apply_kron(state, op.data, op.qubits, op.real, scratch=buffers)
        else:
            state = kernels.apply_permutation(state, *op.index, out=kernels.free_buffer(buffers, state))
    return state


class _AdjointRun(torch.autograd.Function):
    """Forward without saving intermediates; backward by reverse un-computation."""

    @staticmethod
    def forward(ctx, state, ops, *datas):
        with torch.no_grad():
            out = state
            for op in ops:
                out = op.apply(out)
        ctx.ops = ops
        ctx.in_batch = state.shape[0]
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (psi,) = ctx.saved_tensors
        lam = grad_out
        grads: list[Tensor | None] = [None] * len(ctx.ops)
        for i in range(len(ctx.ops) - 1, -1, -1):
            op = ctx.ops[i]
            if op.kind == "pair_rotation":  # its gradient in closed form (no autograd per op)
                psi, lam, grad = pairs.adjoint_step(psi, lam, op.data.detach(), op.phase, *op.index)
                grads[i] = grad if ctx.needs_input_grad[2 + i] else None
                continue
            inv = op.inverse()
            psi = inv.apply(psi)  # the state before gate i
            if op.data is not None and ctx.needs_input_grad[2 + i]:
                with torch.enable_grad():
                    data = op.data.detach().requires_grad_(True)
                    (grads[i],) = torch.autograd.grad(op.apply(psi, data), data, lam)
            lam = inv.apply(lam)
        grad_state = None
        if ctx.needs_input_grad[0]:
            grad_state = lam.sum(0, keepdim=True) if lam.shape[0] != ctx.in_batch else lam
        return (grad_state, None, *grads)
