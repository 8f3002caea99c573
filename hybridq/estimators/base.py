"""The interface shared by every measurement method, and its two estimator families.

Every method answers the same calls:

* ``fit()`` proposes the measurement distribution or schedule (done lazily if skipped);
* ``bases(shots, seed)`` returns ``(shots, n)`` basis codes (X=1, Y=2, Z=3, qubit 0 first);
* ``estimate(bases, outcomes)`` turns measured outcomes into an :class:`EstimateResult`;
* ``variance(state)`` is the exact single-shot variance on a state, so
  ``shots_to_accuracy(state)`` needs no sampling;
* ``run(state, shots, backend=..., seed=...)`` does bases -> measurement -> estimate.

:class:`ImportanceEstimator` (random bases with a known covering probability ``zeta``) averages
the unbiased per-shot values ``sum_Q a_Q mu_Q / zeta(Q)``; :class:`ScheduleEstimator`
(deterministic or adaptive bases) averages each term over the shots that cover it.

>>> import numpy as np
>>> from hybridq.estimators import ClassicalShadows
>>> from hybridq.estimators.terms import PauliTerms, Z
>>> est = ClassicalShadows(PauliTerms.from_codes(np.array([[Z]]), np.array([1.0])))
>>> est.run(np.array([1.0, 0.0]), 300, seed=1).value
1.0
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Callable, Literal, Union

import numpy as np
import torch

from ..errors import ShapeError
from .measure import measure_bases
from .postprocess import Shots, cover_fractions, shot_sums
from .ratio import ratio_estimate
from .result import CHEMICAL_ACCURACY, EstimateResult, shots_to_accuracy
from .terms import Z, PauliTerms, pack_codes
from .variance import as_state, exact_value, importance_variance, ratio_variance

Measure = Callable[[object, np.ndarray, Union[torch.Generator, None]], np.ndarray]
Seed = Union[int, np.random.Generator, None]
EstimatorKind = Literal["importance", "ratio"]


def as_rng(seed: Seed) -> np.random.Generator:
    """A numpy generator from an int seed, a generator (returned as is) or None (fresh)."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def allocate(shots: int, fractions: np.ndarray) -> np.ndarray:
    """Integer shot counts close to ``shots * fractions`` (largest remainders), with at least
    one shot per entry when ``shots >= len(fractions)``.

    >>> allocate(10, np.array([0.9, 0.05, 0.05])).tolist()
    [8, 1, 1]
    """
    if len(fractions) == 0:
        raise ValueError("cannot allocate shots to an empty schedule")
    exact = shots * np.asarray(fractions, dtype=float)
    counts = np.floor(exact).astype(np.int64)
    if shots >= len(counts):
        counts = np.maximum(counts, 1)
    while (diff := shots - int(counts.sum())) != 0:
        slack = counts - exact
        if diff > 0:
            counts[np.argsort(slack, kind="stable")[:diff]] += 1
        else:
            donors = np.flatnonzero(counts > 1)
            counts[donors[np.argsort(-slack[donors], kind="stable")[:-diff]]] -= 1
    return counts


