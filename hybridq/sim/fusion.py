"""Gate fusion: rewrite a program into fewer, larger passes over the state.

Three rewrites, each exact:

1. consecutive one-qubit gates on the same qubit multiply into one ``2 x 2`` matrix (per
   sample when any factor is per sample);
2. the pending one-qubit matrices of all qubits are applied together as one ``"kron"`` op
   (a few block matmuls, :func:`hybridq.sim.kernels.apply_kron`) just before an op that needs
   them; gates on disjoint qubits commute, so deferring them is exact;
3. runs of permutation gates (X, CNOT, Toffoli, SWAP, Fredkin, any controls) compose into one
   basis-state gather: a CNOT ring is one pass, not ``n``.

>>> import torch
>>> from hybridq.sim import gate_op
>>> ops = [gate_op("RY", [q], [0.1], n_qubits=3) for q in range(3)]
>>> ops += [gate_op("CNOT", [q, (q + 1) % 3], n_qubits=3) for q in range(3)]
>>> [op.kind for op in fuse(ops, 3)]
['kron', 'permutation']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

import torch

from ..qubit_order import bit_position, qubit_mask
from .kernels import matmul_2x2
from .program import Op

Tensor = torch.Tensor


def one_qubit_matrix(op: Op, dtype: torch.dtype, device) -> Tensor | None:
    """The op as a ``(..., 2, 2)`` matrix if it is an uncontrolled one-qubit gate, else None.

    >>> from hybridq.sim import gate_op
    >>> one_qubit_matrix(gate_op("X", [0], n_qubits=1), torch.complex64, None).real.tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    >>> print(one_qubit_matrix(gate_op("CNOT", [0, 1], n_qubits=2), torch.complex64, None))
    None
    """
    if op.controls or len(op.qubits) != 1:
        return None
    if op.kind == "dense":
        return op.data
    if op.kind == "diagonal":
        return torch.diag_embed(op.data)
    if op.kind == "flip":
        return torch.tensor([[0, 1], [1, 0]], dtype=dtype, device=device)
    return None


def _kron_op(pending: dict[int, tuple[Tensor, bool]]) -> Op:
    qubits = sorted(pending)
    if len(qubits) == 1:
        m, real = pending[qubits[0]]
        return Op("dense", (qubits[0],), data=m, real=real)
    mats = [pending[q][0] for q in qubits]
    batch = max((m.shape[0] for m in mats if m.dim() == 3), default=None)
    if batch is not None:
        mats = [m.expand(batch, 2, 2) if m.dim() == 2 else m for m in mats]
    data = torch.stack(mats, dim=-3)
    return Op("kron", tuple(qubits), data=data, real=all(pending[q][1] for q in qubits))


def _source_index(op: Op, j: Tensor, n: int) -> Tensor:
    """Where a flip or swap op reads each output index from: ``sigma(j)`` by bit arithmetic."""
    active = torch.ones_like(j, dtype=torch.bool)
    values = op.control_values or (1,) * len(op.controls)
    for c, v in zip(op.controls, values):
        active &= ((j & qubit_mask([c], n)) != 0) == bool(v)
    if op.kind == "flip":
        change = qubit_mask(op.qubits, n)
    else:
        a, b = op.qubits
        differ = ((j >> bit_position(a, n)) ^ (j >> bit_position(b, n))) & 1
        change = differ * qubit_mask(op.qubits, n)
    return j ^ (active * change)


def _is_affine(op: Op) -> bool:
    """X and CNOT (one control) and uncontrolled SWAP act on bits as affine maps over GF(2)."""
    return (op.kind == "flip" and len(op.controls) <= 1) or (op.kind == "swap" and not op.controls)


@torch.compiler.disable
def permutation_op(run: list[Op], n: int, device) -> Op:
    """Compose a run of flips and swaps into one gather: out[i] = in[sigma_1(...sigma_k(i))].

    The index and its inverse (int32: 8 bytes per amplitude, the size of one complex64 state)
    are cached per run and device: layered circuits repeat the same run.
    """
    signature = tuple((op.kind, op.qubits, op.controls, op.control_values) for op in run)
    index = _composed_index(signature, n, str(device or "cpu"))
    return Op("permutation", tuple(range(n)), index=index, real=True)


@functools.lru_cache(maxsize=4)
def _composed_index(signature: tuple, n: int, device: str) -> tuple[Tensor, Tensor]:
    """Gather index and its inverse for a run of flips and swaps (cached: layers repeat)."""
    run = [Op(kind, qubits, controls, values) for kind, qubits, controls, values in signature]

    def compose(j: Tensor) -> Tensor:
        for op in reversed(run):
            j = _source_index(op, j, n)
        return j

    if all(_is_affine(op) for op in run):
        low = n // 2  # affine: sigma(hi ^ lo) = sigma(hi) ^ sigma(lo) ^ sigma(0)
        hi = compose(torch.arange(2 ** (n - low), device=device) << low)
        lo = compose(torch.arange(2**low, device=device)) ^ compose(torch.zeros(1, dtype=torch.long, device=device))
        index = (hi[:, None] ^ lo[None, :]).reshape(-1)
    else:
        index = compose(torch.arange(2**n, device=device))
    inverse = torch.empty_like(index)
    inverse[index] = torch.arange(2**n, device=device)
    small = torch.int32 if n < 31 else torch.int64
    return index.to(small), inverse.to(small)


@dataclass(frozen=True)
class Step:
    """One op of a fused program, by position in the input sequence.

    ``kind`` is ``"kron"`` (``chains``: each qubit's one-qubit items in time order),
    ``"permutation"`` (``items``: a run of flips and swaps), ``"single"`` (``items``: one item) or,
    made by :class:`~hybridq.circuits.compiled.CompiledCircuit`, ``"pair_rotation"`` (``items``: a
    run of Pauli rotations applied as one :class:`~hybridq.sim.layers.PairRotation`).
    """

    kind: Literal["kron", "permutation", "single", "pair_rotation"]
    chains: tuple[tuple[int, tuple[int, ...]], ...] = ()
    items: tuple[int, ...] = ()


def plan(items: Sequence, classify: Callable[[object], tuple[str, int | None]],
         wires: Callable[[object], set[int]]) -> list[Step]:
    """The fusion plan shared by :func:`fuse` and :mod:`hybridq.circuits.compiled`.

    ``classify(item)`` returns ``("one_qubit", qubit)``, ``("permutation", None)`` or
    ``("other", None)``; ``wires(item)`` the qubits it touches. One-qubit items are deferred
    per qubit (gates on disjoint qubits commute) and emitted as one ``"kron"`` step before the
    first item that needs them; runs of permutation items become one ``"permutation"`` step.
    """
    steps: list[Step] = []
    pending: dict[int, list[int]] = {}
    run: list[int] = []
    run_wires: set[int] = set()

    def flush_pending():
        if pending:
            steps.append(Step("kron", chains=tuple((q, tuple(c)) for q, c in sorted(pending.items()))))
            pending.clear()

    def flush_run():
        if run:
            steps.append(Step("permutation" if len(run) > 1 else "single", items=tuple(run)))
            run.clear()
            run_wires.clear()

    for index, item in enumerate(items):
        kind, qubit = classify(item)
        touched = wires(item)
        if kind == "one_qubit":
            if touched & run_wires:
                flush_run()
            pending.setdefault(qubit, []).append(index)
        elif kind == "permutation":
            if touched & set(pending):
                flush_pending()  # commutes with the run so far: disjoint qubits
            run.append(index)
            run_wires |= touched
        else:
            flush_run()
            if touched & set(pending):
                flush_pending()  # else it commutes with the pending gates: disjoint qubits
            steps.append(Step("single", items=(index,)))
    flush_run()
    flush_pending()
    return steps


def fuse(ops: Sequence[Op], n_qubits: int, *, dtype: torch.dtype = torch.complex64, device=None) -> list[Op]:
    """Return an equivalent, shorter program (see the module docstring).

    Args:
        ops: the program.
        n_qubits: number of qubits of the state it runs on.
        dtype: the state's dtype (for constant matrices).
        device: the state's device (for constant matrices and permutation indices).
    """
    matrices = [one_qubit_matrix(op, dtype, device) for op in ops]

    def classify(i: int) -> tuple[str, int | None]:
        op = ops[i]
        if matrices[i] is not None:
            return "one_qubit", op.qubits[0]
        if op.kind in ("flip", "swap") and op.data is None:
            return "permutation", None
        return "other", None

    out: list[Op] = []
    for step in plan(range(len(ops)), classify, lambda i: set(ops[i].qubits) | set(ops[i].controls)):
        if step.kind == "kron":
            pending = {}
            for q, chain in step.chains:
                product = matrices[chain[0]]
                for i in chain[1:]:
                    product = matmul_2x2(matrices[i], product)
                pending[q] = (product, all(ops[i].real or ops[i].kind == "flip" for i in chain))
            out.append(_kron_op(pending))
        elif step.kind == "permutation":
            out.append(permutation_op([ops[i] for i in step.items], n_qubits, device))
        else:
            out.extend(ops[i] for i in step.items)
    return out
