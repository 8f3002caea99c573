"""All the gate data of a compiled circuit in one autograd node: a few torch ops per training step.

A compiled circuit (:mod:`hybridq.circuits.compiled`) builds its gates' data with one builder
call per gate kind, multiplies the one-qubit chains together and joins the parts: forward and
autograd backward, some eighty small kernels in a training step, which on a GPU cost more than
the simulation. Here all of it is one ``torch.autograd.Function`` with a hand-written
backward.

It rests on one fact, checked numerically per circuit when the plan is made: every entry of
the data (a one-qubit chain factor's matrix, a diagonal's values, a dense step's matrix) is
``A + cos(u) C + sin(u) S`` of one angle ``u = k * theta`` (``k`` 1/2 for rotations, 1 for
phase gates), constants ``A, C, S`` per entry, ``theta`` the gate's angle, a sum of monomials
``c * weight * input``; entries of fixed gates are ``A``. The constants are read off the
circuit's own builders at three angles (``CompiledCircuit.one_qubit_matrices``,
``CompiledCircuit.single_steps``: no second copy of any gate's matrix). Circuits with an
entry that is not of this form (``U3``'s three angles, Pauli rotations) keep the builders.

Forward: the angle of every entry (its terms side by side, one sum), ``e = exp(i u)``, every
entry and its derivative ``dG/du`` (two ``addcmul``), the chain products together with their
derivatives by each factor's angle (forward mode: one gather, one 2 x 2 product per chain
position) and one concatenation. Backward: ``dL/du = Re(g * conj(dG/du))`` for all entries at
once (two dot products, no walk back through the products), then back to the weights and inputs
through the terms (one ``index_add`` each).

>>> import torch
>>> from hybridq.circuits import Circuit, Input, Weight
>>> from hybridq.circuits.compiled import CompiledCircuit
>>> c = Circuit(2).ry(Weight("a") * Input(0), 0).rz(Weight("b"), 0).crx(Weight("c"), 0, 1)
>>> plan = GateData.of(CompiledCircuit.of(c), torch.complex128, torch.device("cpu"), chains=True)
>>> x, w = torch.tensor([[0.3], [0.5]]), torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> packed = plan(w.double(), x.double())
>>> packed.shape  # one chain (2 x 2) per qubit, then CRX's 2 x 2 matrix
torch.Size([2, 12])
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ..sim.layers import Dense, Diagonal, StepView, data_of, data_width
from ..sim.gates import GATES

Tensor = torch.Tensor

#: Most terms of one angle laid side by side (the angles of more are summed by ``index_add``).
MAX_TERMS_SIDE_BY_SIDE = 4
#: Angle factors ``k`` tried, in order, for each angle (rotations ``exp(-i t P / 2)``, phase gates).
FREQUENCIES = (0.5, 1.0)


class GateData:
    """The plan of one compiled circuit's data for one dtype and device (see the module docstring).

    Call it on the weights (1-D, real) and the inputs (``(B, columns)`` or None) to get the packed
    data ``(P, W)``: with ``chains``, the one-qubit chain products ``(L * n * 4)`` first (layer,
    qubit order, as :meth:`hybridq.sim.layers.Layered.one_qubit`), then every step's data in step
    order (:meth:`hybridq.sim.layers.Layered.step_data`); without, the step data alone. ``P`` is
    the inputs' rows when an entry reads the inputs, else 1.
    """

    def __init__(self, tables: dict[str, Tensor], length: int, rows: int, views: dict[int, StepView], reads_inputs: bool,
                 per_entry: int):
        self.tables, self.length, self.rows, self.reads_inputs = tables, length, rows, reads_inputs
        #: terms of each entry's angle side by side (their sum is the angle), or 0: summed by ``column``
        self.per_entry = per_entry
        #: the steps with angles by step index, as views of the step data (``shared`` where no
        #: angle of the step reads the inputs: its data are the same in every row)
        self.views = views

    @classmethod
    def of(cls, compiled, dtype: torch.dtype, device: torch.device, *, chains: bool) -> GateData | None:
        """The plan of ``compiled`` (made once per dtype, device and ``chains``), or None when an
        entry is not of the trigonometric form or nothing has angles."""
        return compiled.cached(("gate data", dtype, device, chains),
                               lambda: _build(compiled, dtype, device, chains) if dtype.is_complex else None)

    def __call__(self, weights: Tensor, inputs: Tensor | None) -> Tensor:
        return _Packed.apply(weights, inputs if self.reads_inputs else None, self)

    def split(self, packed: Tensor) -> tuple[Tensor | None, Tensor]:
        """The ``(P, L*n, 2, 2)`` chain products in ``packed`` (None without chains) and the step data."""
        front = self.rows * 4 if self.length else 0
        if not front:
            return None, packed
        return packed[:, :front].unflatten(1, (self.rows, 2, 2)), packed[:, front:]


def _build(compiled, dtype: torch.dtype, device: torch.device, chains: bool) -> GateData | None:
    """The plan (see :meth:`GateData.of`), its constants read off the circuit's builders."""
    host = compiled.host_tables
    slot_k, column_slot, evaluate, views = _columns(compiled, chains)
    if evaluate is None:
        return None
    n_slots = compiled.n_slots
    frequency = np.full(n_slots, FREQUENCIES[0])
    rng = np.random.default_rng(0)
    for k in FREQUENCIES[1:] + (None,):  # slots whose entries do not fit take the next frequency
        at = lambda u: evaluate(torch.from_numpy(np.where(slot_k, u / frequency, 0.0))[None])  # noqa: E731
        zero, half, full = at(0.0), at(math.pi / 2), at(math.pi)
        A, C = (zero + full) / 2, (zero - full) / 2
        S = half - A
        u = rng.uniform(-math.pi, math.pi, n_slots)
        theta = np.where(slot_k, u / frequency, 0.0)
        u_col = np.where(column_slot >= 0, u[column_slot.clip(0)], 0.0)
        expect = A + torch.from_numpy(np.cos(u_col)) * C + torch.from_numpy(np.sin(u_col)) * S
        bad = (evaluate(torch.from_numpy(theta)[None])[0] - expect[0]).abs() > 1e-9
        if not bool(bad.any()):
            break
        if k is None:
            return None
        wrong = np.unique(column_slot[bad.numpy()])
        if (wrong < 0).any() or (frequency[wrong] != FREQUENCIES[0]).any():
            return None
        frequency[wrong] = k
    # the monomials of every entry's angle u = k * theta
    slot, coef = host["mono_slot"].numpy(), host["mono_coef"].numpy()
    weight, column = host["mono_weight"].numpy() - 1, host["mono_input"].numpy() - 1  # -1: none
    by_slot: dict[int, list[int]] = {}
    for m, s in enumerate(slot):
        by_slot.setdefault(int(s), []).append(m)
    entries = [(j, m) for j, s in enumerate(column_slot) if s >= 0 for m in by_slot.get(int(s), [])]
    if not entries:
        return None
    col, mono = (np.array(v, dtype=np.int64) for v in zip(*entries))
    width, per_entry = len(column_slot), int(np.bincount(col).max())
    if per_entry <= MAX_TERMS_SIDE_BY_SIDE:  # each entry's terms side by side (-1: none): a sum, not an index_add
        rank = np.arange(len(col)) - np.searchsorted(col, col)
        padded = np.full(width * per_entry, -1)
        padded[col * per_entry + rank] = mono
        mono = padded
    else:
        per_entry = 0
    real_term = mono >= 0
    mono = mono.clip(0)
    c = np.where(real_term, coef[mono] * frequency[slot[mono]], 0.0)
    has_w, has_x = real_term & (weight[mono] >= 0), real_term & (column[mono] >= 0)
    rdt = dtype.to_real()
    real = lambda v: torch.from_numpy(np.ascontiguousarray(v)).to(device=device, dtype=rdt)  # noqa: E731
    index = lambda v: torch.from_numpy(np.ascontiguousarray(v)).to(device=device)  # noqa: E731
    tables = {
        "column": index(col), "weight": index(np.where(has_w, weight[mono], 0)), "input": index(np.where(has_x, column[mono], 0)),
        "c_weight": real(np.where(has_w, c, 0.0)), "c_const": real(np.where(has_w, 0.0, c)),
        "has_input": real(has_x), "no_input": real(~has_x),
        "one": torch.ones(1, dtype=rdt, device=device),
    }
    # entries and their derivatives d/du: [A, 0] + cos u [C, S] + sin u [S, -C], as (2, J, 2) reals
    A, C, S = (torch.view_as_real(m[0].to(dtype)).to(device) for m in (A, C, S))
    tables["A"], tables["C"], tables["S"] = torch.stack([A, torch.zeros_like(A)]), torch.stack([C, S]), torch.stack([S, -C])
    length, rows = (host["chains"].shape[1], host["chains"].shape[0]) if chains and compiled.chain_slots_by_gate else (0, 0)
    if length:  # the chains' factors for the value and each factor's tangent: (length + 1, length, rows * 4)
        entry = np.arange(length * rows * 4).reshape(length, rows * 4)
        tangent = np.arange(length + 1)[:, None, None] == np.arange(1, length + 1)[None, :, None]
        tables["factors"] = index((entry[None] + tangent * width).reshape(-1))
    return GateData(tables, length, rows, views, bool(has_x.any()), per_entry)


