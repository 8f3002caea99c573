"""Triton kernels of :class:`~hybridq.sim.layers.Layered` programs: one kernel per circuit.

Each program (one per sample) loads its ``2**n`` amplitudes into registers and walks a table of
steps, one row each (a step whose data wants no gradient is marked, and the backward skips its sums):

- a one-qubit matrix on one qubit, with any controls (open or closed): a layer's one-qubit
  gates, CRX, CRY, CH, controlled U3;
- a two-qubit matrix on any pair, with any controls: RXX, RYY, arbitrary two-qubit unitaries;
- a diagonal on up to :data:`MAX_DIAGONAL_QUBITS` qubits: CZ, CP, CRZ, RZZ, Z phases;
- a permutation (a gather): CNOT rings, SWAPs, Toffolis;
- a run of constant diagonals (a compiled circuit's CZ, CCZ, fixed phases), multiplied once per
  structure into one diagonal of the program's ``2**m`` amplitudes: a CZ chain layer costs one
  read of ``2**m`` values (cached on the GPU), not one row per gate;
- a run of other diagonals shared by the batch (an RZZ ring's, CRZ, CPhase with weights, in a
  circuit whose other angles may read the inputs), multiplied per call by torch into one
  diagonal of the program's amplitudes: the backward adds each amplitude's part of the run's
  gradient into one of :data:`GROUPS` buffers (atomic adds, no reduction per gate), and a
  member's gradient is their sum times the member (a few torch ops for all runs).

The data of every step (matrices, diagonals) is packed into one ``(B or 1, W)`` complex buffer
per call, so per-sample (input-dependent) angles cost nothing more than shared ones. The
backward kernel is the adjoint method: it walks the table in reverse, un-computes the state and
the adjoint state step by step and reduces each step's gradient on chip into the same layout;
autograd then hands every part of it back to the step that made it. No intermediate state is
stored. complex64 and complex128 alike (the kernels take the buffers' real dtype).

Past :data:`WHOLE_QUBITS` a sample's state is too large for one program's registers; the table runs in
**segments**: each holds :data:`SEGMENT_QUBITS` qubits (the :data:`ADJACENT_QUBITS` of lowest bits
always among them, so loads run over adjacent amplitudes), and its programs, one per value of the
other bits, apply the rows on those qubits in place. A segment takes, in order, every row that
fits and that no row left behind touches (rows on disjoint qubits commute), so one reaches across
layers: a 16-qubit CZ chain of 6 layers is 9 launches, a CRX ring 12. The backward walks the
segments in reverse, each un-computing its part in place; there a one-qubit row's gradient sums
are taken with the state after the gate, from the partners its un-computing gathers anyway, and
turned into the matrix's gradient on the host (``_Plan.one_qubit_gradients``). Permutations
take part when they move only a segment's qubits (a CNOT does; a CNOT ring over all qubits does
not: declined).

Programs of layers that the older whole-layer kernels take (one-qubit gates on every qubit and a
permutation, :func:`hybridq.sim.fused.run`) are left to them: they are tuned for that shape.

>>> import torch
>>> from hybridq.sim.layers import Diagonal, Layer, Layered
>>> program = Layered(2, 1, torch.complex64, torch.device("cpu"), (Layer((), (Diagonal((0, 1), torch.ones(1, 4)),)),))
>>> TritonExecutor().run(program, None, "adjoint") is None  # the CPU is not its device
True
"""

from __future__ import annotations

import torch

from . import fused
from ..qubit_order import bit_weights
from .layers import Dense, Diagonal, Layered, Permutation, data_of, data_starts, joined, shared_by_batch

Tensor = torch.Tensor
tl = fused.tl
triton = fused.triton

