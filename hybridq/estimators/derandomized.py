"""Derandomised measurement schedules (Huang, Kueng, Preskill 2021), on any decision diagram.

The greedy derandomisation fixes the bases one letter at a time. For term ``Q`` with weight
``w_Q = |a_Q| / max |a|`` and ``h_Q`` hits so far, the pessimistic estimator of the failure
probability is ``sum_Q exp(-(eta/2) h_Q / w_Q) (1 - nu P_Q)**(1/w_Q)`` with
``nu = 1 - exp(-eta/2)`` and ``P_Q`` the probability that the current shot still covers ``Q``
if its remaining letters are drawn at random. At each qubit the letter (edge) that minimises
it is kept. With the uniform one-node-per-level diagram ``P_Q = 3**-(letters of Q left)``
(the original algorithm); on a fitted decision diagram ``P_Q`` is the diagram's backward
covering probability from the edge's child ("derandomised decision diagram", CSHOREBench).
Estimates use the hit-count ratio estimator; the schedule is repeated for more shots.

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("ZZ", 1.0), ("XX", 0.5)])
>>> Derandomized(H, n_bases=4).fit().schedule.tolist()
[[1, 1], [3, 3], [1, 1], [3, 3]]
"""

from __future__ import annotations

import numpy as np

from . import diagram as dd
from .base import ScheduleEstimator
from .decision_diagram import DecisionDiagram
from ..progress import progress
from .terms import PauliTerms


def derandomize(diagram: dd.Diagram, terms: PauliTerms, n_bases: int, *, eta: float = 0.9) -> np.ndarray:
    """Greedy derandomised schedule of ``n_bases`` bases along ``diagram``'s edges: ``(K, n)``."""
    codes = terms.codes
    inv_w = np.abs(terms.coeffs).max() / np.abs(terms.coeffs)
    completion = dd.backward(diagram, codes)  # completion[l][t, v]: P(cover the rest of Q_t | node v)
    nu = 1.0 - np.exp(-eta / 2)
    hits = np.zeros(len(terms))
    out = np.empty((int(n_bases), diagram.n_qubits), dtype=np.uint8)
    starts = [layer.src_starts() for layer in diagram.layers]
    for k in progress(range(int(n_bases)), desc="derandomizing"):
        log_scale = -(eta / 2) * hits * inv_w
        scale = np.exp(log_scale - log_scale.max())
        alive = np.arange(len(terms))
        node = 0
        for level, layer in enumerate(diagram.layers):
            first = starts[level][node]
            last = starts[level][node + 1] if node + 1 < layer.n_src else len(layer.src)
            letters, children = layer.letter[first:last], layer.dst[first:last]
            own = codes[alive, level]
            match = (own == 0) | (own[None, :] == letters[:, None])  # (C, A)
            p = match * completion[level + 1][alive][:, children].T
            cost = (np.exp(inv_w[alive] * np.log1p(-nu * p)) * scale[alive]).sum(axis=1)
            best = int(np.argmin(cost))
            out[k, level] = letters[best]
            alive = alive[match[best]]
            node = int(children[best])
        hits[alive] += 1
    return out


class Derandomized(ScheduleEstimator):
    """Huang-Kueng-Preskill derandomisation weighted by ``|a_Q|``.

    Args:
        hamiltonian: the Hamiltonian.
        n_bases: keyword-only; length of the derandomised schedule (repeated for more shots,
            cut for fewer). Defaults to 1000.
        eta: keyword-only; the hyperparameter ``eta`` (``epsilon**2``). Defaults to 0.9.

    Attributes:
        schedule: ``(n_bases, n)`` bases in order; ``fractions`` is uniform over them.
    """

    cyclic = True

    def __init__(self, hamiltonian, *, n_bases: int = 1000, eta: float = 0.9) -> None:
        super().__init__(hamiltonian)
        self.n_bases, self.eta = int(n_bases), float(eta)

    def _diagram(self) -> dd.Diagram:
        return dd.Diagram.product(np.full((self.n_qubits, 3), 1 / 3))

    def _fit(self) -> None:
        self.schedule = derandomize(self._diagram(), self.terms, self.n_bases, eta=self.eta)
        self.fractions = np.full(len(self.schedule), 1 / len(self.schedule))


class DerandomizedDecisionDiagram(Derandomized):
    """Derandomisation along a fitted :class:`DecisionDiagram` (its completion probabilities
    replace the uniform ``3**-k``).

    Args:
        hamiltonian: the Hamiltonian.
        n_bases: keyword-only; schedule length. Defaults to 1000.
        eta: keyword-only; as in :class:`Derandomized`. Defaults to 0.9.
        diagram: keyword-only; a :class:`DecisionDiagram` to derandomise (fitted if needed);
            by default one is built with default settings.
    """

    def __init__(self, hamiltonian, *, n_bases: int = 1000, eta: float = 0.9,
                 diagram: DecisionDiagram | None = None) -> None:
        super().__init__(hamiltonian, n_bases=n_bases, eta=eta)
        if diagram is not None and diagram.terms.key != self.terms.key:
            raise ValueError("the decision diagram was built for a different Hamiltonian")
        self.source = diagram if diagram is not None else DecisionDiagram(self.terms)

    def _diagram(self) -> dd.Diagram:
        self.source.ensure_fitted()
        return self.source.diagram
