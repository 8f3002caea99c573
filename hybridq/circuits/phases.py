"""Runs of diagonal gates and CNOTs as phase polynomials: one matrix product per run.

Feature maps (ZZ, IQP), QAOA cost layers and the entanglers of many ansätze are long runs of
diagonal gates (P, RZ, RZZ, CZ, CP, S, T, ...) and of CNOT / X / SWAP, whose angles are often
not affine in the inputs (the ZZ map's ``(pi - x_i)(pi - x_j)``). Gate by gate, each costs a
pass over the batch of states. But such a run maps basis state ``b`` to ``A(b)`` with the phase
``phi(b) = sum_g theta_g f_g(b)``: ``A`` is affine over GF(2) (the CNOTs and flips) and each
gate's ``f_g`` a fixed table over the run's input basis (its diagonal, read through the parities
that ``A`` had made of its qubits when it acted). So a run costs one ``(B, G) @ (G, 2**n)``
product of the angles with the tables, one complex exponential and at most one gather, whatever
its length. The angles, polynomials in the inputs and weights (the ZZ map's included), are
evaluated all at once from a table of monomials. The other gates (H, rotations, unitaries) run
through :func:`hybridq.simulate` between runs; a gate on qubits that a run does not touch
commutes with it and moves before it, so interleaved layers (the ZZ map's ``H P H P ...``) still
make one run.

:func:`simulate_phases` is what :func:`~hybridq.circuits.ansatz.feature_maps.kernel_matrix` runs: the ZZ feature map
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

from ..checks import under_torch_func
from ..qubit_order import bits_to_index, index_to_bits
from ..sim.gates import GATES
from ..sim.state import zero_state
from .circuit import Circuit, Operation
from .execute import checked_inputs, evolve, simulate, weight_values
from .expr import monomials

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
    then the basis moves by ``index`` (None: it does not). The angles are sums of monomials:
    monomial ``m`` is ``coef[m]`` times the weights ``weights[m]`` (1 + position, 0 for padding)
    and the input product ``products[term[m]]``, and adds to gate ``gate[m]``. The distinct input
    products (``(U, Dx)`` input columns, 1 + position, 0 for padding) are evaluated once each."""

    ops: tuple[Operation, ...]
    table: Tensor  # (G, 2**n) float64
    index: Tensor | None  # out[:, i] = in[:, index[i]]
    coef: Tensor  # (M,) float64
    weights: Tensor  # (M, Dw) long
    term: Tensor  # (M,) long, into products
    gate: Tensor  # (M,) long
    products: Tensor  # (U, Dx) long
    reads_inputs: bool


def _run_of(ops: list[Operation], n: int, names: list[str]) -> _Run:
    """The phase tables and basis map of a run of phase gates and basis moves."""
    basis = torch.arange(2**n)
    start = index_to_bits(basis, n)
    bits = list(start.unbind(-1))  # each qubit's bit, as a function of the input basis
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
        j = bits_to_index(torch.stack([bits[q] for q in op.qubits], -1))  # the gate's own basis index
        on = torch.ones(2**n, dtype=torch.float64)
        for c in op.controls:
            on = on * bits[c]
        phased.append(op)
        rows.append(on * phases[j])
    expanded = [(g, *m) for g, op in enumerate(phased) for m in (monomials(op.params[0]) if op.params else [(1.0, (), ())])]
    width_w = max([1] + [len(m[2]) for m in expanded])
    width_x = max([1] + [len(m[3]) for m in expanded])
    pad = lambda values, width: tuple(values) + (0,) * (width - len(values))  # noqa: E731
    keys = [pad(sorted(1 + i for i in m[3]), width_x) for m in expanded]
    products = sorted(set(keys))
    coef = torch.tensor([m[1] for m in expanded], dtype=torch.float64)
    weights = torch.tensor([pad([1 + names.index(w) for w in m[2]], width_w) for m in expanded], dtype=torch.long)
    term = torch.tensor([products.index(k) for k in keys], dtype=torch.long)
    gate = torch.tensor([m[0] for m in expanded], dtype=torch.long)
    moved = torch.stack(bits, -1)
    index = None
    if not torch.equal(moved, start):
        target = bits_to_index(moved)  # input basis state b goes to target[b]
        index = torch.empty_like(target)
        index[target] = basis
    return _Run(tuple(phased), torch.stack(rows), index, coef, weights, term, gate,
                torch.tensor(products, dtype=torch.long), any(map(any, products)))


