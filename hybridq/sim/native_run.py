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

import torch
from torch.autograd.function import once_differentiable

from . import chains, fused, native_pairs
from .layers import Dense, Diagonal, Layered, PairRotation, Permutation, data_of, shared_by_batch

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
#: A one-target dense step's ``zero_parts`` (:class:`~hybridq.sim.layers.Dense`) as the kernels' ``MIX_REAL``,
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
    and its other steps; None when a step is past the kernels' limits."""
    finals, others = program.final_permutations(), []
    for layer, final in zip(program.layers, finals):
        steps = list(layer.steps)
        if final is not None:
            steps.pop()
        for step in steps:
            if isinstance(step, Dense) and (len(step.qubits) > MAX_DENSE_QUBITS or len(step.controls) > MAX_STEP_CONTROLS):
                return None
            if isinstance(step, Diagonal) and len(step.qubits) > MAX_STEP_QUBITS:
                return None
        others.append(steps)
    return finals, others


def _entries(step) -> int:
    return step.values.shape[1] if isinstance(step, Diagonal) else step.matrix.shape[1] ** 2


_TABLES: dict[tuple, StepTables] = {}


def _tables(others: list, n: int, wanted: tuple[bool, ...], real: torch.dtype, structure=None) -> StepTables:
    """The static tables of the steps (cached by their structure: the program's
    :attr:`~hybridq.sim.layers.Layered.structure` where it has one, which gradients are wanted
    and the real dtype), and room for the one-lane tables of the diagonal runs that the batch
    shares (built by the kernels)."""
    flat = [s for steps in others for s in steps]
    key = (n, wanted, real, structure if structure is not None else (tuple(len(steps) for steps in others), tuple(
        (type(s), getattr(s, "qubits", None), getattr(s, "controls", None), getattr(s, "control_values", None),
         getattr(s, "zero_parts", None), id(s.index) if isinstance(s, Permutation) else (_entries(s), shared_by_batch(s)))
        for s in flat)))
    hit = _TABLES.get(key)
    if hit is not None:
        return replace(hit)  # a call's own: it gets the call's data and gradient
    table = torch.zeros(len(flat), STEP_INTS, dtype=torch.int32)
    offset, perms, need, runs, wanted, rows = 0, [], 0, [], iter(wanted), iter(table)
    for steps in others:
        previous = None
        for step in steps:
            row = next(rows)
            row[0] = _KINDS[type(step)]
            if isinstance(step, Permutation):
                row[4] = len(perms)
                perms.append(step)
            else:
                controls = step.controls if isinstance(step, Dense) else ()
                values = (step.control_values or (1,) * len(controls)) if controls else ()
                row[1], row[2] = len(step.qubits), len(controls)
                row[3] = sum(v << c for c, v in enumerate(values))
                row[4], row[5] = offset, int(next(wanted))
                row[6:6 + len(step.qubits)] = torch.tensor(step.qubits)
                row[12:12 + len(controls)] = torch.tensor(controls, dtype=torch.int32)
                if isinstance(step, Dense) and len(step.qubits) == 1:
                    row[8] = _ZERO_PARTS[step.zero_parts]
                offset += _entries(step)
                need += 2 * (16 if isinstance(step, Dense) else _entries(step)) * chains.LANES  # steps.h: a slot of 16 entries per dense step
            if isinstance(step, Diagonal):
                if not isinstance(previous, Diagonal):
                    row[13] = 1  # a run of diagonals starts
                    runs.append((row, []))
                runs[-1][1].append(step)
            previous = step
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


@torch.compiler.disable  # compiled models call the kernels as they are
def run_program(program: Layered, state: Tensor | None) -> Tensor | None:
    """``program`` from ``state`` (None: ``|0...0>``) on the native kernels, or None where they
    do not take it (see the module docstring)."""
    device, n, batch = program.device, program.n_qubits, program.batch
    if device.type != "cpu" or not program.dtype.is_complex or not fused.available(device):
        return None
    if any(isinstance(s, PairRotation) for layer in program.layers for s in layer.steps):
        return native_pairs.run_program(program, state)  # the chemistry ansätze: their own kernels
    split = _split(program)
    if split is None:
        return None
    finals, others = split
    if not fused.suits(device, n, batch):
        return _large_state(program, state, finals, others)
    parts = [data_of(s) for steps in others for s in steps if not isinstance(s, Permutation)]
    data = program.step_data() if parts else torch.zeros(1, 0, dtype=program.dtype) if any(others) else None
    grad_on = torch.is_grad_enabled()
    wanted = tuple(grad_on and p.requires_grad for p in parts)
    tables = _tables(others, n, wanted, program.dtype.to_real(), program.structure) if any(others) else None
    index, inverse = fused.layer_indices(finals, n, device)
    permutes = tuple(p is not None for p in finals)
    recipe = program.recipe
    empty = torch.zeros(0)
    if (state is None and recipe is not None and recipe.inputs is not None and recipe.inputs.shape[0] == batch
            and chains.available(device)):
        real = program.dtype.to_real()
        weights, inputs, mats = recipe.weights.to(real), recipe.inputs.to(real), empty
    else:
        weights, inputs, mats = empty, empty, _one_qubit(program)
    if state is not None:
        state = state.to(program.dtype)
    wants_grad = grad_on and any(t is not None and t.requires_grad for t in (state, mats, weights, inputs, data))
    out, z = _ProgramRun.apply(state, mats, weights, inputs, data if data is not None else empty,
                               (recipe.plan if weights.numel() or inputs.numel() else None, index, inverse, permutes,
                                tables, batch, wants_grad))
    fused.attach_z(out, z)
    return out


def _large_state(program: Layered, state: Tensor | None, finals: list, others: list) -> Tensor | None:
    """A few large states through the single-state kernel (:func:`hybridq.sim.fused.run_large_state`:
    layers of one-qubit gates and permutations, shared matrices, no gradient), else None."""
    if any(others) or not program.layers:
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
    if any(layer.one_qubit_on for layer in program.layers):
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
        if plan is not None:
            products, trig = chains.products(weights.detach().contiguous(), inputs.detach().contiguous(), plan, lanes=True)
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
