"""Vectorised compilation: a circuit becomes a few batched tensor ops, not one per gate.

Building each gate's matrix separately costs a dozen tiny kernels per gate; for hybrid
circuits (hundreds of gates on a few qubits) that dispatch, not the arithmetic, dominates,
most of all on a GPU. :class:`CompiledCircuit` analyses the circuit once and then, per call:

1. evaluates every angle at once: each angle is a sum of monomials ``c * weight * input``
   (affine forms such as ``w * x + b``), gathered and summed with one ``index_add``;
2. builds the matrices of all gates of one kind in one call of the kind's builder;
3. multiplies the chains of one-qubit gates of every qubit of every layer together (one
   batched 2x2 product per chain position, for all layers at once; on a CPU with the native
   kernels, the executor does it from a :class:`~hybridq.sim.layers.ChainRecipe`);
4. applies each run of commuting Pauli rotations that flip the same qubits (a fermionic
   excitation's terms) as one rotation of the basis-state pairs it moves (a
   :class:`~hybridq.sim.layers.PairRotation`, :mod:`hybridq.sim.pairs`), all the runs' angles
   from the weights at once;
5. rewrites each run of commuting two-qubit Pauli rotations (RXX, RYY rings, two-qubit
   ``PauliRot``) as one-qubit basis changes, which join the chains, around RZZ (diagonal) steps;
6. builds the other gates (diagonals, controlled and two-qubit gates) with one builder call
   per gate name, composes runs of permutation gates, and hands all of it to the engine as one
   :class:`~hybridq.sim.layers.Layered` description (:mod:`hybridq.sim.layers`).

Where every gate has at most one angle, the data of steps 2, 3 and 6 is made in one autograd node
with a hand-written backward instead (:mod:`hybridq.circuits.gate_data`): a few torch ops per
training step, not one chain per gate kind. The steps with angles are then
:class:`~hybridq.sim.layers.StepView`\\ s of that data (the program's outline, made once), made
into steps only for the executors that read steps.

The plan is cached on the circuit and rebuilt when its operations change. Circuits whose
angles are not affine in that sense (e.g. products of two weights) use the gate-by-gate path.

>>> import torch
>>> from hybridq.circuits import Circuit, Input, Weight
>>> c = Circuit(2).ry(Weight("w") * Input(0), 0).rz(Weight("t"), 0).cx(0, 1)
>>> plan = CompiledCircuit.of(c)
>>> program = plan.layered(torch.ones(3, 1), torch.tensor([1.0, 0.5]), batch=3, dtype=torch.complex64, device="cpu")
>>> [layer.one_qubit_on for layer in program.layers], [type(s).__name__ for s in program.layers[0].steps]
([(0,)], ['Permutation'])
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Hashable, TypeVar

import numpy as np
import torch

from ..sim import chains as native_chains
from ..sim import kernels, pairs
from ..sim import ops as simops
from ..sim.fusion import Step as FusionStep
from ..sim.fusion import permutation_op, one_qubit_matrix, plan
from ..sim.layers import (MAX_DENSE_PAULI_QUBITS, ChainRecipe, Dense, Diagonal, Layer, Layered, PairRotation, Permutation, Step,
                          StepView, controlled_diagonal, data_of, from_op, joined, pauli_step, pauli_table)
from ..sim.gates import GATES
from ..sim.program import Op
from .circuit import Circuit, Operation
from .expr import BilinearTerm, bilinear_terms
from .gate_data import GateData

Tensor = torch.Tensor
T = TypeVar("T")


def _classify(op: Operation) -> tuple[str, int | None]:
    spec = GATES.get(op.name)
    if spec is not None and spec.n_qubits == 1 and not op.controls:
        return "one_qubit", op.qubits[0]
    if spec is not None and spec.kind in ("flip", "swap"):
        return "permutation", None
    return "other", None


def _fixed_matrix(name: str, dtype: torch.dtype, device) -> Tensor:
    """The ``2 x 2`` matrix of a one-qubit gate without parameters."""
    return one_qubit_matrix(simops.gate_op(name, (0,), n_qubits=1, dtype=dtype, device=device), dtype, device)


def _full_label(op: Operation, n: int) -> str:
    """The Pauli string of a ``PauliRot`` on all ``n`` qubits."""
    label = ["I"] * n
    for q, p in zip(op.qubits, op.pauli):
        label[q] = p
    return "".join(label)


def _pair_runs(steps: list[FusionStep], operations: tuple[Operation, ...], rotations: set[int], n: int) -> list[FusionStep]:
    """``steps`` with each run of single Pauli-rotation steps (operations in ``rotations``) that
    :func:`~hybridq.sim.pairs.commuting_same_flip` accepts merged into one ``"pair_rotation"`` step.
    A lone rotation that a dense step describes stays single (every executor takes those)."""
    out: list[FusionStep] = []
    for step in steps:
        i = step.items[0] if step.kind == "single" else None
        if i not in rotations:
            out.append(step)
            continue
        labels = [_full_label(operations[i], n)]
        if out and out[-1].kind == "pair_rotation":
            merged = [_full_label(operations[j], n) for j in out[-1].items] + labels
            if pairs.commuting_same_flip(merged):
                out[-1] = FusionStep("pair_rotation", items=out[-1].items + (i,))
                continue
        out.append(FusionStep("pair_rotation", items=(i,)) if pairs.commuting_same_flip(labels) else step)
    return [FusionStep("single", items=s.items) if s.kind == "pair_rotation" and len(s.items) == 1
            and len(operations[s.items[0]].qubits) <= MAX_DENSE_PAULI_QUBITS else s for s in out]


_TWO_QUBIT_PAULI = {"RXX": "XX", "RYY": "YY", "RZZ": "ZZ"}
# circuit-order gates before (to the Z basis) and after (back) a rotation: V Z V^dagger = P, V = H, S H
_TO_Z = {"X": (("H",), ("H",)), "Y": (("Sdg", "H"), ("H", "S")), "Z": ((), ())}


def _two_qubit_pauli(op: Operation) -> str | None:
    """The Pauli letters of ``op`` when it is ``exp(-i t P / 2)`` of a two-qubit product ``P`` (no identity), else None."""
    letters = op.pauli if op.name == "PauliRot" else _TWO_QUBIT_PAULI.get(op.name)
    if op.controls or len(op.qubits) != 2 or letters is None or "I" in letters:
        return None
    return letters


def _diagonalised(operations: tuple[Operation, ...]) -> tuple[Operation, ...]:
    """``operations`` with each run of consecutive two-qubit Pauli rotations (RXX, RYY, two-qubit
    ``PauliRot``) that put one letter on each qubit they touch (so they commute) rewritten as one-qubit
    basis changes around RZZ rotations of the same angles: the basis changes join the neighbouring
    one-qubit chains and the RZZ run becomes one diagonal step. Runs already diagonal, ``PauliRot``
    runs next to another ``PauliRot`` (candidates for a pair rotation), and lone rotations next to
    another lone one (RXX then RYY on a pair: the basis changes between them would make a one-qubit
    layer of their own for each, where each is one dense step) stay as they are.

    >>> from hybridq.circuits import Circuit
    >>> ops = _diagonalised(tuple(Circuit(3).rxx(0.3, 0, 1).rxx(0.2, 1, 2).ops))
    >>> [(op.name, op.qubits) for op in ops]  # doctest: +NORMALIZE_WHITESPACE
    [('H', (0,)), ('H', (1,)), ('H', (2,)), ('RZZ', (0, 1)), ('RZZ', (1, 2)), ('H', (0,)), ('H', (1,)), ('H', (2,))]
    >>> [op.name for op in _diagonalised(tuple(Circuit(2).rxx(0.3, 0, 1).ryy(0.2, 0, 1).ops))]
    ['RXX', 'RYY']
    """
    runs: list[tuple[int, int, dict[int, str]]] = []  # (start, end, letters); no letters: another operation
    i = 0
    while i < len(operations):
        letters: dict[int, str] = {}
        j = i
        while j < len(operations) and (p := _two_qubit_pauli(operations[j])) is not None and all(
                letters.get(q, a) == a for q, a in zip(operations[j].qubits, p)):
            letters.update(zip(operations[j].qubits, p))
            j += 1
        runs.append((i, max(j, i + 1), letters))
        i = max(j, i + 1)
    lone = [bool(letters) and end - start == 1 for start, end, letters in runs]
    out: list[Operation] = []
    for k, (i, j, letters) in enumerate(runs):
        run = operations[i:j]
        beside = [operations[m] for m in (i - 1, j) if 0 <= m < len(operations)]
        if not letters or set(letters.values()) == {"Z"} or (lone[k] and any(lone[k - 1:k] + lone[k + 1:k + 2])) or (
                any(op.name == "PauliRot" for op in run) and any(op.name == "PauliRot" for op in beside)):
            out += run
            continue
        out += [Operation(g, (q,)) for q, a in letters.items() for g in _TO_Z[a][0]]
        out += [Operation("RZZ", op.qubits, op.params) for op in run]
        out += [Operation(g, (q,)) for q, a in letters.items() for g in _TO_Z[a][1]]
    return tuple(out)


class CompiledCircuit:
    """The cached, vectorised program of a :class:`Circuit` (see the module docstring).

    Attributes:
        operations: the circuit's operations as compiled (runs of two-qubit Pauli rotations diagonalised).
        slot_ops: the operation of each angle slot (one slot per angle, one per fixed one-qubit gate).
        op_slots: each operation's slots (consecutive).
        slots_reading_inputs: the slots whose angle reads an input (it differs by sample).
        steps: the fusion steps (:func:`hybridq.sim.fusion.plan`), pair rotations merged.
        host_tables: index tensors on the host, by name: the angles' monomials (``"mono_slot"``,
            ``"mono_coef"``, ``"mono_weight"``, ``"mono_input"``: 1 + weight / input column, 0 for
            none), the chains' slots ``"chains"`` ``(L * n, length)`` (padded with ``n_slots``, the
            identity) and each chain position's column of :meth:`one_qubit_matrices`
            ``"chain_factors"``, the pair rotations' tables; moved once per device.
        chain_slots_by_gate: the slots of the one-qubit chain gates, grouped by gate name.
        one_qubit_columns: those slots in :meth:`one_qubit_matrices`' column order (the groups
            one after the other; the identity's column follows them).
    """

    def __init__(self, circuit: Circuit):
        self._made: dict[Hashable, object] = {}  # see cached()
        self._structure = object()  # this plan's part of its programs' Layered.structure
        self.n_qubits = circuit.n_qubits
        self.operations = _diagonalised(tuple(circuit.ops))
        monomials: list[tuple[int, float, str | None, int | None]] = []
        rotation_terms: dict[int, list[BilinearTerm]] = {}  # Pauli rotations' angles free of inputs, for pair runs
        self.slot_ops: list[Operation] = []  # one slot per parametric angle, plus fixed one-qubit gates
        self.op_slots: list[tuple[int, ...]] = []  # each operation's slots (consecutive)
        self.ok = True
        for op in self.operations:
            terms = [bilinear_terms(p) for p in op.params]
            if any(t is None for t in terms):
                self.ok = False
                return
            spec = GATES.get(op.name)
            fixed_one_qubit = not op.params and spec is not None and spec.n_qubits == 1 and not op.controls
            first = len(self.slot_ops)
            for _ in range(max(len(op.params), int(fixed_one_qubit))):  # a fixed gate: a slot without monomials
                self.slot_ops.append(op)
            self.op_slots.append(tuple(range(first, len(self.slot_ops))))
            monomials += [(first + k, c, w, i) for k, part in enumerate(terms) for c, w, i in part]
            if op.name == "PauliRot" and not op.controls and all(i is None for _, _, i in terms[0]):
                rotation_terms[len(self.op_slots) - 1] = terms[0]
        names = circuit.weight_names
        self.steps = _pair_runs(plan(self.operations, _classify, lambda op: set(op.wires)), self.operations,
                                set(rotation_terms), self.n_qubits)
        self.n_slots = len(self.slot_ops)
        self._reads_inputs = any(m[3] is not None for m in monomials)
        self.slots_reading_inputs = {m[0] for m in monomials if m[3] is not None}
        # index tensors, built once on the host and moved once per device (see _on)
        self.host_tables: dict[object, Tensor] = {
            "mono_slot": torch.tensor([m[0] for m in monomials], dtype=torch.long),
            "mono_coef": torch.tensor([m[1] for m in monomials], dtype=torch.float64),
            # 1 + position in the weights / input columns; 0 picks the constant 1 put in front
            "mono_weight": torch.tensor([1 + names.index(m[2]) if m[2] is not None else 0 for m in monomials],
                                        dtype=torch.long),
            "mono_input": torch.tensor([1 + m[3] if m[3] is not None else 0 for m in monomials], dtype=torch.long),
        }
        # the layers of the neutral description (hybridq.sim.layers): each Kronecker step starts
        # one, the other steps follow it; (layer, qubit) rows of chains, padded with the
        # identity (the last slot): all chain products in one batched product per position
        self._layer_specs: list[tuple[tuple[int, ...], list[int]]] = []
        for k, step in enumerate(self.steps):
            if step.kind == "kron":
                self._layer_specs.append((tuple(q for q, _ in step.chains), []))
            else:
                if not self._layer_specs:
                    self._layer_specs.append(((), []))
                self._layer_specs[-1][1].append(k)
        self.chain_slots_by_gate: dict[str, list[int]] = {}
        kron_chains = [dict(step.chains) for step in self.steps if step.kind == "kron"]
        if len(kron_chains) < len(self._layer_specs):
            kron_chains.insert(0, {})
        length = max((len(c) for chains in kron_chains for c in chains.values()), default=0)
        index = torch.full((len(self._layer_specs) * self.n_qubits, length), self.n_slots, dtype=torch.long)
        for layer, chains in enumerate(kron_chains):
            for q, chain in chains.items():
                index[layer * self.n_qubits + q, : len(chain)] = torch.tensor([self.op_slots[i][0] for i in chain])
                for i in chain:
                    slot = self.op_slots[i][0]
                    self.chain_slots_by_gate.setdefault(self.slot_ops[slot].name, []).append(slot)
        self.host_tables["chains"] = index
        self.one_qubit_columns = tuple(s for slots in self.chain_slots_by_gate.values() for s in slots)
        # each chain position's column of one_qubit_matrices (the identity last)
        order = {slot: i for i, slot in enumerate(self.one_qubit_columns)}
        self.host_tables["chain_factors"] = torch.tensor([order.get(s, len(order)) for s in index.flatten().tolist()],
                                                         dtype=torch.long)
        # every pair rotation's pairs and angles (sums of coefficient * (1, weights...)[column])
        self._pair_rows: dict[int, tuple[int, int]] = {}
        start, entries = 0, []
        for k, step in enumerate(self.steps):
            if step.kind != "pair_rotation":
                continue
            p = pairs.PairPlan.build([_full_label(self.operations[i], self.n_qubits) for i in step.items],
                                     [[(c, None if w is None else names.index(w)) for c, w, _ in rotation_terms[i]]
                                      for i in step.items], n_qubits=self.n_qubits)
            self._pair_rows[k] = (start, start + len(p.x_index))
            entries.append((p.rows + start, p.columns + 1, p.coeffs))
            self.host_tables["pair_x", k] = torch.from_numpy(p.x_index)
            self.host_tables["pair_y", k] = torch.from_numpy(p.y_index)
            self.host_tables["pair_phase", k] = torch.from_numpy(p.phase)
            start += len(p.x_index)
        if entries:
            self.host_tables["pair_row"], self.host_tables["pair_column"], self.host_tables["pair_coef"] = (
                torch.from_numpy(np.concatenate(part)) for part in zip(*entries))
        self._n_pairs = start
        for name, slots in self.chain_slots_by_gate.items():
            self.host_tables[("slots", name)] = torch.tensor(slots, dtype=torch.long)
        self._native_ok = all(GATES[name].n_params == 0 or native_chains.trig_form(name) is not None
                              for name in self.chain_slots_by_gate)

    def cached(self, key: Hashable, build: Callable[[], T]) -> T:
        """What ``build()`` returns, made on the first call with ``key`` and then kept with the plan:
        the one place for what the plan derives once per dtype and device (tables on a device,
        fixed matrices and steps, the gate data plan of :mod:`hybridq.circuits.gate_data`).

        >>> plan = CompiledCircuit.of(Circuit(1).h(0))
        >>> plan.cached("example", lambda: [1]) is plan.cached("example", lambda: [2])
        True
        """
        try:
            return self._made[key]
        except KeyError:
            value = self._made[key] = build()
            return value

    def _on(self, device) -> dict[object, Tensor]:
        """The plan's index tensors and user matrices on ``device``, moved once.

        With :meth:`_fixed` this is why a call makes no host-to-device copies and no host
        synchronisation: a step that simulates the plan can be captured as a CUDA graph.
        """
        device = torch.device(device)

        def moved() -> dict[object, Tensor]:
            tables = {k: v.to(device) for k, v in self.host_tables.items()}
            for i, op in enumerate(self.operations):
                if op.name in ("Unitary", "Diagonal"):
                    tables[("user", i)] = torch.as_tensor(op.matrix, device=device)
            return tables

        return self.cached(("tables", device), moved)

    def _fixed(self, name: str, dtype: torch.dtype, device) -> Tensor:
        """The matrix of a gate without parameters, made once per dtype and device."""
        return self.cached(("fixed", name, dtype, torch.device(device)), lambda: _fixed_matrix(name, dtype, device))

    @classmethod
    def of(cls, circuit: Circuit) -> CompiledCircuit:
        """The compiled program of ``circuit``, cached on it while its operations are unchanged
        (:meth:`Circuit.derived`)."""
        return circuit.derived("compiled", lambda: cls(circuit))

    def pair_plan(self) -> tuple[list[tuple[Tensor, Tensor, Tensor]], tuple[Tensor, Tensor, Tensor]] | None:
        """The planned pair rotations of a circuit made of them alone (e.g. UCCSD's excitations
        after the Hartree-Fock gates), else None: each step's pairs ``(x_index, y_index, phase)``
        (:class:`~hybridq.sim.layers.PairRotation`), in order, and the map ``(row, column, coef)``
        from the weights to all the steps' pair angles, concatenated in that order: angle ``row[j]``
        has ``coef[j] * (1, *weights)[column[j]]`` (int64, int64, float64).

        >>> from hybridq.circuits import Circuit, Weight
        >>> c = Circuit(2).pauli_rotation(Weight("t"), "XY", [0, 1]).pauli_rotation(-Weight("t"), "YX", [0, 1])
        >>> steps, (row, column, coef) = CompiledCircuit.of(c).pair_plan()
        >>> [x.tolist() for x, _, _ in steps], row.tolist(), column.tolist(), coef.tolist()
        ([[1]], [0], [1], [2.0])
        """
        if not self.ok or not self.steps or any(step.kind != "pair_rotation" for step in self.steps):
            return None
        host = self.host_tables
        steps = [(host["pair_x", k], host["pair_y", k], host["pair_phase", k]) for k in sorted(self._pair_rows)]
        return steps, (host["pair_row"], host["pair_column"], host["pair_coef"])

    def angles(self, inputs: Tensor | None, weights: Tensor, rdt: torch.dtype, device) -> Tensor:
        """Every angle slot at once: ``(B, slots)`` with inputs, else ``(1, slots)``.

        ``weights`` is the flat weight vector in ``circuit.weight_names`` order.
        """
        const = self._on(device)
        coef = const["mono_coef"].to(rdt)
        w = torch.cat([torch.ones(1, dtype=rdt, device=device), weights.to(device=device, dtype=rdt)])
        values = coef * w.index_select(0, const["mono_weight"])  # index_select: its backward needs no sort
        if inputs is not None and self._reads_inputs:
            x = torch.cat([torch.ones(inputs.shape[0], 1, dtype=rdt, device=device), inputs.to(rdt)], dim=1)
            values = values * x.index_select(1, const["mono_input"])
        else:
            values = values.unsqueeze(0)
        out = torch.zeros(values.shape[0], self.n_slots, dtype=rdt, device=device)
        return out.index_add(1, const["mono_slot"], values)

    def layered(self, inputs: Tensor | None, weights: Tensor, *, batch: int, dtype: torch.dtype, device) -> Layered | None:
        """The neutral layered description (:mod:`hybridq.sim.layers`) for these inputs and the flat
        weight vector, or None when a step has no description (a wide Pauli rotation with X or Y)."""
        device = torch.device(device)
        rdt = simops.real_dtype(dtype)
        const = self._on(device)
        n, n_layers = self.n_qubits, len(self._layer_specs)
        use_recipe = bool(self.chain_slots_by_gate) and self._native_ok and native_chains.available(device)
        reads = inputs is not None and self._reads_inputs
        fast = GateData.of(self, dtype, device, chains=not use_recipe) if weights.numel() or reads else None
        packed = None
        if fast is not None:  # every gate's data in one autograd node (the one-qubit chains natively where they can be)
            recipe = ChainRecipe(weights.to(rdt), inputs.to(rdt) if reads else None, self._chain_plan(rdt)) if use_recipe else None
            packed = fast(weights, inputs.to(rdt) if reads and fast.reads_inputs else None)
            chains, data = fast.split(packed)
            matrices = None if chains is None else chains.unflatten(1, (n_layers, n))
            one_row = packed.shape[0] == 1
            singles = self.cached(("views", dtype, device, not use_recipe, one_row),
                                  lambda: {**self._single_groups(dtype, device)[0], **{
                                      k: dataclasses.replace(v, shared=v.shared or one_row) for k, v in fast.views.items()}})
            data = data if data.shape[1] else None
            packed = packed if chains is not None else None
        else:
            built = self._steps_by_builders(inputs, weights, dtype, device)
            if built is None:
                return None
            matrices, recipe, singles, data = built
        pair_steps = self._pair_steps(weights, rdt, const, dtype, device)
        if fast is not None and not pair_steps:  # the outline is the same in every call: made once
            outline = self.cached(("outline", dtype, device, not use_recipe, one_row),
                                  lambda: self._outline(singles, dtype, device))
        elif not pair_steps and self._singles_fixed(dtype, device):  # the same too: no step has angles
            outline = self.cached(("fixed outline", dtype, device), lambda: self._outline(singles, dtype, device))
        else:
            outline = self._outline({**singles, **pair_steps}, dtype, device)
        rows = None if inputs is None or not self._reads_inputs else inputs.shape[0] == 1  # the steps' P
        structure = (self._structure, dtype, device, rows)
        return Layered(n, batch, dtype, device, outline, matrices, recipe, structure, data, packed)

    def _outline(self, singles: dict[int, Step | StepView], dtype: torch.dtype, device) -> tuple[Layer, ...]:
        """The layers of :meth:`layered`, their steps ``singles`` by index and the permutation steps."""
        return tuple(Layer(on, tuple(self._permutation_step(k, dtype, device) if self.steps[k].kind == "permutation"
                                     else singles[k] for k in ks)) for on, ks in self._layer_specs)

    def _singles_fixed(self, dtype: torch.dtype, device) -> bool:
        """Whether every step :meth:`single_steps` makes is fixed (made once; none has angles)."""
        return not self._single_groups(dtype, device)[1] and not self._pauli_steps()

    def _pauli_steps(self) -> list[int]:
        """The ``"single"`` steps of a ``PauliRot``, by index."""
        return self.cached("pauli steps", lambda: [k for k, step in enumerate(self.steps) if step.kind == "single"
                                                   and self.operations[step.items[0]].name == "PauliRot"])

    def _steps_by_builders(self, inputs: Tensor | None, weights: Tensor, dtype: torch.dtype, device) -> tuple | None:
        """The chain products, recipe, steps and step data of :meth:`layered` by one builder call per
        gate kind (circuits :class:`~hybridq.circuits.gate_data.GateData` does not take), or None
        when a step has no description."""
        rdt, const = simops.real_dtype(dtype), self._on(device)
        single_slots = self.cached("single slots", lambda: {
            s for step in self.steps if step.kind == "single" for s in self.op_slots[step.items[0]]})
        theta = self.angles(inputs, weights, rdt, device) if single_slots & self.slots_reading_inputs or not self._native_ok else None
        shared = self.angles(None, weights, rdt, device) if single_slots - self.slots_reading_inputs else None
        matrices = recipe = None
        if self.chain_slots_by_gate and self._native_ok and native_chains.available(device):
            recipe = ChainRecipe(weights.to(rdt), inputs.to(rdt) if inputs is not None and self._reads_inputs else None,
                                 self._chain_plan(rdt))
        elif self.chain_slots_by_gate:
            theta = self.angles(inputs, weights, rdt, device) if theta is None else theta
            matrices = self._chain_products(theta, const, dtype, device).unflatten(1, (len(self._layer_specs), self.n_qubits))
        if self.chain_slots_by_gate and not weights.numel() and (inputs is None or not self._reads_inputs):
            matrices, recipe = self._fixed_chains(recipe, matrices, dtype, device), None
        if self._singles_fixed(dtype, device):  # no step has angles: the steps are the same in every call
            built = self.cached(("fixed singles", dtype, device), lambda: self.single_steps(None, None, dtype, device))
        else:
            built = self.single_steps(theta, shared, dtype, device)
        return None if built is None else (matrices, recipe, *built)

    def _single_groups(self, dtype: torch.dtype, device) -> tuple:
        """What :meth:`single_steps` makes once per dtype and device: the fixed steps by index, the
        steps with angles grouped by (gate name, controls, reads inputs), each group's first slots,
        the fixed steps with data and their data joined."""
        def grouped() -> tuple:
            fixed, groups = {}, {}
            for k, step in enumerate(self.steps):
                if step.kind != "single":
                    continue
                op, slots = self.operations[step.items[0]], self.op_slots[step.items[0]]
                if op.name in GATES and slots:
                    reads = bool(set(slots) & self.slots_reading_inputs)
                    groups.setdefault((op.name, len(op.controls), reads), []).append(k)
                elif op.name != "PauliRot":
                    fixed[k] = from_op(self._fixed_op(step.items[0], dtype, device), self.n_qubits, device)
                    if isinstance(fixed[k], Diagonal):  # made once, kept in this cache
                        fixed[k] = dataclasses.replace(fixed[k], constant=True)
            slots = {g: torch.tensor([self.op_slots[self.steps[k].items[0]][0] for k in ks], device=device)
                     for g, ks in groups.items()}
            with_data = [k for k in sorted(fixed) if isinstance(fixed[k], (Diagonal, Dense))]
            block = joined([data_of(fixed[k]) for k in with_data], dtype) if with_data else None
            return fixed, groups, slots, with_data, block

        return self.cached(("singles", dtype, device), grouped)

    def single_steps(self, theta: Tensor | None, shared: Tensor | None, dtype: torch.dtype,
                     device) -> tuple[dict[int, Step], Tensor | None] | None:
        """The step of every ``"single"`` fusion step by index: fixed ones made once, those with
        angles built with one builder call per gate name and control count, from ``theta``
        ``(B, slots)`` where an angle reads the inputs, else from ``shared`` ``(1, slots)``; and
        the data of all of them in step order (``Layered.data``), gathered from the builders'
        outputs at once (None: no step has data)."""
        fixed, groups, slots, with_data, block = self._single_groups(dtype, device)
        out = dict(fixed)
        parts, owners = [], []  # the builders' outputs and, for each, the steps whose data it holds
        for (name, controls, reads), ks in groups.items():
            spec, angles = GATES[name], theta if reads else shared
            data = spec.build([angles.index_select(1, slots[name, controls, reads] + j) for j in range(spec.n_params)],
                              dtype, device)
            if controls and spec.kind == "diagonal":
                data = controlled_diagonal(data.flatten(0, 1), (1,) * controls).unflatten(0, data.shape[:2])
            parts.append(data)
            owners.append(ks)
            for g, k in enumerate(ks):
                op = self.operations[self.steps[k].items[0]]
                if spec.kind == "diagonal":
                    out[k] = Diagonal(op.controls + op.qubits, data[:, g])
                else:
                    out[k] = Dense(op.qubits, data[:, g], op.controls, (1,) * controls, spec.zero_parts)
        if block is not None:
            parts.append(block)
            owners.append(with_data)
        for k in self._pauli_steps():
            op = self.operations[self.steps[k].items[0]]
            table = self.cached(("pauli", k, dtype, device), lambda: pauli_table(op.pauli, dtype, device))
            if table is None:
                return None
            slot = self.op_slots[self.steps[k].items[0]][0]
            out[k] = pauli_step(op.qubits, op.controls, (theta if slot in self.slots_reading_inputs else shared)[:, slot], table)
            parts.append(data_of(out[k]))
            owners.append([k])
        return out, self._in_step_order(parts, owners, out, dtype, device)

    def _in_step_order(self, parts: list[Tensor], owners: list[list[int]], steps: dict[int, Step],
                       dtype: torch.dtype, device) -> Tensor | None:
        """``parts`` joined (:func:`~hybridq.sim.layers.joined`), their columns put in step order by
        one gather (made once; none where they are in that order already)."""
        if not parts:
            return None
        data = joined(parts, dtype)

        def gather() -> Tensor | None:
            held = [k for ks in owners for k in ks]
            width = {k: data_of(steps[k]).shape[1:].numel() for k in held}
            start = dict(zip(held, np.cumsum([0] + [width[k] for k in held[:-1]]).tolist()))
            order = [start[k] + j for k in sorted(held) for j in range(width[k])]
            return None if order == list(range(len(order))) else torch.tensor(order, device=device)

        order = self.cached(("step order", torch.device(device)), gather)
        return data if order is None else data.index_select(1, order)

    def _pair_steps(self, weights: Tensor, rdt: torch.dtype, const: dict, dtype: torch.dtype,
                    device) -> dict[int, PairRotation]:
        """The step of every ``"pair_rotation"`` fusion step by index, all the angles computed at
        once from ``weights`` (one autograd node for all)."""
        if not self._pair_rows:
            return {}
        w = torch.cat([torch.ones(1, dtype=rdt, device=device), weights.to(device=device, dtype=rdt)])
        values = const["pair_coef"].to(rdt) * w.index_select(0, const["pair_column"])
        angles = torch.zeros(self._n_pairs, dtype=rdt, device=device).index_add(0, const["pair_row"], values)
        return {k: PairRotation(const["pair_x", k], const["pair_y", k], const["pair_phase", k].to(dtype),
                                angles[None, start:end]) for k, (start, end) in self._pair_rows.items()}

    def _fixed_op(self, i: int, dtype: torch.dtype, device) -> Op:
        """The gate-level op of operation ``i``, which has no angles."""
        op = self.operations[i]
        common = dict(n_qubits=self.n_qubits, controls=op.controls, dtype=dtype, device=device)
        if op.name in ("Unitary", "Diagonal"):
            return simops.matrix_op(self._on(device)[("user", i)], op.qubits, diagonal=op.name == "Diagonal",
                                    check_unitary=False, **common)
        return simops.gate_op(op.name, op.qubits, (), **common)

    def one_qubit_matrices(self, theta: Tensor, dtype: torch.dtype, device) -> Tensor:
        """``(B', slots, 2, 2)``: the matrices of the one-qubit chain slots from the angles ``theta``
        ``(B', n_slots)``, one builder call per gate name, in ``one_qubit_columns`` order, then
        the identity.

        >>> from hybridq.circuits import Weight
        >>> plan = CompiledCircuit.of(Circuit(1).rx(Weight("a"), 0).h(0))
        >>> theta = plan.angles(None, torch.tensor([torch.pi]), torch.float64, "cpu")
        >>> plan.one_qubit_columns, plan.one_qubit_matrices(theta, torch.complex128, "cpu")[0, 0].imag.round().tolist()
        ((0, 1), [[0.0, -1.0], [-1.0, 0.0]])
        """
        const, rows, parts = self._on(device), theta.shape[0], []
        for name in self.chain_slots_by_gate:
            spec = GATES[name]
            index = const[("slots", name)]
            if spec.n_params == 0:
                data = self._fixed(name, dtype, device).expand(1, len(index), 2, 2)
            else:
                params = [theta.index_select(1, index + j) for j in range(spec.n_params)]  # a gate's slots are consecutive
                data = spec.build(params, dtype, device)
                if spec.kind == "diagonal":
                    data = torch.diag_embed(data)
            parts.append(data.to(dtype))
        parts.append(self._fixed("I", dtype, device).expand(1, 1, 2, 2))
        return torch.cat([p if p.shape[0] == rows else p.expand(rows, -1, 2, 2) for p in parts], dim=1)

    def _fixed_chains(self, recipe: ChainRecipe | None, matrices: Tensor | None, dtype: torch.dtype, device) -> Tensor:
        """The one-qubit chain products of a circuit without weights or inputs to read (a layer of
        H): ``matrices``, or the products of ``recipe``, made on the first call and then kept."""
        def products() -> Tensor:
            if matrices is not None:
                return matrices
            with torch.no_grad():
                made = native_chains.chain_products(recipe.weights, recipe.inputs, recipe.plan, dtype)
            return made.unflatten(1, (len(self._layer_specs), self.n_qubits))

        return self.cached(("chains", dtype, device), products)

    def _chain_products(self, theta: Tensor, const: dict, dtype: torch.dtype, device) -> Tensor | None:
        """``(B', chains, 2, 2)``: the product of every one-qubit chain, all at once (one gather of
        the chains' factors from :meth:`one_qubit_matrices`)."""
        if not self.chain_slots_by_gate:
            return None
        chains = const["chains"]
        mats = self.one_qubit_matrices(theta, dtype, device)
        factors = mats.index_select(1, const["chain_factors"]).unflatten(1, chains.shape)  # (B', chains, length, 2, 2)
        product = factors[:, :, 0]
        for j in range(1, factors.shape[2]):
            product = kernels.matmul_2x2(factors[:, :, j], product)
        return product

    def _permutation_step(self, k: int, dtype: torch.dtype, device) -> Permutation:
        """Step ``k``'s composed permutation, made once per dtype and device (it has no angles)."""
        def composed() -> Permutation:
            run = [simops.gate_op(op.name, op.qubits, (), n_qubits=self.n_qubits, controls=op.controls,
                                  dtype=dtype, device=device) for op in map(self.operations.__getitem__, self.steps[k].items)]
            return Permutation(*permutation_op(run, self.n_qubits, device).index)

        return self.cached(("permutation", k, dtype, torch.device(device)), composed)

    def _chain_plan(self, rdt: torch.dtype) -> native_chains.ChainPlan:
        """The tables of :func:`hybridq.sim.chains.chain_products` in the real dtype ``rdt``."""
        def tables() -> native_chains.ChainPlan:
            host = self.host_tables
            forms = torch.zeros(self.n_slots, 25, dtype=torch.float64)
            zero = torch.zeros(2, 2, dtype=torch.complex128)
            for name, slots in self.chain_slots_by_gate.items():
                form = native_chains.trig_form(name) or (0.0, self._fixed(name, torch.complex128, "cpu"), zero, zero)
                forms[slots] = native_chains.ChainPlan.form_row(*form)
            index = host["chains"].to(torch.int32)
            index[index == self.n_slots] = -1
            return native_chains.ChainPlan(
                host["mono_slot"].to(torch.int32), host["mono_coef"].to(rdt), (host["mono_weight"] - 1).to(torch.int32),
                (host["mono_input"] - 1).to(torch.int32), forms.to(rdt), index.contiguous(), self._reads_inputs)

        return self.cached(("chain plan", rdt), tables)