#: Largest diagonal step (qubits) the kernels take.
MAX_DIAGONAL_QUBITS = 3
#: Largest state whose amplitudes all stay in one program's registers (one launch per circuit):
#: past it, segments run faster (H200, 13 qubits: a CRX ring's step 5.9 ms whole, 2.6 ms in segments).
WHOLE_QUBITS = 12
#: Largest state of the kernels: past :data:`WHOLE_QUBITS` the table runs in segments.
MAX_QUBITS = fused.MAX_CHUNKED_QUBITS
#: Qubits a segment's program holds (``2**SEGMENT_QUBITS`` amplitudes in registers): 11 at 4
#: warps ran a 16-qubit CRX ring's step in 22.7 ms on an H200, 12 at 8 warps in 27.7 ms.
SEGMENT_QUBITS = 11
#: The qubits of lowest bits every segment holds, so that its loads and stores run over
#: ``2**ADJACENT_QUBITS`` adjacent amplitudes (whole memory sectors).
ADJACENT_QUBITS = 4
#: Step kinds (first column of a table row); FIXED: consecutive diagonals that want no gradient
#: (CZ, CCZ, fixed phases), multiplied into one diagonal on all of a program's qubits, made once
#: per structure and read with each amplitude (no per-gate work); SHARED: consecutive other
#: diagonals shared by the batch (:func:`~hybridq.sim.layers.shared_by_batch`), multiplied so per call.
ONE, TWO, DIAG, PERM, FIXED, SHARED = 0, 1, 2, 3, 4, 5
#: Buffers the programs add a SHARED run's gradient into (fewer: more atomic contention).
GROUPS = 32
#: Columns of a table row: kind, three qubit bits, control mask, control values, data offset,
#: size (0: the step's data wants no gradient, and the backward skips its sums).
ROW = 8


class TritonExecutor:
    """The engine's executor of :class:`Layered` programs on CUDA (see the module docstring)."""

    name = "triton-layers"

    def run(self, program: Layered, state: Tensor | None, method) -> Tensor | None:
        from .engine import fused_enabled

        if not (fused_enabled() and fused.triton_runs(program.device) and program.dtype in fused.DTYPES):
            return None
        if not fused.common_batch([program.batch] + ([] if state is None else [state.shape[0]])):
            return None  # an empty batch (nothing to launch) or start states that do not broadcast to it
        if not 2 <= program.n_qubits <= MAX_QUBITS or program.plain() or not _known_steps(program):
            return None
        plan = _plan(program)
        if plan is None:
            return None
        return run(program, plan, state)


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
                parts.append(("D", s.qubits, s.values.requires_grad, shared_by_batch(s), s.constant and id(s.values)))
            else:
                parts.append(("M", s.qubits, s.controls, s.control_values, s.matrix.requires_grad))
        steps.append(tuple(parts))
    return program.n_qubits, program.device, WHOLE_QUBITS, SEGMENT_QUBITS, ADJACENT_QUBITS, tuple(steps)


class _Segment:
    """One launch: a table of rows whose bits index a program's ``2**m`` amplitudes, and where
    those amplitudes lie in a state (None: the whole state, in order)."""

    def __init__(self, table: Tensor, n_rows: int, inner: Tensor | None, outer: Tensor | None, outer_bits: int):
        self.table, self.n_rows, self.inner, self.outer, self.outer_bits = table, n_rows, inner, outer, outer_bits


class _Plan:
    """The segments of a program structure (on the device), its permutations, its merged fixed
    diagonals (complex128, by dtype on first use), the columns of the step data that make its
    merged shared ones (:func:`_merged`; None: no SHARED row), the qubits a program holds and the
    step data's columns of the one-qubit rows whose backward sums are taken after the gate (None:
    none, the backward takes every row's sums before it)."""

    def __init__(self, segments: list[_Segment], perms: Tensor, fixed: Tensor, shared: Tensor | None, qubits: int,
                 held: list, one_qubit: Tensor | None):
        self.segments, self.perms, self.qubits, self.held = segments, perms, qubits, held
        self._fixed = {torch.complex128: fixed}
        self.shared = shared
        self.one_qubit = one_qubit

    def one_qubit_gradients(self, sums: Tensor, data: Tensor) -> None:
        """Where the backward took the one-qubit rows' sums ``S = sum lam psi^H`` with psi after
        the gate (``one_qubit``), turn them, in place, into their matrices' gradients
        ``dL/dM = S M`` (psi before the gate is ``M^H`` psi after it)."""
        if self.one_qubit is not None:
            at = self.one_qubit
            sums[:, at] = (sums[:, at].unflatten(1, (-1, 2, 2)) @ data[:, at].unflatten(1, (-1, 2, 2))).flatten(1)

    def shared_diagonals(self, data: Tensor) -> tuple[Tensor, Tensor] | None:
        """:func:`_merged` of the step data's first row: the shared runs' members and merged
        diagonals (None: no SHARED row)."""
        return None if self.shared is None else _merged(data[0], self.shared)

    def fixed(self, dtype: torch.dtype) -> Tensor:
        if dtype not in self._fixed:
            self._fixed[dtype] = self._fixed[torch.complex128].to(dtype)
        return self._fixed[dtype]