def _columns(compiled, chains: bool):
    """Which slots are angles of the form (``slot_k``, bool per slot), each entry's slot (-1:
    constant), a function from angles ``(1, slots)`` (float64) to every entry ``(1, J)``
    (complex128) by the circuit's own builders (None when a gate has no such form), and the
    steps with angles as views of the step data (:attr:`GateData.views`)."""
    host, n_slots = compiled.host_tables, compiled.n_slots
    slot_k = np.zeros(n_slots, dtype=bool)
    for s, op in enumerate(compiled.slot_ops):
        spec = GATES.get(op.name)
        if op.params and (spec is None or spec.n_params != 1):
            return slot_k, None, None, None  # several angles per gate, Pauli rotations: the builders
        slot_k[s] = bool(op.params)
    parts, slots = [], []
    length = host["chains"].shape[1] if chains and compiled.chain_slots_by_gate else 0
    if length:
        order = list(compiled.one_qubit_columns) + [-1]  # one_qubit_matrices' columns
        factors = host["chain_factors"].view(host["chains"].shape).T.reshape(-1)  # position-major
        slots.append(np.repeat(np.array(order)[factors.numpy()], 4))
        parts.append(lambda theta: compiled.one_qubit_matrices(theta, torch.complex128, "cpu")
                     .index_select(1, factors).flatten(1))
    step_slots = []
    for k, step in enumerate(compiled.steps):
        if step.kind != "single":
            continue
        op, own = compiled.operations[step.items[0]], compiled.op_slots[step.items[0]]
        if op.name == "PauliRot":
            return slot_k, None, None, None
        step_slots.append((k, own[0] if op.params else -1))

    def steps(theta):
        built = compiled.single_steps(theta, theta, torch.complex128, "cpu")
        return built[1] if built is not None and built[1] is not None else torch.zeros(1, 0, dtype=torch.complex128)

    zero = torch.zeros(1, n_slots, dtype=torch.float64)
    one = steps(zero)
    singles, views = compiled.single_steps(zero, zero, torch.complex128, "cpu")[0], {}
    for k, s in step_slots:
        step = singles.get(k)
        if isinstance(step, (Diagonal, Dense)):
            slots.append(np.full(data_width(step), s))
            if s >= 0:  # a view of the step data per call; fixed steps keep their own (no gradient sums)
                controls, values, zeros = (((), (), None) if isinstance(step, Diagonal)
                                            else (step.controls, step.control_values, step.zero_parts))
                views[k] = StepView(type(step), step.qubits, tuple(data_of(step).shape[1:]),
                                    s not in compiled.slots_reading_inputs, controls, values, zeros)
    if one.shape[1] != sum(len(v) for v in slots[1 if length else 0:]):
        return slot_k, None, None, None  # pragma: no cover - the step order and widths disagree
    parts.append(steps)
    column_slot = np.concatenate(slots) if slots else np.zeros(0, dtype=np.int64)
    column_slot = np.where(slot_k[column_slot.clip(0)] & (column_slot >= 0), column_slot, -1)  # fixed gates: constants
    if not slot_k.any() or not (column_slot >= 0).any():
        return slot_k, None, None, None
    return slot_k, column_slot, lambda theta: torch.cat([p(theta) for p in parts], dim=1), views


