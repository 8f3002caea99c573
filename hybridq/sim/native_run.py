"""The engine's CPU executor: :class:`~hybridq.sim.layers.Layered` programs on the native kernels.

One autograd node runs the whole program: the one-qubit matrices (from the compiled circuit's
:class:`~hybridq.sim.layers.ChainRecipe` by ``chains.c``, in the kernels' lane layout, or as
given), then ``fused_forward`` of ``native.c``, which applies every layer's one-qubit gates,
its other steps (``steps.h``: runs of diagonals as one table, dense gates on one or two qubits
under any controls, permutations) and its permutation to 16 samples at a time in cache; the
backward is one adjoint sweep (``fused_backward``) that also returns the steps' data gradients.

Taken: a CPU with the native kernels (``HYBRIDQ_NATIVE``, ``HYBRIDQ_FUSED``), complex states,
a size :func:`hybridq.sim.fused.suits` accepts, dense steps on at most
:data:`MAX_DENSE_QUBITS` targets and :data:`MAX_STEP_CONTROLS` controls, diagonals on at most
:data:`MAX_STEP_QUBITS` qubits. Programs with pair rotations go to :mod:`hybridq.sim.native_pairs`.
Anything else is declined (the next executor runs it).

>>> import torch
>>> from hybridq.sim.layers import Diagonal, Layer, Layered
>>> z = torch.tensor([[1, 1, 1, -1]], dtype=torch.complex128)
>>> h = (torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / 2**0.5).expand(1, 1, 2, 2, 2)
>>> program = Layered(2, 8, torch.complex128, torch.device("cpu"), (Layer((0, 1), (Diagonal((0, 1), z),)),), h)
>>> out = run_program(program, None)
>>> out is None or bool(torch.allclose(out[3] * 2, torch.tensor([1, 1, 1, -1], dtype=torch.complex128)))
True
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, replace
from typing import Hashable

import torch
from torch.autograd.function import once_differentiable

from . import chains, fused, native_pairs
from .layers import (Dense, Diagonal, Layered, PairRotation, Permutation, StepView, data_of, data_starts, data_width,
                     kind_of, shared_by_batch)

Tensor = torch.Tensor

#: Ints per step in the kernels' table (see ``steps.h``).
STEP_INTS = 16
#: Most qubits of a diagonal step the kernels take.
MAX_STEP_QUBITS = 6
#: Most controls of a dense step the kernels take.
MAX_STEP_CONTROLS = 4
#: Most targets of a dense step the kernels take.
MAX_DENSE_QUBITS = 2
#: From this many qubits the kernels work tile by tile (``BLOCKED_FROM`` of ``native.c``).
BLOCKED_FROM = 15
_KINDS = {Diagonal: 0, Dense: 1, Permutation: 2}
#: A dense step's ``zero_parts`` (:class:`~hybridq.sim.layers.Dense`) as the kernels' ``MIX_REAL``,
#: ``MIX_CROSS`` (``steps.h``): the parts of its gradient sums they leave out.
_ZERO_PARTS = {None: 0, "real": 1, "cross": 2}


class _Steps(ctypes.Structure):
    """``Steps`` of ``native.c``."""

    _fields_ = [("steps", ctypes.c_void_p), ("layer_steps", ctypes.c_void_p), ("data", ctypes.c_void_p),
                ("stride", ctypes.c_int64), ("perms", ctypes.c_void_p), ("inverses", ctypes.c_void_p),
                ("grad", ctypes.c_void_p), ("grad_stride", ctypes.c_int64), ("buffer", ctypes.c_int64),
                ("shared", ctypes.c_void_p)]


@dataclass
class StepTables:
    """The layers' steps as the kernels read them: ``table`` ``(S, STEP_INTS)`` int32,
    ``layer_steps`` ``(L + 1,)`` int32, the permutation steps' ``perms`` and ``inverses``
    ``(K, 2**n)`` int32, ``buffer`` (reals of scratch per thread), ``shared`` (room for the
    one-lane tables of the shared diagonal runs), ``data`` ``(P, D)`` complex
    (detached, contiguous) and, in the backward, ``grad`` ``(B, D)``."""

    table: Tensor
    layer_steps: Tensor
    perms: Tensor
    inverses: Tensor
    buffer: int
    shared: Tensor
    data: Tensor | None = None
    grad: Tensor | None = None

    def pointer(self) -> int:
        """The address of a ``Steps`` struct of these tables (valid while this object lives)."""
        ptr = lambda t: None if t is None else t.data_ptr()  # noqa: E731
        data = self.data
        self._struct = _Steps(ptr(self.table), ptr(self.layer_steps), ptr(data),
                              2 * data.shape[1] if data.shape[0] > 1 else 0, ptr(self.perms), ptr(self.inverses),
                              ptr(self.grad), 0 if self.grad is None else 2 * self.grad.shape[1], self.buffer,
                              ptr(self.shared))
        return ctypes.addressof(self._struct)


def _split(program: Layered) -> tuple[list, list] | None:
    """Per layer, its final permutation (:meth:`~hybridq.sim.layers.Layered.final_permutations`)
    and its other steps, as the outline has them (``Layered.outline``: the
    kernels read the step data, not the steps' views); None when a step is past the kernels' limits."""
    finals, others = program.final_permutations(), []
    for layer, final in zip(program.outline, finals):
        steps = list(layer.steps)
        if final is not None:
            steps.pop()
        for step in steps:
            kind = kind_of(step)
            if kind is Dense and (len(step.qubits) > MAX_DENSE_QUBITS or len(step.controls) > MAX_STEP_CONTROLS):
                return None
            if kind is Diagonal and len(step.qubits) > MAX_STEP_QUBITS:
                return None
        others.append(steps)
    return finals, others


_TABLES: dict[tuple, StepTables] = {}


def _tables(others: list, n: int, wanted: tuple[bool, ...], real: torch.dtype, structure=None) -> StepTables:
    """The static tables of the steps (cached by their structure: the program's
    :attr:`~hybridq.sim.layers.Layered.structure` where it has one, which gradients are wanted
    and the real dtype), and room for the one-lane tables of the diagonal runs that the batch
    shares (built by the kernels)."""
    flat = [s for steps in others for s in steps]
    key = (n, wanted, real, structure if structure is not None else (tuple(len(steps) for steps in others), tuple(
        (kind_of(s), getattr(s, "qubits", None), getattr(s, "controls", None), getattr(s, "control_values", None),
         getattr(s, "zero_parts", None),
         id(s.index) if isinstance(s, Permutation) else (data_width(s), shared_by_batch(s))) for s in flat)))
    hit = _TABLES.get(key)
    if hit is not None:
        return replace(hit)  # a call's own: it gets the call's data and gradient
    table = torch.zeros(len(flat), STEP_INTS, dtype=torch.int32)
    perms, need, runs, wanted, rows, starts = [], 0, [], iter(wanted), iter(table), iter(data_starts(flat))
    for steps in others:
        previous = None
        for step in steps:
            row, kind = next(rows), kind_of(step)
            row[0] = _KINDS[kind]
            start = next(starts)
            if isinstance(step, Permutation):
                row[4] = len(perms)
                perms.append(step)
            else:
                controls = step.controls if kind is Dense else ()
                values = (step.control_values or (1,) * len(controls)) if controls else ()
                row[1], row[2] = len(step.qubits), len(controls)
                row[3] = sum(v << c for c, v in enumerate(values))
                row[4], row[5] = start, int(next(wanted))
                row[6:6 + len(step.qubits)] = torch.tensor(step.qubits)
                row[12:12 + len(controls)] = torch.tensor(controls, dtype=torch.int32)
                if kind is Dense:
                    row[8] = _ZERO_PARTS[step.zero_parts]
                need += 2 * (16 if kind is Dense else data_width(step)) * chains.LANES  # steps.h: a slot of 16 entries per dense step
            if kind is Diagonal:
                if previous is not Diagonal:
                    row[13] = 1  # a run of diagonals starts
                    runs.append((row, []))
                runs[-1][1].append(step)
            previous = kind
    shared = 0
    for row, run in runs:  # a run whose data the batch shares: one table, built once per call
        row[12] = shared if all(shared_by_batch(step) for step in run) else -1
        shared += int(row[12] >= 0)
    counts = torch.tensor([0] + [len(steps) for steps in others]).cumsum(0).to(torch.int32)
    empty = torch.zeros(1, 2**n, dtype=torch.int32)
    tables = StepTables(table, counts, torch.stack([p.index.to(torch.int32) for p in perms]) if perms else empty,
                        torch.stack([p.inverse.to(torch.int32) for p in perms]) if perms else empty,
                        max(need, 4 * 16 * chains.LANES), torch.empty(max(shared, 1) * 2 * 2**n, dtype=real))
    if len(_TABLES) >= 16:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = tables
    return replace(tables)


@dataclass(frozen=True, eq=False)
class _Read:
    """What the kernels read of a program's ``Layered.outline``: whether a
    step is a pair rotation, :func:`_split`'s result, the number of steps with data and, among
    them, the (position, step) of those with data of their own (not views of the step data)."""

    outline: tuple
    pairs: bool
    split: tuple[list, list] | None
    n_data: int
    own: tuple

    def wanted(self, grad_on: bool, data: Tensor | None) -> tuple[bool, ...]:
        """Per step with data, whether its data gradient is wanted (a view's: the step data's)."""
        out = [self.n_data > 0 and grad_on and data.requires_grad] * self.n_data
        for i, step in self.own:
            out[i] = grad_on and data_of(step).requires_grad
        return tuple(out)


_READS: dict[Hashable, _Read] = {}


def _read(program: Layered) -> _Read:
    """The program's :class:`_Read`, kept by its structure while the outline is the same object (a
    compiled circuit's outline with views is made once; one whose steps hold data that needs a
    gradient, made per call, is not kept)."""
    hit = _READS.get(program.structure)
    if hit is not None and hit.outline is program.outline:
        return hit
    pairs = any(isinstance(s, PairRotation) for layer in program.outline for s in layer.steps)
    split = None if pairs else _split(program)
    with_data = [] if split is None else [s for others in split[1] for s in others if not isinstance(s, Permutation)]
    own = tuple((i, s) for i, s in enumerate(with_data) if not isinstance(s, StepView))
    read = _Read(program.outline, pairs, split, len(with_data), own)
    if program.structure is not None and not any(data_of(s).requires_grad for _, s in own):
        if len(_READS) >= 16:
            _READS.pop(next(iter(_READS)))
        _READS[program.structure] = read
    return read


#: The placeholder for an absent tensor argument of :class:`_ProgramRun` (never written).
_EMPTY = torch.zeros(0, device="cpu")  # on the CPU whatever the default device at import


@torch.compiler.disable  # compiled models call the kernels as they are
def run_program(program: Layered, state: Tensor | None) -> Tensor | None:
    """``program`` from ``state`` (None: ``|0...0>``) on the native kernels, or None where they
    do not take it (see the module docstring)."""
    device, n, batch = program.device, program.n_qubits, program.batch
    if device.type != "cpu" or not program.dtype.is_complex or not fused.available(device):
        return None
    read = _read(program)
    if read.pairs:
        return native_pairs.run_program(program, state)  # the chemistry ansätze: their own kernels
    if read.split is None:
        return None
    finals, others = read.split
    if not finals:
        return None  # no layers: nothing for the kernels to run
    if fused.few_large_states(n, batch):
        out = _large_state(program, state, finals, others)
        if out is not None:
            return out
    if not fused.suits(device, n):
        return None
    data = program.step_data() if read.n_data else torch.zeros(1, 0, dtype=program.dtype) if any(others) else None
    grad_on = torch.is_grad_enabled()
    wanted = read.wanted(grad_on, data)
    tables = _tables(others, n, wanted, program.dtype.to_real(), program.structure) if any(others) else None
    index, inverse = fused.layer_indices(finals, n, device)
    permutes = tuple(p is not None for p in finals)
    recipe = program.recipe
    if (state is None and recipe is not None and recipe.inputs is not None and recipe.inputs.shape[0] == batch
            and chains.available(device)):
        real = program.dtype.to_real()
        weights, inputs, mats = recipe.weights.to(real), recipe.inputs.to(real), _EMPTY
    else:
        weights, inputs, mats = _EMPTY, _EMPTY, _one_qubit(program)
    if state is not None:
        state = state.to(program.dtype)
    wants_grad = grad_on and any(t is not None and t.requires_grad for t in (state, mats, weights, inputs, data))
    out, z = _ProgramRun.apply(state, mats, weights, inputs, data if data is not None else _EMPTY,
                               (recipe.plan if weights.numel() or inputs.numel() else None, index, inverse, permutes,
                                tables, batch, wants_grad))
    fused.attach_z(out, z)
    return out


def _large_state(program: Layered, state: Tensor | None, finals: list, others: list) -> Tensor | None:
    """A few large states through the single-state kernel (:func:`hybridq.sim.fused.run_large_state`:
    layers of one-qubit gates and permutations, shared matrices, no gradient), else None."""
    if any(others) or not program.outline:
        return None
    n = program.n_qubits
    if state is None:
        state = torch.zeros(1, 2**n, dtype=program.dtype)
        state[0, 0] = 1
    mats = list(_one_qubit(program).unbind(1))
    if not fused.large_state(state, mats, n, max(state.shape[0], mats[0].shape[0])):
        return None
    out = fused.run_large_state(state.to(program.dtype), mats, finals, n)
    return out if out.shape[0] == program.batch else out.expand(program.batch, -1)


def _one_qubit(program: Layered) -> Tensor:
    """The program's ``(P, L, n, 2, 2)`` one-qubit matrices (the identity where it has none)."""
    if any(layer.one_qubit_on for layer in program.outline):
        return program.one_qubit().to(program.dtype)
    return torch.eye(2, dtype=program.dtype).expand(1, program.n_layers, program.n_qubits, 2, 2)


