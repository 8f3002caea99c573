"""The engine's CPU executor for programs of pair rotations (``pairs.c``): the chemistry ansätze.

A UCCSD circuit compiles to one :class:`~hybridq.sim.layers.PairRotation` step per excitation
(and, with its Hartree-Fock start, permutations), usually on one state. ``pairs.c`` applies the
steps in place on each state in torch's layout; the backward is one adjoint sweep that returns
every pair's angle gradient and, if wanted, ``dL/d(input)``.

Taken: a CPU with the native kernels (``HYBRIDQ_NATIVE``, ``HYBRIDQ_FUSED``), complex states,
steps that are pair rotations and permutations, one-qubit gates only in the first layer (a
Hartree-Fock start's X gates: run first, by the engine); any batch. Anything else is declined
(the next executor runs it).

>>> import torch
>>> from hybridq.sim.layers import Layer, Layered, PairRotation
>>> step = PairRotation(torch.tensor([1]), torch.tensor([2]), torch.tensor([1 + 0j]), torch.tensor([[torch.pi]]))
>>> program = Layered(2, 1, torch.complex128, torch.device("cpu"), (Layer((), (step,)),))
>>> start = torch.tensor([[0, 1, 0, 0]], dtype=torch.complex128)
>>> out = run_program(program, start)
>>> out is None or out.real.round().abs().tolist() == [[0.0, 0.0, 1.0, 0.0]]
True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from . import fused, native
from .layers import Layer, Layered, PairRotation, Permutation

Tensor = torch.Tensor


@dataclass(frozen=True)
class PairTables:
    """The steps as ``pairs.c`` reads them: ``steps`` ``(K, 3)`` int64 (kind, first, last), the
    concatenated pairs ``x``, ``y`` (int64) and ``phase`` (complex, as reals), the permutations'
    ``perms`` and ``inverses`` ``(P, 2**n)`` int32, and the pair count."""

    steps: Tensor
    x: Tensor
    y: Tensor
    phase: Tensor
    perms: Tensor
    inverses: Tensor
    pairs: int


_TABLES: dict[tuple, tuple[list, PairTables]] = {}


def _tables(steps: list, n: int, dtype: torch.dtype) -> PairTables:
    """The static tables of ``steps`` (cached by the identity of their index tensors, which the
    cache holds, so that an id is not reused while it is cached)."""
    held = [t for s in steps for t in ((s.x_index, s.y_index, s.phase) if isinstance(s, PairRotation) else (s.index,))]
    key = (n, dtype, *map(id, held))
    hit = _TABLES.get(key)
    if hit is not None:
        return hit[1]
    rows, first, perms = [], 0, []
    for s in steps:
        if isinstance(s, Permutation):
            rows.append((1, len(perms), 0))
            perms.append(s)
        else:
            rows.append((0, first, first + s.x_index.numel()))
            first += s.x_index.numel()
    pair_steps = [s for s in steps if isinstance(s, PairRotation)]
    cat = lambda parts, empty: torch.cat(parts) if parts else empty  # noqa: E731
    empty = torch.zeros(1, 2**n, dtype=torch.int32)
    tables = PairTables(
        torch.tensor(rows, dtype=torch.int64).reshape(-1, 3),
        cat([s.x_index.to(torch.int64) for s in pair_steps], torch.zeros(0, dtype=torch.int64)).contiguous(),
        cat([s.y_index.to(torch.int64) for s in pair_steps], torch.zeros(0, dtype=torch.int64)).contiguous(),
        torch.view_as_real(cat([s.phase.to(dtype) for s in pair_steps], torch.zeros(0, dtype=dtype))).contiguous(),
        torch.stack([p.index.to(torch.int32) for p in perms]).contiguous() if perms else empty,
        torch.stack([p.inverse.to(torch.int32) for p in perms]).contiguous() if perms else empty,
        first)
    if len(_TABLES) >= 16:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = (held, tables)
    return tables


def _steps(program: Layered) -> list | None:
    """The program's steps in order, or None when it has one-qubit gates past its first layer or other steps."""
    steps = [s for layer in program.layers for s in layer.steps]
    if any(layer.one_qubit_on for layer in program.layers[1:]) or not steps:
        return None
    if not all(isinstance(s, (PairRotation, Permutation)) for s in steps):
        return None
    return steps