_PLANS: dict[tuple, _Plan] = {}


def _plan(program: Layered) -> _Plan | None:
    """The step table of ``program``'s structure, in segments, made once per structure (None: a
    step the kernels do not take). Held permutations keep their ``id`` valid as part of the key."""
    key = _key(program)
    hit = _PLANS.get(key)
    if hit is not None:
        return hit
    n = program.n_qubits
    segmented = n > WHOLE_QUBITS
    rows, held = [], []  # rows: (kind, qubits in row order, controls, control values, offset or permutation, size)
    constants: list[Tensor] = []  # the FIXED rows' values (complex128), their offsets into these
    first = program.n_layers * n * 4  # the one-qubit matrices come first, then the step data
    steps = [s for layer in program.layers for s in layer.steps]
    starts = data_starts(steps)
    at = iter(starts)
    for k, layer in enumerate(program.layers):
        for q in layer.one_qubit_on:
            rows.append((ONE, (q,), (), (), (k * n + q) * 4, 4))
        for s in layer.steps:
            offset = first + next(at)
            if isinstance(s, Permutation):
                rows.append((PERM, _moved_qubits(s.index, n) if segmented else (), (), (), s, 0))
                held.append(s.index)
                continue
            data = data_of(s)
            if isinstance(s, Diagonal):
                if len(s.qubits) > MAX_DIAGONAL_QUBITS:
                    return None
                size = 2 ** len(s.qubits)
                if not shared_by_batch(s):
                    rows.append((DIAG, s.qubits, (), (), offset, size))
                elif s.constant and not data.requires_grad:
                    rows.append((FIXED, s.qubits, (), (), sum(c.numel() for c in constants), 0))
                    constants.append(data[0].to(torch.complex128))
                    held.append(data)
                else:
                    rows.append((SHARED, s.qubits, (), (), offset, size if data.requires_grad else 0))
            else:
                if len(s.qubits) > 2:
                    return None
                size = 4 ** len(s.qubits)
                values = s.control_values or (1,) * len(s.controls)
                rows.append((ONE if len(s.qubits) == 1 else TWO, s.qubits, s.controls, values, offset,
                             size if data.requires_grad else 0))
    m = SEGMENT_QUBITS if segmented else n
    runs = _segments(rows, n) if segmented else [(rows, tuple(range(n)))]
    if any(len(qubits) > m for _, qubits in runs):
        return None  # a step on more qubits (controls included) than a segment holds
    perms: list[Tensor] = []
    merged: dict[int, list[list[Tensor]]] = {FIXED: [], SHARED: []}
    segments = [_segment(part, qubits, n, program.device, perms, merged) for part, qubits in runs]
    index = torch.cat(perms) if perms else torch.zeros(1, dtype=torch.int32, device=program.device)
    fixed = _run_columns(merged[FIXED], sum(c.numel() for c in constants), m, program.device)
    values = (_merged(torch.cat(constants).to(program.device), fixed)[1] if constants
              else torch.ones(1, dtype=torch.complex128, device=program.device))
    # The one-qubit rows with gradients whose sums the backward takes with psi after the gate, from
    # the partners gathered for the un-computing: 4 gathers a row, not 6. Segments only (H100,
    # 16-qubit CRX ring: 19.7 ms against 22.8); whole programs lose (10 qubits, 256 samples: 0.40
    # ms against 0.33; 12 qubits: 8.4 ms against 4.6, the pairs held spill registers).
    ones = sorted({r[4] for r in rows if r[0] == ONE and r[5] > 0}) if segmented else []
    one_qubit = ((torch.tensor(ones, device=program.device)[:, None] + torch.arange(4, device=program.device)).flatten()
                 if ones else None)
    plan = _Plan(segments, index, values, _run_columns(merged[SHARED], first + starts[-1], m, program.device), m, held,
                 one_qubit)
    if len(_PLANS) >= 64:
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[key] = plan
    return plan


