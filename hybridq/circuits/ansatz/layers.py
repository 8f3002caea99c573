"""Trainable layer stacks: hardware-efficient and strongly entangling layers.

Weights are named ``f"{prefix}[layer,qubit,k]"``, so a circuit's ``weight_names`` (and the
flat weight vector of a :class:`~hybridq.nn.QuantumLayer`) list them layer by layer.

>>> c = hardware_efficient(3, layers=2)
>>> len(c.weight_names), c.count_ops()
(12, {'RY': 6, 'RZ': 6, 'CX': 4})
>>> strongly_entangling(4, layers=1).count_ops()
{'RZ': 8, 'RY': 4, 'CX': 4}
"""

from __future__ import annotations

from typing import Literal, Sequence

from ...errors import ShapeError
from ..circuit import Circuit
from ..expr import Weight

Entangler = Literal["CNOT", "CZ"]
Topology = Literal["linear", "ring"]


def _pairs(n_qubits: int, topology: Topology, offset: int = 1) -> list[tuple[int, int]]:
    if topology not in ("linear", "ring"):
        raise ShapeError(f"topology must be 'linear' or 'ring', got {topology!r}")
    if n_qubits < 2:
        return []
    if topology == "linear":
        return [(q, q + offset) for q in range(n_qubits - offset)]
    if n_qubits == 2:
        return [(0, 1)]
    return [(q, (q + offset) % n_qubits) for q in range(n_qubits)]


def _entangle(c: Circuit, pairs: Sequence[tuple[int, int]], entangler: Entangler) -> None:
    if entangler not in ("CNOT", "CZ"):
        raise ShapeError(f"entangler must be 'CNOT' or 'CZ', got {entangler!r}")
    for a, b in pairs:
        c.cx(a, b) if entangler == "CNOT" else c.cz(a, b)


def hardware_efficient(
    n_qubits: int,
    layers: int,
    *,
    rotations: Sequence[str] = ("RY", "RZ"),
    entangler: Entangler = "CNOT",
    topology: Topology = "linear",
    final_rotations: bool = False,
    prefix: str = "theta",
) -> Circuit:
    """``layers`` blocks of single-qubit rotations on every qubit followed by an entangler chain.

    Args:
        n_qubits: number of qubits.
        layers: number of blocks.
        rotations: rotation gates applied to each qubit in each block, in order.
            ``("RY",)`` with CNOT or CZ gives a real-valued circuit (as in QVF).
        entangler: ``"CNOT"`` or ``"CZ"`` on neighbouring pairs.
        topology: ``"linear"`` (``(0,1), (1,2), ...``) or ``"ring"`` (adds ``(n-1, 0)``).
        final_rotations: add one more rotation block at the end.
        prefix: weight-name prefix.
    """
    c = Circuit(n_qubits)
    pairs = _pairs(n_qubits, topology)
    for layer in range(layers + int(final_rotations)):
        for q in range(n_qubits):
            for k, gate in enumerate(rotations):
                c.add(gate, [q], Weight(f"{prefix}[{layer},{q},{k}]"))
        if layer < layers:
            _entangle(c, pairs, entangler)
    return c


def strongly_entangling(
    n_qubits: int,
    layers: int,
    *,
    ranges: Sequence[int] | None = None,
    entangler: Entangler = "CNOT",
    prefix: str = "theta",
) -> Circuit:
    """Strongly entangling layers (Schuld et al. 2020), as PennyLane's ``StronglyEntanglingLayers``.

    Each layer applies ``Rot(a, b, c) = RZ(c) RY(b) RZ(a)`` to every qubit (weights
    ``[l,q,0..2]``), then CNOT (or CZ) from qubit ``q`` to ``(q + r) % n`` for each ``q``, with
    range ``r = ranges[l]``, by default ``l % (n - 1) + 1``.
    """
    if ranges is not None and len(ranges) != layers:
        raise ShapeError(f"need one range per layer ({layers}), got {len(ranges)}")
    c = Circuit(n_qubits)
    for layer in range(layers):
        for q in range(n_qubits):
            w = [Weight(f"{prefix}[{layer},{q},{k}]") for k in range(3)]
            c.rz(w[0], q).ry(w[1], q).rz(w[2], q)
        if n_qubits > 1:
            r = ranges[layer] if ranges is not None else layer % (n_qubits - 1) + 1
            _entangle(c, [(q, (q + r) % n_qubits) for q in range(n_qubits)], entangler)
    return c