@dataclass(frozen=True)
class PhasePlan:
    """A circuit as parts, in order: sub-circuits of other gates and runs of phase gates."""

    parts: tuple[Circuit | _Run, ...]

    @classmethod
    def of(cls, circuit: Circuit) -> PhasePlan:
        """The plan of ``circuit``, cached on it while its operations are unchanged
        (:meth:`Circuit.derived`)."""
        return circuit.derived("phase plan", lambda: cls._make(circuit))

    @classmethod
    def _make(cls, circuit: Circuit) -> PhasePlan:
        """The plan of ``circuit``, made anew."""
        n, names, parts = circuit.n_qubits, circuit.weight_names, []
        before, run, after = [], [], []  # other gates before the run, the run, other gates after it
        run_wires, after_wires, made = set(), set(), []

        def flush():
            if sum(map(_phase_gate, run)) >= MIN_RUN:
                if before:
                    parts.append(_sub_circuit(before, n))
                    before.clear()
                key = [(op.name, op.qubits, op.controls, op.params) for op in run]
                same = [r for k, r in made if k == key]  # a repeated run (the ZZ map's repetitions) is one object
                parts.append(same[0] if same else _run_of(run, n, names))
                made.append((key, parts[-1]))
            else:
                before.extend(run)
            before.extend(after)
            for held in (run, after, run_wires, after_wires):
                held.clear()

        for op in circuit.ops:
            wires = {*op.qubits, *op.controls}
            if _phase_gate(op) or _moves_basis(op):
                if wires & after_wires:  # it does not commute past the gates held after the run
                    flush()
                run.append(op)
                run_wires |= wires
            elif run and wires & (run_wires | after_wires):
                after.append(op)
                after_wires |= wires
            else:  # it commutes with the run (disjoint qubits): it goes before it
                before.append(op)
        flush()
        if before:
            parts.append(_sub_circuit(before, n))
        return cls(tuple(parts))

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
    x = checked_inputs(circuit, inputs)
    device = torch.device(device or (x.device if x is not None else "cpu"))
    real = dtype.to_real()
    x = None if x is None else x.to(device=device, dtype=real)
    values = {k: v.to(device=device, dtype=real) for k, v in weight_values(circuit, weights).items()}
    one = torch.ones(1, dtype=real, device=device)
    w = torch.cat([one, *(values[k].reshape(1) for k in circuit.weight_names)])  # 1 first: the padding picks it
    x1 = None if x is None else torch.cat([one.expand(x.shape[0], 1), x], dim=1)
    batch = 1 if x is None else x.shape[0]
    transformed = under_torch_func(x, *values.values())  # torch.func: gate by gate on torch's ops, as simulate
    state, factors = None, {}  # the phase factor of each distinct run, made once
    for part, held in zip(plan.parts, _on_device(plan, real, device)):
        if isinstance(part, Circuit):
            names = part.weight_names
            if state is None and not names and not part.n_inputs:  # a fixed start (the H layer of a feature map)
                state = _fixed_start(plan, part, dtype, device)
                continue
            state = evolve(part, state, x, {k: values[k] for k in names}, batch=batch, dtype=dtype, device=device,
                           method="autograd" if transformed else "auto", fusion=not transformed)
            continue
        if state is None:
            state = zero_state(circuit.n_qubits, 1, dtype=dtype, device=device)
        if id(part) not in factors:
            phase = _phase(part, held, w, x1)
            factors[id(part)] = torch.complex(phase.cos(), phase.sin())  # torch.polar is ~3x slower on the CPU
        state = state * factors[id(part)]
        if part.index is not None:
            state = state.index_select(1, held["index"])
    if state is None:
        state = zero_state(circuit.n_qubits, 1, dtype=dtype, device=device)
    return state.expand(batch, -1) if state.shape[0] != batch else state


def _phase(run: _Run, held: dict, w: Tensor, x1: Tensor | None) -> Tensor:
    """The phase ``(B or 1, 2**n)`` that ``run`` adds: the input products ``(B, U)`` times the
    tables summed per product ``(U, 2**n)``, whose coefficients hold the weights."""
    values = held["coef"] * w[held["weights"]].prod(1)  # (M,)
    mix = values.new_zeros(len(run.products), len(run.ops)).index_put((held["term"], held["gate"]), values,
                                                                       accumulate=True)
    tables = mix @ held["table"]  # (U, 2**n)
    if not run.reads_inputs:
        return tables
    cols = held["products"]
    products = x1.index_select(1, cols[:, 0])
    for k in range(1, cols.shape[1]):
        products = products * x1.index_select(1, cols[:, k])
    return products @ tables


def _fixed_start(plan: PhasePlan, part: Circuit, dtype: torch.dtype, device) -> Tensor:
    """The state ``(1, 2**n)`` that a first part without angles makes of ``|0...0>``, made once."""
    cache = plan.__dict__.setdefault("_starts", {})
    key = (dtype, torch.device(device))
    if key not in cache:
        with torch.no_grad():
            cache[key] = simulate(part, dtype=dtype, device=device)
    return cache[key]


def _on_device(plan: PhasePlan, real: torch.dtype, device) -> list[dict | None]:
    """Each run's tables and indices on ``device`` in ``real``, moved once."""
    cache = plan.__dict__.setdefault("_held", {})
    key = (real, torch.device(device))
    if key not in cache:
        cache[key] = [None if isinstance(p, Circuit) else {
            "table": p.table.to(device=device, dtype=real), "coef": p.coef.to(device=device, dtype=real),
            "weights": p.weights.to(device), "term": p.term.to(device), "gate": p.gate.to(device),
            "products": p.products.to(device),
            "index": None if p.index is None else p.index.to(device)} for p in plan.parts]
    return cache[key]