def _moved_qubits(index: Tensor, n: int) -> tuple[int, ...]:
    """The qubits a permutation ``out[i] = in[index[i]]`` reads or changes: on every other
    qubit's bit it is the identity (a CNOT's are its control and target)."""
    i = torch.arange(2**n, device=index.device)
    index = index.to(i.dtype)
    moved = []
    for q, bit in enumerate(bit_weights(n).tolist()):
        if bool(((index ^ i) & bit).any() or (index[i ^ bit] != (index ^ bit)).any()):
            moved.append(q)
    return tuple(moved)


def _segments(rows: list[tuple], n: int) -> list[tuple[list[tuple], tuple[int, ...]]]:
    """The rows as runs, each on at most :data:`SEGMENT_QUBITS` qubits, the
    :data:`ADJACENT_QUBITS` of lowest bits among them, with the qubits each run holds (topped
    up with the lowest bits not yet taken). A run takes, in order, every row that fits and that
    no row left behind touches (rows on disjoint qubits commute), so runs reach across layers."""
    m, low = SEGMENT_QUBITS, set(range(n - ADJACENT_QUBITS, n))
    runs, left = [], list(rows)
    while left:
        part, held, blocked, behind = [], set(low), set(), []
        for row in left:
            touched = set(row[1]) | set(row[2])
            if not touched & blocked and len(held | touched) <= m:
                part.append(row)
                held |= touched
            else:
                behind.append(row)
                blocked |= touched
        if not part:  # a row on more qubits than a run holds: left to the caller to decline
            part, held, behind = [left[0]], low | set(left[0][1]) | set(left[0][2]), left[1:]
        extra = [q for q in reversed(range(n)) if q not in held][: m - len(held)]
        runs.append((part, tuple(sorted(held | set(extra)))))
        left = behind
    return runs


def _segment(rows: list[tuple], qubits: tuple[int, ...], n: int, device: torch.device, perms: list[Tensor],
             merged: dict[int, list[list[Tensor]]]) -> _Segment:
    """The table of ``rows`` on the ``2**m`` amplitudes of ``qubits`` (a program's index holds
    them with the lowest global bit lowest), and where a program's amplitudes lie. Permutations
    are appended to ``perms`` as tables of a program's index, then their inverses; each run of
    FIXED (SHARED) diagonals to ``merged[FIXED]`` (``merged[SHARED]``) as the columns of its
    members' values at each value of a program's index (:func:`_merged` multiplies them)."""
    m = len(qubits)
    order = sorted(qubits, reverse=True)  # inner bit j <- the qubit of the j-th lowest global bit
    bit = {q: 1 << j for j, q in enumerate(order)}
    whole = m == n
    table = []
    for kind, on, controls, values, offset, size in rows:
        if kind in merged:
            columns = offset + _picked_bits(torch.arange(2**m, device=device), [bit[q] for q in on])
            if table and table[-1][0] == kind:  # the run goes on: one product
                merged[kind][-1].append(columns)
                table[-1][7] = max(table[-1][7], size)
            else:
                table.append([kind, 0, 0, 0, 0, 0, len(merged[kind]) << m, size])
                merged[kind].append([columns])
            continue
        if kind == PERM:
            tables = (offset.index, offset.inverse) if whole else _inner_tables(offset, order, n)
            table.append([PERM, 0, 0, 0, 0, 0, sum(p.numel() for p in perms), 0])
            perms += [t.to(device=device, dtype=torch.int32) for t in tables]
            continue
        wires = [bit[q] for q in on] + [0] * (3 - len(on))
        if kind == DIAG:
            table.append([DIAG, *wires, len(on), 0, offset, size])
        else:
            mask = sum(bit[c] for c in controls)
            table.append([kind, *wires, mask, sum(bit[c] for c, v in zip(controls, values) if v), offset, size])
    rows_tensor = torch.tensor(table or [[PERM] + [0] * (ROW - 1)], dtype=torch.int32).to(device)
    if whole:
        return _Segment(rows_tensor, len(table), None, None, 0)
    outside = [q for q in reversed(range(n)) if q not in qubits]
    weight = bit_weights(n).tolist()
    inner = torch.tensor([weight[q] for q in order], dtype=torch.int32).to(device)
    outer = torch.tensor([weight[q] for q in outside] or [0], dtype=torch.int32).to(device)
    return _Segment(rows_tensor, len(table), inner, outer, len(outside))


