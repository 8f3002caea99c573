"""The interface shared by every measurement method, and its two kinds of settings.

Every method (:class:`Estimator`) answers the same calls:

* ``fit()`` proposes the measurement distribution or schedule (done lazily if skipped);
* ``run(state, shots, backend=..., seed=...)`` measures and estimates ``<H>``;
* ``variance(state)`` is the exact single-shot variance on a state, so
  ``shots_to_accuracy(state)`` needs no sampling;
* ``coverage(codes)`` is the share of the shots that measure each Pauli string.

Methods differ in what a setting is:

* :class:`PauliEstimator`: a setting is a Pauli basis; ``bases(shots, seed)`` returns ``(shots,
  n)`` basis codes (X=1, Y=2, Z=3, qubit 0 first) and ``estimate(bases, outcomes)`` turns the
  measured outcomes into an :class:`EstimateResult`. Its two families:
  :class:`ImportanceEstimator` (random bases with a known covering probability ``zeta``)
  averages the unbiased per-shot values ``sum_Q a_Q mu_Q / zeta(Q)``; :class:`ScheduleEstimator`
  (deterministic or adaptive bases) averages each term over the shots that cover it.
* :class:`SettingEstimator`: a setting is a circuit (a basis change, then a Z measurement);
  ``settings(shots)`` gives each shot's setting, ``measure(state, shots)`` the outcomes and
  ``estimate(settings, outcomes, counts)`` the value.

>>> import numpy as np
>>> from hybridq.estimators import ClassicalShadows
>>> from hybridq.estimators.terms import PauliTerms, Z
>>> est = ClassicalShadows(PauliTerms.from_codes(np.array([[Z]]), np.array([1.0])))
>>> est.run(np.array([1.0, 0.0]), 300, seed=1).value  # 3 [basis Z] per shot: 1 on average
1.02
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Literal, Union

import numpy as np

from ..checks import check_count
from ..errors import ParameterError, ShapeError
from .measure import distinct_bases, measurement
from .postprocess import Shots, basis_groups, check_outcomes, cover_fractions
from .result import CHEMICAL_ACCURACY, EstimateResult, shots_to_accuracy
from .tally import MeanTally, RatioTally
from .terms import Z, PauliTerms, check_bases, pack_codes
from .variance import as_state, exact_value, importance_variance, ratio_variance

Seed = Union[int, np.random.Generator, None]
EstimatorKind = Literal["importance", "ratio"]

#: Shots drawn, measured and post-processed at once: memory does not grow with the shot count.
CHUNK_SHOTS = 1 << 20


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
    """Base class of the measurement methods (see the module docstring for the protocol);
    subclass :class:`PauliEstimator` or :class:`SettingEstimator`.

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

    def ensure_fitted(self):
        """:meth:`fit` unless already fitted; returns ``self``.

        >>> from hybridq.estimators import ClassicalShadows
        >>> from hybridq.operators import PauliSum
        >>> est = ClassicalShadows(PauliSum.from_list([("Z", 1.0)]))
        >>> est.ensure_fitted() is est
        True
        """
        if not self._fitted:
            self.fit()
        return self

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

    @abstractmethod
    def run(self, state, shots: int, *, backend="local", seed: Seed = None) -> EstimateResult:
        """Measure ``state`` (a state vector or a bound :class:`~hybridq.circuits.Circuit`)
        ``shots`` times in the method's settings and estimate ``<H>``."""


