"""Vectorised compilation: a circuit becomes a few batched tensor ops, not one per gate.

Building each gate's matrix separately costs a dozen tiny kernels per gate; for hybrid
circuits (hundreds of gates on a few qubits) that dispatch, not the arithmetic, dominates,
most of all on a GPU. :class:`CompiledCircuit` analyses the circuit once and then, per call:

1. evaluates every angle at once: each angle is a sum of monomials ``c * weight * input``
   (affine forms such as ``w * x + b``), gathered and summed with one ``index_add``;
2. builds the matrices of all gates of one kind in one call of the kind's builder;
3. multiplies the chains of one-qubit gates of every qubit of every layer together (one
   batched 2x2 product per chain position, for all layers at once) and emits one Kronecker op
   per layer, plus composed permutations, exactly as :func:`hybridq.sim.fusion.fuse` would;
4. applies each run of commuting Pauli rotations that flip the same qubits (a fermionic
   excitation's terms) as one rotation of the basis-state pairs it moves (:mod:`hybridq.sim.pairs`),
   all the runs' angles from the weights at once;
5. builds the remaining gates (controlled rotations, custom matrices) one by one.

The plan is cached on the circuit and rebuilt when its operations change. Circuits whose
angles are not affine in that sense (e.g. products of two weights) use the gate-by-gate path.

>>> import torch
>>> from hybridq.circuits import Circuit, Input, Weight
>>> c = Circuit(2).ry(Weight("w") * Input(0), 0).rz(Weight("t"), 0).cx(0, 1)
>>> plan = CompiledCircuit.of(c)
>>> [op.kind for op in plan.ops(torch.ones(3, 1), torch.tensor([1.0, 0.5]), batch=3,
...                             dtype=torch.complex64, device="cpu")]
['dense', 'flip']
"""

from __future__ import annotations

import numpy as np
import torch

from ..sim import chains as native_chains
from ..sim import fused
from ..sim import kernels
from ..sim import ops as simops
from ..sim import pairs
from ..sim.fusion import Step, _one_qubit_matrix, _permutation_op, plan
from ..sim.gates import GATES
from ..sim.program import Op
from .circuit import Circuit, Operation
from .expr import Const, Input, Product, Sum, Weight, as_expr

Tensor = torch.Tensor
Monomial = tuple[float, str | None, int | None]  # coefficient, weight name, input column


def _monomials(expr) -> list[Monomial] | None:
    """``expr`` as a sum of ``c * weight * input`` terms, or None if it is not of that form."""
    expr = as_expr(expr)
    if isinstance(expr, Const):
        return [(expr.value, None, None)]
    if isinstance(expr, Weight):
        return [(1.0, expr.name, None)]
    if isinstance(expr, Input):
        return [(1.0, None, expr.index)]
    if isinstance(expr, Sum):
        out: list[Monomial] = []
        for term in expr.terms:
            part = _monomials(term)
            if part is None:
                return None
            out += part
        return out
    if isinstance(expr, Product):
        out = [(1.0, None, None)]
        for factor in expr.factors:
            part = _monomials(factor)
            if part is None:
                return None
            merged = []
            for c1, w1, i1 in out:
                for c2, w2, i2 in part:
                    if (w1 and w2) or (i1 is not None and i2 is not None):
                        return None
                    merged.append((c1 * c2, w1 or w2, i1 if i1 is not None else i2))
            out = merged
        return out
    return None


def _classify(op: Operation) -> tuple[str, int | None]:
    spec = GATES.get(op.name)
    if spec is not None and spec.n_qubits == 1 and not op.controls:
        return "one_qubit", op.qubits[0]
    if spec is not None and spec.kind in ("flip", "swap"):
        return "permutation", None
    return "other", None


def _fixed_matrix(name: str, dtype: torch.dtype, device) -> Tensor:
    """The ``2 x 2`` matrix of a one-qubit gate without parameters."""
    return _one_qubit_matrix(simops.gate_op(name, (0,), n_qubits=1, dtype=dtype, device=device), dtype, device)


def _full_label(op: Operation, n: int) -> str:
    """The Pauli string of a ``PauliRot`` on all ``n`` qubits."""
    label = ["I"] * n
    for q, p in zip(op.qubits, op.pauli):
        label[q] = p
    return "".join(label)