class Estimator(ABC):
    """Base class of the measurement methods (see the module docstring for the protocol).

    Args:
        hamiltonian: a Hermitian :class:`hybridq.operators.PauliSum` (or
            :class:`~hybridq.estimators.terms.PauliTerms`).
    """

    def __init__(self, hamiltonian) -> None:
        self.terms = PauliTerms.from_operator(hamiltonian)
        self._fitted = False

    @property
    def n_qubits(self) -> int:
        """Number of qubits of the Hamiltonian."""
        return self.terms.n_qubits

    @property
    def name(self) -> str:
        """The method's name, as reported in results."""
        return type(self).__name__

    def fit(self):
        """Propose the measurement distribution or schedule; returns ``self``.

        A Hamiltonian that is only a multiple of the identity needs no proposal: its value is
        exact and any basis (the default one of each method) will do.
        """
        if len(self.terms):
            self._fit()
        self._fitted = True
        return self

    def _fit(self) -> None:
        """Method-specific proposal step (nothing by default)."""

    def _ensure_fitted(self) -> None:
        if not self._fitted:
            self.fit()

    @abstractmethod
    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        """``(shots, n)`` uint8 basis codes (X=1, Y=2, Z=3) to measure."""

    @abstractmethod
    def estimate(self, bases, outcomes) -> EstimateResult:
        """Estimate ``<H>`` from ``bases`` ``(S, n)`` and ``outcomes`` (indices ``(S,)`` or bits
        ``(S, n)``, qubit 0 most significant)."""

    @abstractmethod
    def coverage(self, codes: np.ndarray) -> np.ndarray:
        """Probability (or fraction of shots) that a basis covers each string ``codes`` ``(M, n)``."""

    @abstractmethod
    def variance(self, state) -> float:
        """Exact single-shot variance (``shots * Var(estimate)``) on ``state``."""

    def exact(self, state) -> float:
        """Exact ``<psi|H|psi>`` (for reference)."""
        return exact_value(self.terms, state)

    def shots_to_accuracy(self, state, accuracy: float = CHEMICAL_ACCURACY) -> float:
        """Shots needed for a standard error of ``accuracy`` Hartree on ``state``."""
        return shots_to_accuracy(self.variance(state), accuracy)

    def run(self, state, shots: int, *, backend="local", seed: Seed = None) -> EstimateResult:
        """Propose bases, measure ``state`` in them and estimate ``<H>``.

        Args:
            state: a state vector ``(2**n,)`` or ``(1, 2**n)``, or a bound
                :class:`~hybridq.circuits.Circuit` that prepares it.
            shots: number of shots.
            backend: ``"local"`` (the hybridq simulator, :func:`measure_bases`), a backend or
                backend name (:func:`hybridq.backends.get_backend`, e.g. ``"aer"``,
                ``"fake:FakeManilaV2"``), or a function ``(state, bases, generator) -> outcomes``.
            seed: seed for bases and outcomes (same seed -> same result).

        Raises:
            ShapeError: the state's qubit count differs from the Hamiltonian's.
        """
        from ..circuits import Circuit

        if isinstance(state, Circuit):
            if state.n_qubits != self.n_qubits:
                raise ShapeError(f"the circuit has {state.n_qubits} qubits but the Hamiltonian has {self.n_qubits}")
        else:
            as_state(state, self.n_qubits)  # validates the qubit count before any work
        if isinstance(backend, str) and backend == "local":
            if isinstance(state, Circuit):
                from ..circuits import simulate

                state = simulate(state, dtype=torch.complex128)
            measure = measure_bases
        elif callable(backend) and not hasattr(backend, "measure_function"):
            measure = backend
        else:
            from ..backends import get_backend

            measure = (backend if hasattr(backend, "measure_function") else get_backend(backend)).measure_function()
        rng = as_rng(seed)
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        bases = self.bases(shots, rng)
        return self.estimate(bases, measure(state, bases, generator))

    def _shots(self, bases, outcomes) -> Shots:
        bases = np.asarray(bases)
        if bases.ndim != 2 or bases.shape[1] != self.n_qubits:
            raise ShapeError(
                f"bases must have shape (shots, {self.n_qubits}) for this {self.n_qubits}-qubit "
                f"Hamiltonian, got {bases.shape}"
            )
        return Shots.from_arrays(bases, outcomes)