def _picked_bits(i: Tensor, masks: list[int]) -> Tensor:
    """The bits of ``i`` under ``masks`` packed into one index, the first mask's most significant."""
    k = len(masks)
    return sum(((i & b) != 0).to(i.dtype) << (k - 1 - t) for t, b in enumerate(masks))


def _run_columns(runs: list[list[Tensor]], width: int, m: int, device: torch.device) -> Tensor | None:
    """The runs' member columns as one ``(U, K, 2**m)`` index into a row of ``width`` values,
    shorter runs padded with column ``width`` (the 1 that :func:`_merged` appends); None: no run."""
    if not runs:
        return None
    k = max(len(run) for run in runs)
    pad = torch.full((2**m,), width, dtype=torch.int64, device=device)
    return torch.stack([torch.stack(run + [pad] * (k - len(run))) for run in runs])


def _merged(row: Tensor, columns: Tensor) -> tuple[Tensor, Tensor]:
    """Each run of diagonals multiplied into one diagonal of a program's index: the members'
    values ``(U, K, 2**m)`` (``row``, a 1 appended for the padding, read at :func:`_run_columns`'
    ``columns``) and their product over each run, ``(U * 2**m,)``."""
    from .engine import start_state

    members = torch.cat([row, start_state(0, row.dtype, row.device)[0]])[columns]  # |> of no qubit: a 1
    return members, members.prod(1).flatten()


def _inner_tables(step: Permutation, order: list[int], n: int) -> tuple[Tensor, Tensor]:
    """A permutation that moves only qubits of ``order`` as gathers of a program's index (inner
    bit j holds qubit ``order[j]``): its index and inverse."""
    i = torch.arange(2 ** len(order), device=step.index.device)
    weight = bit_weights(n).tolist()
    placed = sum(((i >> j) & 1) * weight[q] for j, q in enumerate(order))  # outer bits 0

    def inner(t: Tensor) -> Tensor:
        return _picked_bits(t.to(i.dtype)[placed], [weight[q] for q in reversed(order)])

    return inner(step.index), inner(step.inverse)


def _pack(program: Layered) -> Tensor:
    """Every step's data as one ``(B or 1, W)`` complex tensor in the table's order (differentiable):
    the one-qubit matrices, then :meth:`~hybridq.sim.layers.Layered.step_data`."""
    if program.packed is not None:
        return program.packed
    mats = program.one_qubit() if program.matrices is not None or program.recipe is not None else None
    if mats is None:
        mats = torch.zeros(1, program.n_layers * program.n_qubits * 4, dtype=program.dtype, device=program.device)
    steps = program.step_data()
    return joined([mats] if steps is None else [mats, steps], program.dtype)


def run(program: Layered, plan: _Plan, state: Tensor | None) -> Tensor:
    """The output states ``(B, 2**n)`` of ``program`` from ``state`` (None: ``|0...0>``)."""
    from .engine import start_state

    data = _pack(program)
    state = start_state(program.n_qubits, program.dtype, program.device) if state is None else state.to(program.dtype)
    return _Run.apply(state, data, plan, program.batch)


def _warps(n: int) -> int:
    """Warps of a program holding ``2**n`` amplitudes: 4 while a thread holds at most 32 of them,
    8 past that (H200: 16-qubit segments of 12 qubits 13% faster on 4 warps, 13 qubits whole 7x
    slower on 4)."""
    return 4 if n <= 12 else 8


def _where(segment: _Segment) -> tuple:
    """The kernels' arguments that place a segment's amplitudes: ``inner``, ``outer``, their count."""
    if segment.inner is None:
        return segment.table, segment.table, 0  # not read
    return segment.inner, segment.outer, segment.outer_bits