def _pair_runs(steps: list[Step], operations: tuple[Operation, ...], rotation_terms: dict, n: int) -> list[Step]:
    """``steps`` with each run of single Pauli-rotation steps that :func:`~hybridq.sim.pairs.commuting_same_flip`
    accepts (angles free of inputs) merged into one ``"pair_rotation"`` step."""
    out: list[Step] = []
    for step in steps:
        i = step.items[0] if step.kind == "single" else None
        if i is None or i not in rotation_terms:
            out.append(step)
            continue
        labels = [_full_label(operations[i], n)]
        if out and out[-1].kind == "pair_rotation":
            merged = [_full_label(operations[j], n) for j in out[-1].items] + labels
            if pairs.commuting_same_flip(merged):
                out[-1] = Step("pair_rotation", items=out[-1].items + (i,))
                continue
        out.append(Step("pair_rotation", items=(i,)) if pairs.commuting_same_flip(labels) else step)
    return out


class CompiledCircuit:
    """The cached, vectorised program of a :class:`Circuit` (see the module docstring)."""

    def __init__(self, circuit: Circuit):
        self.n_qubits = circuit.n_qubits
        self.edit = circuit.ops.edit
        self.operations = tuple(circuit.ops)
        monomials: list[tuple[int, float, str | None, int | None]] = []
        rotation_terms: dict[int, list[Monomial]] = {}  # Pauli rotations' angles, for pair runs
        self.slot_ops: list[Operation] = []  # one slot per parametric angle, plus fixed one-qubit gates
        self.op_slots: list[tuple[int, ...]] = []  # each operation's slots (consecutive)
        self.ok = True
        for op in circuit.ops:
            terms = [_monomials(p) for p in op.params]
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
                                rotation_terms, self.n_qubits)
        self._pair_plans = {k: pairs.PairPlan.build(
            [_full_label(self.operations[i], self.n_qubits) for i in step.items],
            [[(c, None if w is None else names.index(w)) for c, w, _ in rotation_terms[i]] for i in step.items],
            n_qubits=self.n_qubits) for k, step in enumerate(self.steps) if step.kind == "pair_rotation"}
        self.n_slots = len(self.slot_ops)
        self._reads_inputs = any(m[3] is not None for m in monomials)
        # index tensors, built once on the host and moved once per device (see _on)
        self._host: dict[object, Tensor] = {
            "mono_slot": torch.tensor([m[0] for m in monomials], dtype=torch.long),
            "mono_coef": torch.tensor([m[1] for m in monomials], dtype=torch.float64),
            # 1 + position in the weights / input columns; 0 picks the constant 1 put in front
            "mono_weight": torch.tensor([1 + names.index(m[2]) if m[2] is not None else 0 for m in monomials],
                                        dtype=torch.long),
            "mono_input": torch.tensor([1 + m[3] if m[3] is not None else 0 for m in monomials], dtype=torch.long),
        }
        # one-qubit slots grouped by gate name, for one builder call per name; every chain of
        # every Kronecker step as one row of slots (padded with the identity, the last slot):
        # all chain products in one batched product per chain position
        self._by_name: dict[str, list[int]] = {}
        self._kron_rows: dict[int, tuple[int, int]] = {}
        chains = [chain for step in self.steps if step.kind == "kron" for _, chain in step.chains]
        index = torch.full((len(chains), max(map(len, chains), default=0)), self.n_slots, dtype=torch.long)
        for row, chain in enumerate(chains):
            index[row, : len(chain)] = torch.tensor([self.op_slots[i][0] for i in chain])
            for i in chain:
                slot = self.op_slots[i][0]
                self._by_name.setdefault(self.slot_ops[slot].name, []).append(slot)
        self._host["chains"] = index
        self._pair_rows: dict[int, tuple[int, int]] = {}
        start, entries = 0, []
        for k, p in self._pair_plans.items():
            self._pair_rows[k] = (start, start + len(p.x_index))
            entries.append((p.rows + start, p.columns + 1, p.coeffs))
            self._host[("pairs", k)] = (torch.from_numpy(p.x_index), torch.from_numpy(p.y_index))
            self._host[("phase", k)] = torch.from_numpy(p.phase)
            start += len(p.x_index)
        if entries:  # every pair's angle: sum of coeff * (1, weights...)[column]
            self._host["pair_row"], self._host["pair_column"], self._host["pair_coef"] = (
                torch.from_numpy(np.concatenate(part)) for part in zip(*entries))
        self._n_pairs = start
        row = 0
        for k, step in enumerate(self.steps):
            if step.kind == "kron":
                self._kron_rows[k] = (row, row + len(step.chains))
                row += len(step.chains)
        for name, slots in self._by_name.items():
            self._host[("slots", name)] = torch.tensor(slots, dtype=torch.long)
        self._device_cache: dict[torch.device, dict[object, Tensor]] = {}
        self._fixed_cache: dict[tuple, Tensor | Op | list] = {}  # fixed matrices, permutations, layer lists
        self._chain_plans: dict[torch.dtype, native_chains.ChainPlan] = {}
        self._native_ok = all(step.kind in ("kron", "permutation") for step in self.steps) and all(
            GATES[name].n_params == 0 or native_chains.trig_form(name) is not None for name in self._by_name)
        self._layers = self._layer_permutations() if self._native_ok and self._by_name else None

    def _layer_permutations(self) -> list[int | None] | None:
        """For a program of layers (a Kronecker step on every qubit, then at most one permutation
        step), each layer's permutation step (None: none); else None."""
        layers: list[int | None] = []
        for k, step in enumerate(self.steps):
            if step.kind == "kron" and len(step.chains) == self.n_qubits:
                layers.append(None)
            elif step.kind == "permutation" and layers and layers[-1] is None and self.steps[k - 1].kind == "kron":
                layers[-1] = k
            else:
                return None
        return layers or None

    def _on(self, device) -> dict[object, Tensor]:
        """The plan's index tensors and user matrices on ``device``, moved once.

        With :meth:`_fixed` this is why a call makes no host-to-device copies and no host
        synchronisation: a step that simulates the plan can be captured as a CUDA graph.
        """
        device = torch.device(device)
        cached = self._device_cache.get(device)
        if cached is None:
            cached = {k: v.to(device) if isinstance(v, Tensor) else tuple(t.to(device) for t in v)
                      for k, v in self._host.items()}
            for i, op in enumerate(self.operations):
                if op.name in ("Unitary", "Diagonal"):
                    cached[("user", i)] = torch.as_tensor(op.matrix, device=device)
            self._device_cache[device] = cached
        return cached

    def _fixed(self, name: str, dtype: torch.dtype, device) -> Tensor:
        """The matrix of a gate without parameters, made once per dtype and device."""
        key = (name, dtype, torch.device(device))
        if key not in self._fixed_cache:
            self._fixed_cache[key] = _fixed_matrix(name, dtype, device)
        return self._fixed_cache[key]

    @classmethod
    def of(cls, circuit: Circuit) -> CompiledCircuit:
        """The compiled program of ``circuit``, cached on it while its operations are unchanged."""
        cached = getattr(circuit, "_compiled", None)
        if cached is None or cached.edit != circuit.ops.edit:
            cached = cls(circuit)
            circuit._compiled = cached
        return cached

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

    def ops(self, inputs: Tensor | None, weights: Tensor, *, batch: int, dtype: torch.dtype, device) -> list[Op]:
        """The fused simulator program for these inputs and the flat weight vector."""
        rdt = simops.real_dtype(dtype)
        const = self._on(device)
        if self._native_ok and self._by_name and native_chains.available(torch.device(device)):
            products, theta = native_chains.chain_products(weights, inputs, self._chain_plan(rdt), dtype), None
        else:
            theta = self.angles(inputs, weights, rdt, device)
            products = self._chain_products(theta, const, dtype, device)
        pair_angles = iter(self._pair_angles(weights, rdt, const, device))
        out: list[Op] = []
        for k, step in enumerate(self.steps):
            if step.kind == "kron":
                out.append(self._kron(step, products[:, slice(*self._kron_rows[k])]))
            elif step.kind == "pair_rotation":
                out.append(Op("pair_rotation", (), data=next(pair_angles),
                              index=const[("pairs", k)], phase=const[("phase", k)].to(dtype)))
            elif step.kind == "permutation":
                out.append(self._permutation(k, step, dtype, device))
            else:
                out.append(self._single(step, theta, const, batch, dtype, device))
        return out

    def _pair_angles(self, weights: Tensor, rdt: torch.dtype, const: dict, device) -> tuple[Tensor, ...]:
        """Every pair rotation's angles at once, split by run (one autograd node for all)."""
        if not self._n_pairs:
            return ()
        w = torch.cat([torch.ones(1, dtype=rdt, device=device), weights.to(device=device, dtype=rdt)])
        values = const["pair_coef"].to(rdt) * w.index_select(0, const["pair_column"])
        angles = torch.zeros(self._n_pairs, dtype=rdt, device=device).index_add(0, const["pair_row"], values)
        return angles.split([end - start for start, end in self._pair_rows.values()])

    def run_layered(self, inputs: Tensor | None, weights: Tensor, *, batch: int, dtype: torch.dtype) -> Tensor | None:
        """The states from ``|0...0>`` by :func:`hybridq.sim.fused.run_layered` (chain products and
        the fused CPU kernels in one autograd node), or None where it does not apply: a circuit of
        layers whose angles read the inputs, a CPU with the native kernels, a batch they take."""
        if (self._layers is None or not dtype.is_complex or inputs is None or inputs.shape[0] != batch
                or not native_chains.available(inputs.device)):
            return None
        key = ("layers", dtype, inputs.device)
        if key not in self._fixed_cache:
            self._fixed_cache[key] = [None if k is None else self._permutation(k, self.steps[k], dtype, inputs.device).index
                                      for k in self._layers]
        return fused.run_layered(weights, inputs, self._chain_plan(simops.real_dtype(dtype)), self._fixed_cache[key], dtype)

    def _one_qubit_matrices(self, theta: Tensor, const: dict, dtype: torch.dtype, device) -> Tensor | None:
        """``(B', slots + 1, 2, 2)``: each one-qubit slot's matrix, and the identity last."""
        if not self._by_name:
            return None
        mats = torch.zeros(theta.shape[0], self.n_slots + 1, 2, 2, dtype=dtype, device=device)
        mats[:, -1] = torch.eye(2, dtype=dtype, device=device)
        for name, slots in self._by_name.items():
            spec = GATES[name]
            index = const[("slots", name)]
            if spec.n_params == 0:
                data = self._fixed(name, dtype, device)
            else:
                params = [theta.index_select(1, index + j) for j in range(spec.n_params)]  # a gate's slots are consecutive
                data = spec.build(params, dtype, device)
                if spec.kind == "diagonal":
                    data = torch.diag_embed(data)
            mats = mats.index_copy(1, index, data.expand(theta.shape[0], len(slots), 2, 2).to(dtype))
        return mats

    def _chain_products(self, theta: Tensor, const: dict, dtype: torch.dtype, device) -> Tensor | None:
        """``(B', chains, 2, 2)``: the product of every one-qubit chain, all at once."""
        mats = self._one_qubit_matrices(theta, const, dtype, device)
        if mats is None:
            return None
        chains = const["chains"]
        factors = mats.index_select(1, chains.flatten()).unflatten(1, chains.shape)  # (B', chains, length, 2, 2)
        product = factors[:, :, 0]
        for j in range(1, factors.shape[2]):
            product = kernels.matmul_2x2(factors[:, :, j], product)
        return product

    def _permutation(self, k: int, step: Step, dtype: torch.dtype, device) -> Op:
        """Step ``k``'s composed permutation, made once per dtype and device (it has no angles)."""
        key = ("permutation", k, dtype, torch.device(device))
        if key not in self._fixed_cache:
            run = [simops.gate_op(op.name, op.qubits, (), n_qubits=self.n_qubits, controls=op.controls,
                                  dtype=dtype, device=device) for op in map(self.operations.__getitem__, step.items)]
            self._fixed_cache[key] = _permutation_op(run, self.n_qubits, device)
        return self._fixed_cache[key]

    def _chain_plan(self, rdt: torch.dtype) -> native_chains.ChainPlan:
        """The tables of :func:`hybridq.sim.chains.chain_products` in the real dtype ``rdt``."""
        if rdt not in self._chain_plans:
            host = self._host
            forms = torch.zeros(self.n_slots, 25, dtype=torch.float64)
            zero = torch.zeros(2, 2, dtype=torch.complex128)
            for name, slots in self._by_name.items():
                form = native_chains.trig_form(name) or (0.0, self._fixed(name, torch.complex128, "cpu"), zero, zero)
                forms[slots] = native_chains.ChainPlan.form_row(*form)
            index = host["chains"].to(torch.int32)
            index[index == self.n_slots] = -1
            self._chain_plans[rdt] = native_chains.ChainPlan(
                host["mono_slot"].to(torch.int32), host["mono_coef"].to(rdt), (host["mono_weight"] - 1).to(torch.int32),
                (host["mono_input"] - 1).to(torch.int32), forms.to(rdt), index.contiguous(), self._reads_inputs)
        return self._chain_plans[rdt]

    def _kron(self, step: Step, product: Tensor) -> Op:
        qubits = [q for q, _ in step.chains]
        real = all(GATES[self.operations[i].name].real for _, chain in step.chains for i in chain)
        if product.shape[0] == 1:
            product = product[0]
        if len(qubits) == 1:
            return Op("dense", (qubits[0],), data=product[..., 0, :, :], real=real)
        return Op("kron", tuple(qubits), data=product, real=real)  # chains come in ascending qubit order

    def _single(self, step: Step, theta: Tensor, const: dict, batch: int, dtype: torch.dtype, device) -> Op:
        (i,) = step.items
        op = self.operations[i]
        params = [theta[:, s] if theta.shape[0] > 1 else theta[0, s] for s in self.op_slots[i]]
        common = dict(n_qubits=self.n_qubits, batch=batch, controls=op.controls, dtype=dtype, device=device)
        if op.name in ("Unitary", "Diagonal"):
            return simops.matrix_op(const[("user", i)], op.qubits, diagonal=op.name == "Diagonal", check_unitary=False, **common)
        if op.name == "PauliRot":
            return simops.pauli_rotation_op(params[0], op.pauli, op.qubits, **common)
        return simops.gate_op(op.name, op.qubits, params, **common)