class ImportanceEstimator(Estimator):
    """Random bases with known covering probabilities ``zeta``.

    Args:
        hamiltonian: the Hamiltonian.
        batches: keyword-only; with ``batches > 2`` the value is the median of that many
            batch means (median of means, robust to heavy tails; then slightly biased for
            skewed per-shot values). Its ``stderr`` is the asymptotic ``sqrt(pi/2)`` times the
            mean's. Defaults to 1 (plain mean).
        estimator: keyword-only; ``"importance"``: the unbiased mean of
            ``sum_Q a_Q mu_Q / zeta(Q)``; ``"ratio"``: the hit-count estimator (each term
            averaged over the shots that cover it; unbiased once every term is covered, and
            without the variance that random coverage adds, often several times fewer shots
            on near-classical states). Defaults to ``"importance"``.
    """

    def __init__(self, hamiltonian, *, batches: int = 1, estimator: EstimatorKind = "importance") -> None:
        super().__init__(hamiltonian)
        if int(batches) < 1:
            raise ValueError(f"batches must be a positive integer, got {batches}")
        if estimator not in ("importance", "ratio"):
            raise ValueError(f"estimator must be 'importance' or 'ratio', got {estimator!r}")
        self.batches = int(batches)
        self.estimator = estimator

    @property
    def name(self) -> str:
        return type(self).__name__ + ("(ratio)" if self.estimator == "ratio" else "")

    def estimate(self, bases, outcomes) -> EstimateResult:
        self._ensure_fitted()
        shots = self._shots(bases, outcomes)
        if self.estimator == "ratio":
            return ratio_estimate(self.terms, shots, self.name)
        n = shots.total
        values, _ = shot_sums(self.terms, shots, self.terms.coeffs / self.coverage(self.terms.codes))
        mean = float(shots.counts @ values) / n
        spread = float(shots.counts @ (values - mean) ** 2) / max(n - 1, 1)
        stderr = float(np.sqrt(spread / n))
        if self.batches > 2 and n >= self.batches:
            per_shot = values[shots.inverse]
            mean = float(np.median([b.mean() for b in np.array_split(per_shot, self.batches)]))
            stderr *= float(np.sqrt(np.pi / 2))
        return EstimateResult(self.terms.offset + mean, stderr, n, self.name)

    def variance(self, state) -> float:
        """Exact single-shot variance (asymptotic in the shots for ``estimator="ratio"``)."""
        self._ensure_fitted()
        formula = ratio_variance if self.estimator == "ratio" else importance_variance
        return formula(self.terms, self.coverage, state)


class ScheduleEstimator(Estimator):
    """A schedule of bases (``schedule`` rows with ``fractions`` of the shots) and the
    hit-count estimator (:func:`~hybridq.estimators.ratio.ratio_estimate`).

    Subclasses set ``self.schedule`` ``(K, n)`` and ``self.fractions`` ``(K,)`` in ``_fit``.
    The default :meth:`bases` rounds ``shots * fractions`` (see :func:`allocate`) in schedule
    order; the estimator is unbiased whenever every term is covered at least once.
    """

    def __init__(self, hamiltonian) -> None:
        super().__init__(hamiltonian)
        self.schedule = np.full((1, self.n_qubits), Z, dtype=np.uint8)
        self.fractions = np.ones(1)

    #: True for an ordered schedule of single shots, cycled (repeated or cut) to any shot count.
    cyclic = False

    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        self._ensure_fitted()
        if self.cyclic:
            return self.schedule[np.arange(int(shots)) % len(self.schedule)]
        return np.repeat(self.schedule, allocate(int(shots), self.fractions), axis=0)

    def coverage(self, codes: np.ndarray) -> np.ndarray:
        self._ensure_fitted()
        bx, bz = pack_codes(self.schedule)
        return cover_fractions(codes, bx, bz, self.fractions)

    def estimate(self, bases, outcomes) -> EstimateResult:
        self._ensure_fitted()
        return ratio_estimate(self.terms, self._shots(bases, outcomes), self.name)

    #: What the warning of :meth:`variance` adds when some terms are never measured.
    uncovered_hint = "estimates leave them out (biased by their sum)"

    def uncovered_terms(self) -> np.ndarray:
        """Indices of the terms that no basis of the schedule measures."""
        self._ensure_fitted()
        return np.nonzero(self.coverage(self.terms.codes) == 0)[0]

    def variance(self, state) -> float:
        """Exact single-shot variance of the schedule; warns when terms are never measured."""
        self._ensure_fitted()
        missed = self.uncovered_terms()
        if len(missed):
            warnings.warn(f"{len(missed)} of {len(self.terms)} terms are never measured by the {self.name} schedule; "
                          f"the variance leaves them out; {self.uncovered_hint}", stacklevel=2)
        return ratio_variance(self.terms, self.coverage, state)