@torch.compiler.disable  # compiled models call the kernels as they are
def run_program(program: Layered, state: Tensor | None) -> Tensor | None:
    """``program`` from ``state`` (None: ``|0...0>``) on ``pairs.c``, or None where it is not
    taken (see the module docstring)."""
    if program.device.type != "cpu" or not program.dtype.is_complex or not fused.available(program.device):
        return None
    steps = _steps(program)
    if steps is None:
        return None
    n, batch, real = program.n_qubits, program.batch, program.dtype.to_real()
    head = program.layers[0].one_qubit_on
    if head:
        from .engine import execute  # the engine runs this module's programs

        first = Layered(n, batch, program.dtype, program.device, (Layer(head),), program.one_qubit()[:, :1])
        state = execute(first, state)
    tables = _tables(steps, n, program.dtype)
    parts = [s.angles.to(real) for s in steps if isinstance(s, PairRotation)]
    rows = max([p.shape[0] for p in parts], default=1)
    angles = _joined([p if p.shape[0] == rows else p.expand(rows, -1) for p in parts], real)
    if state is None:
        state = torch.zeros(1, 2**n, dtype=program.dtype)
        state[0, 0] = 1
    return _PairsRun.apply(state.to(program.dtype), angles, (tables, batch))


def _joined(parts: list[Tensor], real: torch.dtype) -> Tensor:
    """The steps' angles as one ``(rows, pairs)`` tensor: a view of their base when they are
    consecutive slices of one row (as compiled circuits make them: one autograd node, not one
    per step), else their concatenation."""
    if not parts:
        return torch.zeros(1, 0, dtype=real)
    base, size = parts[0]._base, parts[0].element_size()
    if (base is not None and base.dim() == 1 and all(p._base is base and p.shape[0] == 1 for p in parts)
            and all(b.data_ptr() == a.data_ptr() + a.shape[1] * size for a, b in zip(parts, parts[1:]))):
        start = (parts[0].data_ptr() - base.data_ptr()) // size
        return base[None, start:start + sum(p.shape[1] for p in parts)]
    return torch.cat(parts, dim=1)


def _real_ptr(t: Tensor) -> int:
    return torch.view_as_real(t).data_ptr() if t.is_complex() else t.data_ptr()


class _PairsRun(torch.autograd.Function):
    """The start ``state`` ``(1 or B, 2**n)`` and the pairs' ``angles`` ``(1 or B, pairs)`` in;
    the output states ``(B, 2**n)`` out."""

    @staticmethod
    def forward(ctx, state, angles, spec):
        tables, batch = spec
        out = state.detach().expand(batch, -1).clone(memory_format=torch.contiguous_format)
        angles = angles.detach().contiguous()
        ctx.tables, ctx.state_rows = tables, state.shape[0]
        native.kernel("pairs_forward", out.dtype)(
            _real_ptr(out), batch, out.shape[1], tables.steps.data_ptr(), tables.steps.shape[0], tables.x.data_ptr(),
            tables.y.data_ptr(), tables.phase.data_ptr(), angles.data_ptr(), angles.shape[1] if angles.shape[0] > 1 else 0,
            tables.perms.data_ptr(), torch.get_num_threads())
        ctx.save_for_backward(out, angles)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        out, angles = ctx.saved_tensors
        tables = ctx.tables
        psi = out.clone()
        lam = grad.resolve_conj().to(out.dtype).expand_as(out).clone(memory_format=torch.contiguous_format)
        g = torch.empty(out.shape[0], tables.pairs, dtype=angles.dtype)
        native.kernel("pairs_backward", out.dtype)(
            _real_ptr(psi), _real_ptr(lam), out.shape[0], out.shape[1], tables.steps.data_ptr(), tables.steps.shape[0],
            tables.x.data_ptr(), tables.y.data_ptr(), tables.phase.data_ptr(), angles.data_ptr(),
            angles.shape[1] if angles.shape[0] > 1 else 0, tables.inverses.data_ptr(), g.data_ptr(), tables.pairs,
            torch.get_num_threads())
        grad_state = (lam.sum(0, keepdim=True) if ctx.state_rows == 1 else lam) if ctx.needs_input_grad[0] else None
        grad_angles = (g.sum(0, keepdim=True) if angles.shape[0] == 1 else g) if ctx.needs_input_grad[1] else None
        return grad_state, grad_angles, None