class PauliEstimator(Estimator):
    """A method whose settings are Pauli bases: :meth:`bases` proposes them, every backend
    measures them through one call (:func:`~hybridq.estimators.measure.measurement`), and
    :meth:`estimate` post-processes the outcomes through a running tally, in chunks.

    With :class:`~hybridq.estimators.grouping.Grouping` (one Z basis measures both terms here):

    >>> import numpy as np
    >>> from hybridq.estimators import Grouping
    >>> from hybridq.operators import PauliSum
    >>> est = Grouping(PauliSum.from_list([("ZI", 1.0), ("ZZ", 0.5)])).fit()
    >>> est.bases(2).tolist()  # (shots, n) basis codes, Z = 3
    [[3, 3], [3, 3]]
    >>> est.estimate(est.bases(2), [0, 3]).value  # outcomes |00> and |11>: <ZI> = 0, <ZZ> = 1
    0.5
    >>> est.run(np.array([1.0, 0.0, 0.0, 0.0]), 100, seed=0).value  # |00>: 1 + 0.5
    1.5
    """

    @abstractmethod
    def bases(self, shots: int, seed: Seed = None) -> np.ndarray:
        """``(shots, n)`` uint8 basis codes (X=1, Y=2, Z=3) to measure."""

    #: Whether :meth:`bases` draws every shot's basis independently (then runs draw them chunk by chunk).
    iid_bases = False

    def run(self, state, shots: int, *, backend="local", seed: Seed = None) -> EstimateResult:
        """Propose bases, measure ``state`` in them and estimate ``<H>``, in chunks of at most
        :data:`CHUNK_SHOTS` shots (memory does not grow with ``shots``).

        Args:
            state: a state vector ``(2**n,)`` or ``(1, 2**n)``, or a bound
                :class:`~hybridq.circuits.Circuit` that prepares it.
            shots: number of shots.
            backend: ``"local"`` (the hybridq simulator,
                :func:`~hybridq.estimators.measure.sample_counts`), a backend or backend name
                (:func:`hybridq.backends.get_backend`, e.g. ``"aer"``, ``"fake:FakeManilaV2"``), or a
                function ``(state, bases, generator) -> outcomes`` (see
                :func:`~hybridq.estimators.measure.measurement`).
            seed: seed for bases and outcomes (same seed -> same result).

        Raises:
            ShapeError: the state's qubit count differs from the Hamiltonian's.
        """
        from ..circuits import Circuit

        shots = check_count(shots, "shots")
        if isinstance(state, Circuit):
            if state.n_qubits != self.n_qubits:
                raise ShapeError(f"the circuit has {state.n_qubits} qubits but the Hamiltonian has {self.n_qubits}")
        else:
            as_state(state, self.n_qubits)  # validates the qubit count before any work
        self.ensure_fitted()
        measure = measurement(backend, state, self.n_qubits)
        rng = as_rng(seed)
        tally = self._tally(int(shots))
        for part, bases, counts in self._basis_chunks(int(shots), rng):
            tally.add(part, measure(bases, counts, rng))
        return tally.result()

    def estimate(self, bases, outcomes) -> EstimateResult:
        """Estimate ``<H>`` from ``bases`` ``(S, n)`` and ``outcomes`` (indices ``(S,)`` or bits
        ``(S, n)``, qubit 0 most significant), post-processed in chunks."""
        self.ensure_fitted()
        bases = np.asarray(bases)
        if bases.ndim != 2 or bases.shape[1] != self.n_qubits:
            raise ShapeError(
                f"bases must have shape (shots, {self.n_qubits}) for this {self.n_qubits}-qubit "
                f"Hamiltonian, got {bases.shape}"
            )
        bases = check_bases(bases, self.n_qubits)
        if len(bases) == 0:
            raise ParameterError("no bases were given (0 shots); an estimate needs at least one measured shot")
        outcomes = check_outcomes(outcomes, len(bases), self.n_qubits)
        tally = self._tally(len(bases))
        for part, rows in self._shot_slices(len(bases)):
            tally.add(part, Shots.from_arrays(bases[rows], outcomes[rows]))
        return tally.result()

    @abstractmethod
    def _tally(self, shots: int):
        """A running tally (:mod:`~hybridq.estimators.tally`) for ``shots`` shots."""

    def _parts(self, shots: int) -> int:
        """Number of batches the shots are split into (in order) for the tally."""
        return 1

    def _shot_slices(self, shots: int) -> Iterator[tuple[int, slice]]:
        """``(part, rows)`` for consecutive chunks of at most :data:`CHUNK_SHOTS` shots, each within one part."""
        parts = self._parts(shots)
        size, extra = divmod(shots, parts)  # the parts of np.array_split
        edges = [k * size + min(k, extra) for k in range(parts + 1)]
        for part in range(parts):
            for start in range(edges[part], edges[part + 1], CHUNK_SHOTS):
                yield part, slice(start, min(start + CHUNK_SHOTS, edges[part + 1]))

    def _basis_chunks(self, shots: int, rng: np.random.Generator) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """``(part, distinct bases, shots of each)`` per chunk of a run."""
        every = None if self.iid_bases else self.bases(shots, rng)
        for part, rows in self._shot_slices(shots):
            drawn = self.bases(rows.stop - rows.start, rng) if every is None else every[rows]
            yield (part, *distinct_bases(drawn))


