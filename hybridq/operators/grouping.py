"""Grouping of Pauli terms: qubit-wise-commuting measurement groups and X-mask (flip) groups.

Qubit-wise commuting (QWC) terms can be measured together in one product basis. Both
strategies are greedy first-fit colourings of the non-QWC graph that differ in the order the
terms are inserted: by conflict degree, largest first (as in the LBCS/decision-diagram
benchmark files), or by ``|coeff|``, largest first ("sorted insertion", Crawford et al. 2021).
A term fits a group when it is QWC with the group's merged basis, which is the same as being
QWC with every member.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from hybridq.operators import _symplectic as sym
from hybridq.qubit_order import qubit_mask

if TYPE_CHECKING:
    from hybridq.operators.pauli_sum import PauliSum

_ROW_CHUNK = 512


@dataclass(frozen=True)
class MeasurementGroup:
    """Terms measured together.

    Attributes:
        indices: term indices into the PauliSum, ascending.
        basis: one letter X/Y/Z per qubit (qubit 0 first) to measure in; Z on qubits that no
            member acts on.
    """

    indices: tuple[int, ...]
    basis: str


@dataclass(frozen=True)
class FlipGroup:
    """Terms sharing one X mask (X or Y letters), hence one permutation of the basis states.

    Attributes:
        qubits: the flipped qubits (X or Y), ascending.
        index_mask: the same as a basis-index XOR mask, qubit 0 the most significant bit.
        indices: term indices into the PauliSum, ascending.
    """

    qubits: tuple[int, ...]
    index_mask: int
    indices: tuple[int, ...]


def qwc_groups(
    paulis: PauliSum, *, strategy: Literal["largest-degree-first", "sorted-insertion"] = "largest-degree-first"
) -> list[MeasurementGroup]:
    """Partition the terms into qubit-wise-commuting groups, each with its measurement basis.

    Args:
        paulis: the sum whose terms are grouped (duplicates are treated as separate terms).
        strategy: insertion order: ``"largest-degree-first"`` (most conflicts first) or
            ``"sorted-insertion"`` (largest ``|coeff|`` first). Defaults to the former.

    Returns:
        Groups in creation order; together they cover every term exactly once.

    >>> from hybridq.operators import PauliSum
    >>> H = PauliSum.from_list([("ZZ", 1.0), ("ZI", 0.5), ("XX", 0.2), ("IX", 0.1)])
    >>> [(g.indices, g.basis) for g in qwc_groups(H)]
    [((0, 1), 'ZZ'), ((2, 3), 'XX')]
    """
    x, z = sym.pack(paulis.x), sym.pack(paulis.z)
    if strategy == "largest-degree-first":
        order = np.argsort(-_conflict_degrees(x, z), kind="stable")
    elif strategy == "sorted-insertion":
        order = np.argsort(-np.abs(paulis.coeffs), kind="stable")
    else:
        raise ValueError(f"strategy must be 'largest-degree-first' or 'sorted-insertion'; got {strategy!r}")
    group_x, group_z = np.zeros_like(x), np.zeros_like(z)
    group_of = np.empty(len(order), dtype=np.int64)
    n_groups = 0
    for t in order:
        fits = np.flatnonzero(~sym.qwc_conflict(group_x[:n_groups], group_z[:n_groups], x[t], z[t]))
        g = int(fits[0]) if fits.size else n_groups
        n_groups = max(n_groups, g + 1)
        group_x[g] |= x[t]
        group_z[g] |= z[t]
        group_of[t] = g
    bases = sym.format_labels(group_x[:n_groups], group_z[:n_groups] | ~group_x[:n_groups], paulis.n_qubits)
    return [
        MeasurementGroup(indices=tuple(rows.tolist()), basis=basis)
        for rows, basis in zip(sym.members(group_of, n_groups), bases)
    ]


def flip_mask_groups(paulis: PauliSum) -> list[FlipGroup]:
    """Group the terms by X mask, in order of first appearance.

    Terms in one group map each basis state ``b`` to the same ``b ^ index_mask``, so a
    simulator needs one gather per group and per-term Z signs (see :class:`PauliSum`).

    >>> from hybridq.operators import PauliSum
    >>> H = PauliSum.from_list([("ZZ", 1.0), ("XY", 0.5), ("IZ", 0.2), ("YX", 0.1)])
    >>> [(g.qubits, g.index_mask, g.indices) for g in flip_mask_groups(H)]
    [((), 0, (0, 2)), ((0, 1), 3, (1, 3))]
    """
    x = paulis.x
    first, group_id = sym.group_rows(sym.pack(x))
    n = paulis.n_qubits
    groups = []
    for row, members in zip(first, sym.members(group_id, len(first))):
        qubits = tuple(np.flatnonzero(x[row]).tolist())
        mask = qubit_mask(qubits, n)
        groups.append(FlipGroup(qubits=qubits, index_mask=mask, indices=tuple(members.tolist())))
    return groups


def _conflict_degrees(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Number of terms each term is not qubit-wise commuting with."""
    degrees = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), _ROW_CHUNK):
        stop = start + _ROW_CHUNK
        degrees[start:stop] = sym.qwc_conflict(x[start:stop, None], z[start:stop, None], x[None], z[None]).sum(axis=1)
    return degrees