class _Run(torch.autograd.Function):
    @staticmethod
    def forward(ctx, state, data, plan, batch):
        state, data = state.contiguous(), data.contiguous()
        out = torch.empty(batch, state.shape[1], dtype=state.dtype, device=state.device)
        psi, d, o = torch.view_as_real(state), torch.view_as_real(data), torch.view_as_real(out)
        fixed = torch.view_as_real(plan.fixed(state.dtype))
        merged = plan.shared_diagonals(data)
        ctx.members = None if merged is None else merged[0]
        ctx.shared = sh = fixed if merged is None else torch.view_as_real(merged[1])  # not read without SHARED rows
        source, stride = psi, psi.stride(0) if state.shape[0] > 1 else 0
        for segment in plan.segments:  # the first reads the start states, the others work in place
            inner, outer, outer_bits = _where(segment)
            _forward_kernel[(batch << outer_bits,)](
                source, d, segment.table, plan.perms, fixed, sh, o, stride, d.stride(0) if data.shape[0] > 1 else 0,
                segment.n_rows, inner, outer, outer_bits, o.stride(0),
                N_QUBITS=plan.qubits, MAPPED=segment.inner is not None, num_warps=_warps(plan.qubits))
            source, stride = o, o.stride(0)
        ctx.plan, ctx.state_batch, ctx.data_batch = plan, state.shape[0], data.shape[0]
        ctx.save_for_backward(out, data)
        return out

    @staticmethod
    def backward(ctx, grad):
        out, data = ctx.saved_tensors
        plan, batch, sh = ctx.plan, out.shape[0], ctx.shared
        members = ctx.members if ctx.needs_input_grad[1] else None
        grad = grad.contiguous()
        programs = max(batch << s.outer_bits for s in plan.segments)
        width = data.shape[1]  # grad_data has one more column: the SHARED runs' padding's
        grad_data = torch.zeros(programs, width + 1, dtype=data.dtype, device=data.device)
        grad_state = torch.empty_like(out)
        psi_work = torch.empty_like(out) if len(plan.segments) > 1 else grad_state
        d, gd = torch.view_as_real(data), torch.view_as_real(grad_data)
        fixed = torch.view_as_real(plan.fixed(out.dtype))
        groups = min(GROUPS, programs) if members is not None else 1
        gs = gd if members is None else torch.zeros(groups, *sh.shape, dtype=sh.dtype, device=sh.device)  # not written without SHARED rows
        psi, lam = torch.view_as_real(out), torch.view_as_real(grad)
        psi_to, lam_to = torch.view_as_real(psi_work), torch.view_as_real(grad_state)
        for k in reversed(range(len(plan.segments))):  # each un-computes its own part, in place after the first
            segment = plan.segments[k]
            inner, outer, outer_bits = _where(segment)
            _backward_kernel[(batch << outer_bits,)](
                psi, lam, psi_to, lam_to, d, segment.table, plan.perms, fixed, sh, gd, gs,
                d.stride(0) if data.shape[0] > 1 else 0, gd.stride(0), gs.stride(0), groups, segment.n_rows,
                inner, outer, outer_bits, psi.stride(0),
                N_QUBITS=plan.qubits, MAPPED=segment.inner is not None, STORE_PSI=k > 0,
                SUMS_AFTER=plan.one_qubit is not None, num_warps=_warps(plan.qubits))
            psi, lam = psi_to, lam_to
        if programs > batch:
            grad_data = grad_data.view(batch, programs // batch, -1).sum(1)
        if ctx.data_batch == 1:
            grad_data = grad_data.sum(0, keepdim=True)
        plan.one_qubit_gradients(grad_data, data)
        if members is not None:  # a member's gradient: the buffers' sum times the member (see the kernel)
            h = torch.view_as_complex(gs.sum(0)).view(members.shape[0], 1, members.shape[2])
            grad_data[0].index_add_(0, plan.shared.flatten(), (members * h).flatten())
        grad_data = grad_data[:, :width]
        if not ctx.needs_input_grad[0]:
            return None, grad_data, None, None
        return (grad_state.sum(0, keepdim=True) if ctx.state_batch == 1 else grad_state), grad_data, None, None


if tl is not None:

    @triton.jit
    def _one(re, im, idx, s, mask, values, base, ADJOINT: tl.constexpr):
        """A (controlled) one-qubit matrix at ``base`` (or its adjoint) on qubit bit ``s``."""
        hi = (idx & s) != 0
        pr, pi = tl.gather(re, idx ^ s, 0), tl.gather(im, idx ^ s, 0)
        nr, ni = fused.mix(re, im, pr, pi, hi, base, ADJOINT)
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
        """The diagonal at ``base`` (or its adjoint), each amplitude times its value ``j``."""
        vr = tl.load(base + 2 * j)
        vi = tl.load(base + 2 * j + 1)
        if ADJOINT:
            vi = -vi
        return vr * re - vi * im, vr * im + vi * re

    @triton.jit
    def _row(table_ptr, t):
        row = table_ptr + t * 8  # ROW
        return (tl.load(row), tl.load(row + 1), tl.load(row + 2), tl.load(row + 3), tl.load(row + 4),
                tl.load(row + 5), tl.load(row + 6), tl.load(row + 7))

    @triton.jit
    def _place(inner_ptr, outer_ptr, outer_bits, idx, N_QUBITS: tl.constexpr, MAPPED: tl.constexpr):
        """The sample of this program and the offsets (in amplitudes) of its amplitudes in that
        sample's state: the whole state in order, or (MAPPED) the ``2**N_QUBITS`` amplitudes whose
        other bits spell the program's number within its sample (``inner``/``outer``: each
        index bit's bit in the state)."""
        p = tl.program_id(0)
        b = p
        at = idx
        if MAPPED:
            b = p >> outer_bits
            o = p & ((1 << outer_bits) - 1)
            start = tl.zeros_like(p)
            for j in range(outer_bits):
                start += ((o >> j) & 1) * tl.load(outer_ptr + j)
            at = tl.zeros_like(idx) + start
            for j in tl.static_range(N_QUBITS):
                at += ((idx >> j) & 1) * tl.load(inner_ptr + j)
        return b.to(tl.int64), p, at

    @triton.jit
    def _forward_kernel(psi_ptr, data_ptr, table_ptr, perm_ptr, fixed_ptr, shared_ptr, out_ptr, psi_stride, data_stride,
                        n_steps, inner_ptr, outer_ptr, outer_bits, out_stride, N_QUBITS: tl.constexpr,
                        MAPPED: tl.constexpr):
        idx = tl.arange(0, 1 << N_QUBITS)
        b, p, at = _place(inner_ptr, outer_ptr, outer_bits, idx, N_QUBITS, MAPPED)
        re = tl.load(psi_ptr + b * psi_stride + 2 * at)
        im = tl.load(psi_ptr + b * psi_stride + 2 * at + 1)
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
            elif kind == 4:
                re, im = _diagonal(re, im, idx, fixed_ptr + 2 * offset, False)
            elif kind == 5:
                re, im = _diagonal(re, im, idx, shared_ptr + 2 * offset, False)
            else:
                perm = tl.load(perm_ptr + offset + idx)
                re, im = tl.gather(re, perm, 0), tl.gather(im, perm, 0)
        tl.store(out_ptr + b * out_stride + 2 * at, re)
        tl.store(out_ptr + b * out_stride + 2 * at + 1, im)

    @triton.jit
    def _one_sums(re, im, qr, qi, gr, gi, hi, on, target):
        """Store at ``target`` the 8 reals of ``S[r][c] = sum lam_r conj(psi_c)`` over the pairs of
        the gate's qubit (psi ``re + i im``, its partners ``qr + i qi``, lam ``gr + i gi``; ``hi``
        marks bit-1 amplitudes; amplitudes off the controls left out)."""
        zero = tl.zeros_like(re)
        dr, di = tl.where(on, gr * re + gi * im, zero), tl.where(on, gi * re - gr * im, zero)  # own: S[h][h]
        orr, oi = tl.where(on, gr * qr + gi * qi, zero), tl.where(on, gi * qr - gr * qi, zero)  # partner: S[h][1-h]
        fused.pair_sums(dr, di, orr, oi, hi, target)

    @triton.jit
    def _slot_sum(sel, tr, ti, target):
        """Store at ``target`` the complex sum of ``tr + i ti`` where ``sel``."""
        tl.store(target, tl.sum(tl.where(sel, tr, 0.0), axis=0))
        tl.store(target + 1, tl.sum(tl.where(sel, ti, 0.0), axis=0))

    @triton.jit
    def _backward_kernel(psi_ptr, lam_ptr, psi_to_ptr, lam_to_ptr, data_ptr, table_ptr, perm_ptr, fixed_ptr, shared_ptr,
                         grad_data_ptr, grad_shared_ptr, data_stride, grad_stride, grad_shared_stride, groups, n_steps,
                         inner_ptr, outer_ptr, outer_bits, state_stride, N_QUBITS: tl.constexpr, MAPPED: tl.constexpr,
                         STORE_PSI: tl.constexpr, SUMS_AFTER: tl.constexpr):
        """The adjoint sweep: per step (last first), the state before it, the gradient of its data
        (``dL/dM = sum lam psi_before^H`` over the amplitudes it mixes, masked by its controls;
        with SUMS_AFTER, for a one-qubit step ``S = sum lam psi_after^H``, which
        ``_Plan.one_qubit_gradients`` turns into ``S M``; skipped for steps of size 0), and
        the adjoint state before it. Writes the adjoint state (and, with STORE_PSI, the state)
        before the table; each program sums its own gradients."""
        N: tl.constexpr = 1 << N_QUBITS
        idx = tl.arange(0, N)
        b, p, at = _place(inner_ptr, outer_ptr, outer_bits, idx, N_QUBITS, MAPPED)
        re = tl.load(psi_ptr + b * state_stride + 2 * at)
        im = tl.load(psi_ptr + b * state_stride + 2 * at + 1)
        gr = tl.load(lam_ptr + b * state_stride + 2 * at)
        gi = tl.load(lam_ptr + b * state_stride + 2 * at + 1)
        data = data_ptr + b * data_stride
        grads = grad_data_ptr + p.to(tl.int64) * grad_stride
        zero = tl.zeros_like(re)
        for step in range(n_steps):
            t = n_steps - 1 - step
            kind, s0, s1, s2, mask, values, offset, size = _row(table_ptr, t)
            base = data + 2 * offset
            target = grads + 2 * offset
            if kind == 0:
                on, hi = (idx & mask) == values, (idx & s0) != 0
                if SUMS_AFTER:  # psi's partners serve the sums and the un-computing
                    pr, pi = tl.gather(re, idx ^ s0, 0), tl.gather(im, idx ^ s0, 0)
                    if size > 0:
                        _one_sums(re, im, pr, pi, gr, gi, hi, on, target)
                    nr, ni = fused.mix(re, im, pr, pi, hi, base, True)
                    re, im = tl.where(on, nr, re), tl.where(on, ni, im)
                else:
                    re, im = _one(re, im, idx, s0, mask, values, base, True)
                    if size > 0:
                        qr, qi = tl.gather(re, idx ^ s0, 0), tl.gather(im, idx ^ s0, 0)
                        _one_sums(re, im, qr, qi, gr, gi, hi, on, target)
                gr, gi = _one(gr, gi, idx, s0, mask, values, base, True)
            elif kind == 1:
                on = (idx & mask) == values
                re, im = _two(re, im, idx, s0, s1, mask, values, base, True)
                if size > 0:
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
            elif kind == 4:
                re, im = _diagonal(re, im, idx, fixed_ptr + 2 * offset, True)
                gr, gi = _diagonal(gr, gi, idx, fixed_ptr + 2 * offset, True)
            elif kind == 5:
                # this program's part of dL/dD conj(D) = lam conj(psi after D), added to its group's
                # buffer: a member d's gradient is that times d (|d| = 1, the others' product is D conj(d))
                if size > 0:
                    at_grad = grad_shared_ptr + (p % groups).to(tl.int64) * grad_shared_stride + 2 * (offset + idx)
                    tl.atomic_add(at_grad, gr * re + gi * im, sem="relaxed")
                    tl.atomic_add(at_grad + 1, gi * re - gr * im, sem="relaxed")
                re, im = _diagonal(re, im, idx, shared_ptr + 2 * offset, True)
                gr, gi = _diagonal(gr, gi, idx, shared_ptr + 2 * offset, True)
            else:
                inverse = tl.load(perm_ptr + offset + N + idx)
                re, im = tl.gather(re, inverse, 0), tl.gather(im, inverse, 0)
                gr, gi = tl.gather(gr, inverse, 0), tl.gather(gi, inverse, 0)
        if STORE_PSI:
            tl.store(psi_to_ptr + b * state_stride + 2 * at, re)
            tl.store(psi_to_ptr + b * state_stride + 2 * at + 1, im)
        tl.store(lam_to_ptr + b * state_stride + 2 * at, gr)
        tl.store(lam_to_ptr + b * state_stride + 2 * at + 1, gi)