class ImportanceEstimator(PauliEstimator):
    """Random bases, drawn independently per shot, with known covering probabilities ``zeta``.

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

    iid_bases = True

    @property
    def name(self) -> str:
        return type(self).__name__ + ("(ratio)" if self.estimator == "ratio" else "")

    def _parts(self, shots: int) -> int:
        return self.batches if self.batches > 2 and shots >= self.batches else 1

    def _tally(self, shots: int):
        if self.estimator == "ratio":
            return RatioTally(self.terms, method=self.name)
        weights = self.terms.coeffs / self.coverage(self.terms.codes)
        return MeanTally(self.terms, weights, parts=self._parts(shots), method=self.name)

    def variance(self, state) -> float:
        """Exact single-shot variance (asymptotic in the shots for ``estimator="ratio"``)."""
        self.ensure_fitted()
        formula = ratio_variance if self.estimator == "ratio" else importance_variance
        return formula(self.terms, self.coverage, state)


class ScheduleEstimator(PauliEstimator):
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
        self.ensure_fitted()
        if self.cyclic:
            return self.schedule[np.arange(int(shots)) % len(self.schedule)]
        return np.repeat(self.schedule, self.shot_counts(shots), axis=0)

    def shot_counts(self, shots: int) -> np.ndarray:
        """Shots of each schedule row ``(K,)`` for ``shots`` in all (see :func:`allocate`; a cyclic
        schedule gives each row its turns in ``shots`` single shots)."""
        self.ensure_fitted()
        if self.cyclic:
            return np.bincount(np.arange(int(shots)) % len(self.schedule), minlength=len(self.schedule))
        return allocate(int(shots), self.fractions)

    def _basis_chunks(self, shots: int, rng: np.random.Generator):
        if self.iid_bases:
            yield from super()._basis_chunks(shots, rng)
            return
        first, inverse = basis_groups(*pack_codes(self.schedule), self.n_qubits)
        bases = self.schedule[first]
        counts = np.bincount(inverse, weights=self.shot_counts(shots)).astype(np.int64)
        # bases in groups whose outcome rows (at most min(shots, 2**n) per basis) stay near CHUNK_SHOTS
        rows = np.cumsum(np.minimum(counts, 2**min(self.n_qubits, 62)))
        group = np.concatenate([[0], rows[:-1]]) // CHUNK_SHOTS
        edges = np.concatenate([[0], np.flatnonzero(np.diff(group)) + 1, [len(bases)]])
        for lo, hi in zip(edges[:-1], edges[1:]):
            yield 0, bases[lo:hi], counts[lo:hi]

    def _tally(self, shots: int):
        return RatioTally(self.terms, method=self.name)

    def coverage(self, codes: np.ndarray) -> np.ndarray:
        self.ensure_fitted()
        bx, bz = pack_codes(self.schedule)
        return cover_fractions(codes, bx, bz, self.fractions)

    #: What the warning of :meth:`variance` adds when some terms are never measured.
    uncovered_hint = "estimates leave them out (biased by their sum)"

    def uncovered_terms(self) -> np.ndarray:
        """Indices of the terms that no basis of the schedule measures."""
        self.ensure_fitted()
        return np.nonzero(self.coverage(self.terms.codes) == 0)[0]

    def variance(self, state) -> float:
        """Exact single-shot variance of the schedule; warns when terms are never measured."""
        self.ensure_fitted()
        missed = self.uncovered_terms()
        if len(missed):
            warnings.warn(f"{len(missed)} of {len(self.terms)} terms are never measured by the {self.name} schedule; "
                          f"the variance leaves them out; {self.uncovered_hint}", stacklevel=2)
        return ratio_variance(self.terms, self.coverage, state)


class SettingEstimator(Estimator):
    """A method whose settings are circuits (basis changes that are not Pauli bases), each
    measured in Z; the outcomes of a setting are indices of the rotated state.

    Subclasses give :meth:`settings`, :meth:`measure` and :meth:`estimate`; :meth:`run` is the
    two in turn.

    With :class:`~hybridq.estimators.commuting.CliffordGrouping`: XX and ZZ commute, so one
    Clifford setting (a Bell-basis change) measures both, and the Bell state always gives 0:

    >>> from hybridq.estimators import CliffordGrouping
    >>> from hybridq.operators import PauliSum
    >>> est = CliffordGrouping(PauliSum.from_list([("XX", 1.0), ("ZZ", 1.0)])).fit()
    >>> bell = [2 ** -0.5, 0, 0, 2 ** -0.5]
    >>> settings, outcomes, counts = est.measure(bell, 100, seed=0)
    >>> settings.tolist(), outcomes.tolist(), counts.tolist()  # setting 0, outcome |00>, 100 shots
    ([0], [0], [100])
    >>> round(est.estimate(settings, outcomes, counts).value, 9)  # <XX> + <ZZ>
    2.0
    """

    @abstractmethod
    def settings(self, shots: int) -> np.ndarray:
        """Setting index of each shot ``(shots,)``."""

    @abstractmethod
    def measure(self, state, shots: int, *, backend="local", seed: Seed = None):
        """``(settings, outcomes, counts)`` of ``shots`` measurements, for :meth:`estimate`."""

    @abstractmethod
    def estimate(self, settings, outcomes, counts=None) -> EstimateResult:
        """Estimate ``<H>`` from each row's setting, outcome index and count."""

    def run(self, state, shots: int, *, backend="local", seed: Seed = None) -> EstimateResult:
        """:meth:`measure` then :meth:`estimate` (arguments as :meth:`measure`)."""
        return self.estimate(*self.measure(state, shots, backend=backend, seed=seed))
