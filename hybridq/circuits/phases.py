"""Runs of diagonal gates and CNOTs as phase polynomials: one matrix product per run.

Feature maps (ZZ, IQP), QAOA cost layers and the entanglers of many ansätze are long runs of
diagonal gates (P, RZ, RZZ, CZ, CP, S, T, ...) and of CNOT / X / SWAP, whose angles are often
not affine in the inputs (the ZZ map's ``(pi - x_i)(pi - x_j)``). Gate by gate, each costs a
pass over the batch of states. But such a run maps basis state ``b`` to ``A(b)`` with the phase
``phi(b) = sum_g theta_g f_g(b)``: ``A`` is affine over GF(2) (the CNOTs and flips) and each
gate's ``f_g`` a fixed table over the run's input basis (its diagonal, read through the parities
that ``A`` had made of its qubits when it acted). So a run costs one ``(B, G) @ (G, 2**n)``
product of the angles with the tables, one complex exponential and at most one gather, whatever
its length. The other gates (H, rotations, unitaries) run through :func:`hybridq.simulate`
between runs.

:func:`simulate_phases` is what :func:`hybridq.ansatz.kernel_matrix` runs: the ZZ feature map
of ``n`` qubits and ``r`` repetitions is ``r`` runs and ``r`` layers of H.

>>> import torch
>>> from hybridq.circuits import Circuit, Input
>>> c = Circuit(2).h(0).h(1).cx(0, 1).p(Input(0) * Input(1), 1).cx(0, 1)
>>> x = torch.rand(3, 2, dtype=torch.float64)
>>> from hybridq.circuits.execute import simulate
>>> torch.allclose(simulate_phases(c, x), simulate(c, x, dtype=torch.complex128))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..sim.gates import GATES
from .circuit import Circuit, Operation
from .execute import simulate, weight_values
from .expr import evaluate

Tensor = torch.Tensor

#: Shortest run of diagonal gates worth a phase table (shorter runs are simulated as they are).
MIN_RUN = 4


def _phase_gate(op: Operation) -> bool:
    spec = GATES.get(op.name)
    return spec is not None and spec.kind == "diagonal"


def _moves_basis(op: Operation) -> bool:
    """X, CNOT (one closed control) and SWAP: affine maps of the bits, tracked by the run."""
    if op.name == "X":
        return len(op.controls) <= 1
    return op.name == "SWAP" and not op.controls


@dataclass(frozen=True)
class _Run:
    """A run: gate ``g`` adds ``angle_g * table[g]`` to the phase (angle 1 for fixed gates),
    then the basis moves by ``index`` (None: it does not)."""

    ops: tuple[Operation, ...]
    table: Tensor  # (G, 2**n) float64
    index: Tensor | None  # out[:, i] = in[:, index[i]]


def _run_of(ops: list[Operation], n: int) -> _Run:
    """The phase tables and basis map of a run of phase gates and basis moves."""
    basis = torch.arange(2**n)
    bits = [(basis >> (n - 1 - q)) & 1 for q in range(n)]  # each qubit's bit, as a function of the input basis
    phased, rows = [], []
    for op in ops:
        if _moves_basis(op):
            if op.name == "SWAP":
                a, b = op.qubits
                bits[a], bits[b] = bits[b], bits[a]
            else:
                (t,) = op.qubits
                bits[t] = bits[t] ^ (bits[op.controls[0]] if op.controls else 1)
            continue
        spec = GATES[op.name]
        unit = [torch.tensor(1.0, dtype=torch.float64)] * spec.n_params
        phases = torch.angle(spec.build(unit, torch.complex128, None))  # linear in the angle: phase(theta) = theta * this
        j = torch.zeros(2**n, dtype=torch.long)
        for q in op.qubits:
            j = 2 * j + bits[q]
        on = torch.ones(2**n, dtype=torch.float64)
        for c in op.controls:
            on = on * bits[c]
        phased.append(op)
        rows.append(on * phases[j])
    moved = [(basis >> (n - 1 - q)) & 1 for q in range(n)]
    index = None
    if any(not torch.equal(b, m) for b, m in zip(bits, moved)):
        target = sum(b << (n - 1 - q) for q, b in enumerate(bits))  # input basis state b goes to target[b]
        index = torch.empty_like(target)
        index[target] = basis
    return _Run(tuple(phased), torch.stack(rows), index)


@dataclass(frozen=True)
class PhasePlan:
    """A circuit as parts: sub-circuits of other gates and :class:`_Run`\\ s, in order."""

    parts: tuple[Circuit | _Run, ...]

    @classmethod
    def of(cls, circuit: Circuit) -> PhasePlan:
        """The plan of ``circuit``, cached on it while its operations are unchanged."""
        cached = getattr(circuit, "_phase_plan", None)
        if cached is not None and cached[0] == circuit.ops.edit:
            return cached[1]
        n, parts, pending, run = circuit.n_qubits, [], [], []

        def flush_run():
            if sum(map(_phase_gate, run)) >= MIN_RUN:
                if pending:
                    parts.append(_sub_circuit(pending, n))
                    pending.clear()
                parts.append(_run_of(run, n))
            else:
                pending.extend(run)
            run.clear()

        for op in circuit.ops:
            if (_phase_gate(op) and not any(isinstance(p, complex) for p in op.params)) or _moves_basis(op):
                run.append(op)
            else:
                flush_run()
                pending.append(op)
        flush_run()
        if pending:
            parts.append(_sub_circuit(pending, n))
        plan = cls(tuple(parts))
        circuit._phase_plan = (circuit.ops.edit, plan)
        return plan

    @property
    def has_runs(self) -> bool:
        return any(isinstance(p, _Run) for p in self.parts)


def _sub_circuit(ops: list[Operation], n: int) -> Circuit:
    sub = Circuit(n)
    for op in ops:
        sub.append(op)
    return sub


def simulate_phases(circuit: Circuit, inputs=None, weights=None, *, dtype: torch.dtype = torch.complex128,
                    device=None) -> Tensor:
    """The states ``(B, 2**n)`` of ``circuit`` from ``|0...0>`` (as :func:`hybridq.simulate`, and
    differentiable like it), its runs of phase gates and CNOTs as phase polynomials."""
    plan = PhasePlan.of(circuit)
    x = None if inputs is None else torch.as_tensor(inputs)
    if x is not None and x.dim() == 1:
        x = x.unsqueeze(0)
    device = torch.device(device or (x.device if x is not None else "cpu"))
    real = dtype.to_real()
    x = None if x is None else x.to(device=device, dtype=real)
    values = {k: v.to(device=device, dtype=real) for k, v in weight_values(circuit, weights).items()}
    batch = 1 if x is None else x.shape[0]
    state = None
    tables = _tables(plan, real, device)
    for part, table in zip(plan.parts, tables):
        if isinstance(part, Circuit):
            names = part.weight_names
            state = simulate(part, x, {k: values[k] for k in names} if names else None, initial_state=state,
                             batch=batch, dtype=dtype, device=device)
            continue
        if state is None:
            state = torch.zeros(1, 2**circuit.n_qubits, dtype=dtype, device=device)
            state[:, 0] = 1
        angles = torch.stack([_angle(op, x, values, batch, real, device) for op in part.ops], dim=1)  # (B or 1, G)
        phase = angles @ table
        state = state * torch.polar(torch.ones_like(phase), phase)
        if part.index is not None:
            state = state.index_select(1, _on_device(part, device))
    if state is None:
        state = torch.zeros(1, 2**circuit.n_qubits, dtype=dtype, device=device)
        state[:, 0] = 1
    return state.expand(batch, -1) if state.shape[0] != batch else state


def _angle(op: Operation, x: Tensor | None, values: dict, batch: int, real: torch.dtype, device) -> Tensor:
    """The gate's angle as a ``(B,)`` or ``(1,)`` column (1 for a fixed gate)."""
    if not op.params:
        return torch.ones(1, dtype=real, device=device).expand(batch)
    theta = evaluate(op.params[0], x, values)
    return torch.as_tensor(theta, dtype=real, device=device).expand(batch)


def _tables(plan: PhasePlan, real: torch.dtype, device) -> list[Tensor | None]:
    cache = plan.__dict__.setdefault("_device_tables", {})
    key = (real, torch.device(device))
    if key not in cache:
        cache[key] = [p.table.to(device=device, dtype=real) if isinstance(p, _Run) else None for p in plan.parts]
    return cache[key]


def _on_device(run: _Run, device) -> Tensor:
    cache = run.__dict__.setdefault("_index", {})
    device = torch.device(device)
    if device not in cache:
        cache[device] = run.index.to(device)
    return cache[device]