def _mm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` of ``(..., 2, 2)`` matrices, elementwise (batched BLAS on 2 x 2 costs more on a GPU)."""
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2)


class _Packed(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights, inputs, plan):
        t = plan.tables
        w = weights.detach()
        values = torch.addcmul(t["c_const"], t["c_weight"], w.index_select(0, t["weight"])) if w.numel() else t["c_const"]
        ones = None
        if inputs is not None:
            ones = torch.addcmul(t["no_input"], t["has_input"], inputs.detach().index_select(1, t["input"]))  # x or 1
            terms = ones * values
        else:
            terms = values.unsqueeze(0)
        rows, width, per_entry = terms.shape[0], t["A"].shape[1], plan.per_entry
        if per_entry:
            u = terms.view(rows, width, per_entry).sum(-1) if per_entry > 1 else terms.view(rows, width)
        else:
            u = torch.zeros(rows, width, dtype=terms.dtype, device=terms.device).index_add_(1, t["column"], terms)
        trig = torch.view_as_real(torch.polar(t["one"], u)).unsqueeze(1)  # (P, 1, J, 2)
        both = torch.view_as_complex(torch.addcmul(t["A"], trig[..., :1], t["C"]).addcmul_(trig[..., 1:], t["S"]))
        front = plan.length * plan.rows * 4  # both: (P, 2, J), the entries and their derivatives
        if plan.length:  # chain products, and each one's derivative by each factor's angle (forward mode)
            stack = both.flatten(1).index_select(1, t["factors"]).view(rows, plan.length + 1, plan.length, plan.rows, 2, 2)
            product = stack[:, :, 0]
            for j in range(1, plan.length):
                product = _mm(stack[:, :, j], product)
            packed = torch.cat([product[:, 0].flatten(1), both[:, 0, front:]], dim=1)
            ctx.tangents = product[:, 1:]
        else:
            packed = both[:, 0]
        ctx.plan, ctx.derivatives, ctx.ones, ctx.values = plan, both[:, 1, front:], ones, values
        ctx.shape = (weights.shape[0], None if inputs is None else inputs.shape)
        return packed

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        plan, t = ctx.plan, ctx.plan.tables
        # dL/du = Re(g conj(dG/du)) per entry; a chain's entries by their factors' tangents (the
        # entries of one factor share its angle's terms, so their sum is the factor's derivative)
        du = (torch.view_as_real(grad[:, plan.rows * 4 if plan.length else 0:]) * torch.view_as_real(ctx.derivatives)).sum(-1)
        if plan.length:
            chain = torch.view_as_real(grad[:, :plan.rows * 4]).unsqueeze(1) * torch.view_as_real(ctx.tangents.flatten(2))
            du = torch.cat([chain.sum(-1).flatten(1), du], dim=1)
        shape = (du.shape[1], plan.per_entry) if plan.per_entry else (t["column"].shape[0],)
        per_term = du.unsqueeze(-1) if plan.per_entry else du.index_select(1, t["column"])  # dL/d(term)
        n_weights, input_shape = ctx.shape
        grad_w = grad_x = None
        if ctx.needs_input_grad[0] and n_weights:
            c_weight = t["c_weight"].view(shape)
            summed = ((per_term * ctx.ones.view(-1, *shape)).sum(0) * c_weight if ctx.ones is not None
                      else per_term[0] * c_weight).flatten()
            grad_w = torch.zeros(n_weights, dtype=du.dtype, device=du.device).index_add_(0, t["weight"], summed)
        if ctx.needs_input_grad[1] and input_shape is not None:
            grad_x = torch.zeros(input_shape, dtype=du.dtype, device=du.device).index_add_(
                1, t["input"], (per_term * (ctx.values * t["has_input"]).view(shape)).flatten(1))
        return grad_w, grad_x, None
