"""Grouped measurement baseline: qubit-wise-commuting groups with allocated shots.

Groups come from :func:`hybridq.operators.grouping.qwc_groups` (largest degree first, or
sorted insertion). Each group is measured in its merged basis; shots are allocated in
proportion to ``sum_{Q in group} |a_Q|``, the allocation that minimises the worst-case
variance bound ``sum_g (sum_{Q in g} |a_Q|)**2 / m_g``. Each term is then averaged over every
shot whose basis covers it (its own group's and any other that happens to cover it).

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("ZI", 0.5), ("XX", 0.5)])
>>> est = Grouping(H).fit()
>>> est.schedule.tolist(), est.fractions.round(3).tolist()
([[1, 1], [3, 3]], [0.25, 0.75])
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .base import ScheduleEstimator
from .terms import I, Z, PauliTerms

Strategy = Literal["largest-degree-first", "sorted-insertion"]


def qwc_partition(
    terms: PauliTerms, strategy: Strategy = "largest-degree-first"
) -> tuple[np.ndarray, list[np.ndarray]]:
    """QWC groups of ``terms``: merged strings ``(G, n)`` (I where no member acts) and the
    member indices of each group."""
    from ..operators import PauliSum
    from ..operators.grouping import qwc_groups

    codes = terms.codes
    paulis = PauliSum.from_masks((codes == 1) | (codes == 2), (codes == 2) | (codes == 3), terms.coeffs)
    members = [np.asarray(g.indices, dtype=np.int64) for g in qwc_groups(paulis, strategy=strategy)]
    paths = np.array([np.maximum.reduce(codes[m], axis=0) for m in members], dtype=np.uint8)
    return paths, members


class Grouping(ScheduleEstimator):
    """QWC grouping with shots allocated in proportion to each group's ``sum |a_Q|``.

    Args:
        hamiltonian: the Hamiltonian.
        strategy: keyword-only; ``"largest-degree-first"`` or ``"sorted-insertion"``.
            Defaults to largest degree first.

    Attributes:
        schedule: ``(G, n)`` group bases (Z on qubits no member acts on), after :meth:`~hybridq.estimators.base.Estimator.fit`.
        fractions: ``(G,)`` share of the shots of each group.
    """

    def __init__(self, hamiltonian, *, strategy: Strategy = "largest-degree-first") -> None:
        super().__init__(hamiltonian)
        self.strategy = strategy

    @property
    def name(self) -> str:
        return "Grouping(LDF)" if self.strategy == "largest-degree-first" else "Grouping(SI)"

    def _fit(self) -> None:
        paths, members = qwc_partition(self.terms, self.strategy)
        load = np.array([np.abs(self.terms.coeffs[m]).sum() for m in members])
        self.schedule = np.where(paths == I, np.uint8(Z), paths)
        self.fractions = load / load.sum()