class _ProgramRun(torch.autograd.Function):
    """The program's one-qubit matrices (or the recipe's ``weights`` and ``inputs``), the steps'
    ``data`` and the start ``state`` in; the output states and their ``<Z>`` out."""

    @staticmethod
    def forward(ctx, state, mats, weights, inputs, data, spec):
        plan, index, inverse, permutes, tables, batch, wants_grad = spec
        ctx.set_materialize_grads(False)
        ctx.permutes, ctx.plan, ctx.tables = permutes, plan, tables
        ctx.state_batch = None if state is None else state.shape[0]
        trig = None
        if plan is not None:  # the kernels read them, forward and backward, as contiguous rows
            weights, inputs = weights.detach().contiguous(), inputs.detach().contiguous()
            products, trig = chains.products(weights, inputs, plan, lanes=True)
            mats = products.unflatten(1, (len(permutes), -1))  # lane blocks: no transposes between the kernels
        else:
            mats = mats.detach().contiguous()
        if tables is not None:
            tables.data = data.detach().contiguous()
        zero_start = state is None or fused.starts_at_zero(state)
        state_grad = state is not None and state.requires_grad
        if state is not None and not zero_start:
            state = state.detach().contiguous()
        out, z = fused.native_forward(ctx, None if zero_start else state, mats, index, wants_grad, state_grad, batch,
                                      tables)
        ctx.save_for_backward(weights, inputs, trig, out, mats, inverse)
        ctx.data_rows = data.shape[0] if data.dim() == 2 else 0
        return out, z

    @staticmethod
    @once_differentiable
    def backward(ctx, grad, grad_z):
        weights, inputs, trig, out, mats, inverse = ctx.saved_tensors
        tables = ctx.tables
        if tables is not None:
            tables.grad = torch.zeros(out.shape[0], tables.data.shape[1], dtype=tables.data.dtype)
        state_grad = ctx.needs_input_grad[0]
        grad_mats, grad_state = fused.native_backward(ctx, out, mats, inverse, grad, grad_z, state_grad, tables)
        grads = [None] * 6
        if state_grad:
            grads[0] = grad_state.sum(0, keepdim=True) if ctx.state_batch == 1 else grad_state
        if ctx.plan is not None:
            grads[2], grads[3] = chains.products_backward(weights, inputs, ctx.plan, trig, grad_mats.flatten(1, 2),
                                                          ctx.needs_input_grad[3], lanes=True)
        elif ctx.needs_input_grad[1]:
            grads[1] = grad_mats.sum(0, keepdim=True) if mats.shape[0] == 1 else grad_mats
        if tables is not None and ctx.needs_input_grad[4]:
            g = tables.grad
            grads[4] = g.sum(0, keepdim=True) if ctx.data_rows == 1 else g
            tables.grad = None
        return tuple(grads)
