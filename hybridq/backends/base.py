"""The :class:`Backend` protocol: run bound circuits, measured in Pauli bases, for some shots.

A backend implements one step, ``_submit(circuits, shots, seed) -> Job`` whose result is the
outcome indices of each circuit (qubit 0 the most significant bit), and optionally
``_probabilities(circuits)`` when it can compute exact outcome probabilities. Everything else
is shared:

* :meth:`Backend.sample` / :meth:`Backend.counts`: bits and counts, after optional basis changes;
* :meth:`Backend.probabilities`: exact outcome probabilities (backends with ``exact = True``);
* :meth:`Backend.expectations`: every term ``<P_t>`` of a Pauli sum, exact or from shots
  (qubit-wise commuting terms share a basis);
* :meth:`Backend.measure_counts`: the estimators' measurement call, shots per basis in
  (codes ``X = 1, Y = 2, Z = 3``, as :mod:`hybridq.estimators`), outcome counts out;
  :meth:`Backend.measure_bases` gives one ``+-1`` outcome per row of an ``(S, n)`` array of
  basis codes, and :meth:`Backend.measure_function` a function of that kind that measures a
  given circuit, for the estimators' ``run(..., backend=...)``.

A basis is measured by appending ``H`` (X) or ``Sdg, H`` (Y) to the qubit; outcome bit 0 means
eigenvalue +1. Circuits must be bound (no inputs or weights left); a state vector may stand for
a circuit (it is prepared by one unitary gate). Jobs are batched, retried and recorded as
described in :mod:`hybridq.backends.jobs`.

>>> from hybridq.backends import LocalBackend
>>> from hybridq.circuits import Circuit
>>> LocalBackend(seed=1).counts(Circuit(2).x(0), 10)
{'10': 10}
"""

from __future__ import annotations

import contextlib
import numbers
import os
from abc import ABC, abstractmethod
from typing import Callable, Sequence, Union

import numpy as np
import torch

from ..checks import check_count, check_finite
from ..circuits.circuit import Circuit
from ..errors import ParameterError, ShapeError, StateTooLargeError
from ..qubit_order import bits_to_index, index_to_bits
from ..sim.measure import parity_signs
from .jobs import BackendError, Job, JobStore, SubmitPolicy, TransientBackendError, digest, run_jobs

I, X, Y, Z = 0, 1, 2, 3
Source = Union[Circuit, np.ndarray, torch.Tensor]
Circuits = Union[Source, Sequence[Source]]
_LETTER_CODES = {"I": I, "X": X, "Y": Y, "Z": Z}


class Backend(ABC):
    """Base class of the backends (see the module docstring).

    Args:
        seed: default seed of every call (same seed and circuits -> same outcomes). Defaults to
            None (fresh randomness; finished jobs are still reused from a store).
        store: a :class:`~hybridq.backends.jobs.JobStore` or a path for one; finished jobs are
            kept there and reused when the same work is run again. Defaults to None.
        policy: batching, retries, back-off and time-out
            (:class:`~hybridq.backends.jobs.SubmitPolicy`). Defaults to ``SubmitPolicy()``.
    """

    name: str = "backend"
    #: Whether :meth:`probabilities` (and ``shots=None``) work.
    exact: bool = False
    #: Widest circuit the backend accepts (None: no limit).
    max_qubits: int | None = None

    def __init__(self, *, seed: int | None = None, store: JobStore | str | os.PathLike | None = None,
                 policy: SubmitPolicy | None = None) -> None:
        self.seed = seed
        self.store = store if store is None or isinstance(store, JobStore) else JobStore(store)
        self.policy = policy or SubmitPolicy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    @property
    def identity(self) -> str:
        """What makes results of this backend differ from another's (part of job keys)."""
        return self.name

    # ----- what a backend implements
    @abstractmethod
    def _submit(self, circuits: list[Circuit], shots: list[int], seed: int) -> Job:
        """Start a job; its result is one int64 array of outcome indices ``(shots[i],)`` per circuit."""

    def _probabilities(self, circuits: list[Circuit]) -> np.ndarray:
        """Exact outcome probabilities ``(C, 2**n)`` (backends with ``exact = True``)."""
        raise BackendError(f"{self.name} cannot compute exact probabilities; pass a number of shots")

    def _retrieve(self, job_id: str) -> Job | None:
        """Re-attach to a job submitted earlier (None when the provider cannot)."""
        return None

    def _is_transient(self, exc: BaseException) -> bool:
        """Whether a failure is worth a retry."""
        return isinstance(exc, (TransientBackendError, ConnectionError))

    def _session(self) -> contextlib.AbstractContextManager:
        """Context open while the jobs of one call are submitted and collected."""
        return contextlib.nullcontext()

    # ----- shared API
    def sample(self, circuits: Circuits, shots: int | Sequence[int], *, bases=None,
               seed: int | None = None) -> list[np.ndarray]:
        """Measure each circuit ``shots`` times: a list of ``(shots, n)`` uint8 bit arrays.

        Args:
            circuits: a bound circuit (or state vector) or a sequence of them.
            shots: shots per circuit (one number, or one per circuit).
            bases: measurement basis per circuit, as a label (``"XZY"``) or codes; all Z if None.
            seed: overrides the backend's seed.

        Column ``q`` is qubit ``q``; bit 0 means eigenvalue +1 of the measured Pauli.
        """
        circs = self._prepare(circuits)
        outcomes = self._outcomes(circs, shots, bases, seed)
        return [index_to_bits(o, c.n_qubits) for o, c in zip(outcomes, circs)]

    def counts(self, circuit: Source, shots: int, *, basis=None, seed: int | None = None) -> dict[str, int]:
        """Outcome counts of one circuit, bitstrings written qubit 0 first."""
        (c,) = self._prepare([circuit])
        (outcomes,) = self._outcomes([c], shots, None if basis is None else [basis], seed)
        values, numbers = np.unique(outcomes, return_counts=True)
        return {format(int(v), f"0{c.n_qubits}b"): int(k) for v, k in zip(values, numbers)}

    def probabilities(self, circuits: Circuits, *, bases=None) -> np.ndarray:
        """Exact outcome probabilities ``(C, 2**n)`` (qubit 0 the most significant bit)."""
        circs = self._prepare(circuits)
        if not self.exact:
            raise BackendError(f"{self.name} cannot compute exact probabilities; pass a number of shots")
        if bases is not None:
            circs = [with_basis(c, b) for c, b in zip(circs, _per_circuit(bases, len(circs), "bases"))]
        return np.asarray(self._probabilities(circs), dtype=np.float64)

    def expectations(self, circuits: Circuits, observable, *, shots: int | None = None,
                     seed: int | None = None) -> np.ndarray:
        """``<P_t>`` of every term of a Pauli sum (coefficients not applied): ``(C, T)`` float64.

        Args:
            circuits: bound circuits (or state vectors).
            observable: a :class:`~hybridq.operators.PauliSum` on the circuits' qubits.
            shots: shots per circuit and measurement basis; None for exact values (backends
                with ``exact = True``).
            seed: overrides the backend's seed.
        """
        circs = self._prepare(circuits)
        n = observable.n_qubits
        if any(c.n_qubits != n for c in circs):
            raise ShapeError(f"the observable acts on {n} qubits; the circuits have {sorted({c.n_qubits for c in circs})}")
        groups = observable.qwc_groups()
        rotated = [with_basis(c, g.basis) for c in circs for g in groups]
        support = bits_to_index(np.asarray(observable.x) | np.asarray(observable.z))
        out = np.empty((len(circs), len(support)))
        if shots is None:
            probs = self.probabilities(rotated).reshape(len(circs), len(groups), -1)
            index = np.arange(probs.shape[-1], dtype=np.int64)
            for g, group in enumerate(groups):
                cols = list(group.indices)
                out[:, cols] = probs[:, g] @ parity_signs(index, support[cols])
            return out
        outcomes = self._outcomes(rotated, shots, None, seed)
        for i in range(len(circs)):
            for g, group in enumerate(groups):
                cols = list(group.indices)
                out[i, cols] = parity_signs(outcomes[i * len(groups) + g], support[cols]).mean(axis=0)
        return out

    def measure_counts(self, source: Source, bases, counts, *, seed: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Measure ``source`` ``counts[k]`` times in basis ``bases[k]`` (codes X=1, Y=2, Z=3, qubit
        0 first; 0 is read as Z): the estimators' measurement call.

        Returns:
            ``(rows, outcomes, counts)``: basis row, outcome index (qubit 0 the most
            significant bit, bit 0 for eigenvalue +1) and shots, one entry per distinct pair.

        >>> from hybridq.backends import LocalBackend
        >>> rows, outcomes, found = LocalBackend(seed=1).measure_counts(Circuit(1).x(0), [[3]], [4])
        >>> outcomes.tolist(), found.tolist()
        ([1], [4])
        """
        (circuit,) = self._prepare([source])
        codes = np.asarray(bases)
        counts = np.asarray(counts, dtype=np.int64).reshape(-1)
        if codes.ndim != 2 or codes.shape[1] != circuit.n_qubits or (codes.size and not np.isin(codes, (0, 1, 2, 3)).all()):
            raise ShapeError(f"bases must be an (K, {circuit.n_qubits}) array of codes 0-3, got shape {codes.shape}")
        if counts.shape != (len(codes),):
            raise ShapeError(f"counts must have one entry per basis ({len(codes)}), got shape {counts.shape}")
        live = np.flatnonzero(counts)
        outcomes = self._outcomes([circuit] * len(live), counts[live].tolist(), list(codes[live]), seed)
        rows, found, numbers = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
        for row, shots in zip(live, outcomes):
            values, k = np.unique(shots, return_counts=True)
            rows.append(np.full(len(values), row, dtype=np.int64))
            found.append(values)
            numbers.append(k.astype(np.int64))
        return np.concatenate(rows), np.concatenate(found), np.concatenate(numbers)

    def measure_bases(self, source: Source, bases, *, seed: int | None = None) -> np.ndarray:
        """One shot of ``source`` per row of ``bases`` ``(S, n)`` (codes as :meth:`measure_counts`):
        ``(S, n)`` int8 outcomes ``+1``/``-1``, qubit 0 first.

        Rows with the same basis share one circuit, run for as many shots as there are rows.
        """
        codes = np.asarray(bases)
        if codes.ndim != 2:
            raise ShapeError(f"bases must be an (S, n) array of codes 0-3, got shape {codes.shape}")
        uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        rows, outcomes, counts = self.measure_counts(source, uniq, np.bincount(inverse, minlength=len(uniq)), seed=seed)
        by_row = np.argsort(rows, kind="stable")
        found = np.empty(len(codes), dtype=np.int64)
        found[np.argsort(inverse, kind="stable")] = np.repeat(outcomes[by_row], counts[by_row])
        return (1 - 2 * index_to_bits(found, codes.shape[1]).astype(np.int8)).astype(np.int8)

    def measure_function(self, circuit: Source | None = None) -> Callable[..., np.ndarray]:
        """A measurement function for :meth:`hybridq.estimators.base.Estimator.run`'s ``backend``.

        The function is ``(state, bases, generator) -> (S, n)`` outcome bits (0 for +1). It
        measures ``circuit`` if given, else its ``state`` argument (a circuit or a state
        vector); the generator's seed seeds the backend.
        """

        def measure(state, bases, generator: torch.Generator | None = None) -> np.ndarray:
            seed = int(generator.initial_seed()) if generator is not None else None
            pm = self.measure_bases(circuit if circuit is not None else state, bases, seed=seed)
            return ((1 - pm) // 2).astype(np.uint8)

        return measure

    # ----- internals
    def _prepare(self, circuits: Circuits) -> list[Circuit]:
        items = [circuits] if isinstance(circuits, (Circuit, np.ndarray, torch.Tensor)) else list(circuits)
        out = [c if isinstance(c, Circuit) else state_preparation(c) for c in items]
        for c in out:
            if c.n_inputs or c.weight_names:
                raise ParameterError(
                    f"{self.name} runs bound circuits, but this one reads {c.n_inputs} input(s) and weights "
                    f"{c.weight_names[:5]}; bind them with circuit.bind(inputs, weights) or use "
                    "hybridq.backends.expectation"
                )
            if self.max_qubits is not None and c.n_qubits > self.max_qubits:
                raise BackendError(f"the circuit has {c.n_qubits} qubits but {self.name} has only {self.max_qubits}")
        return out

    def _outcomes(self, circuits: list[Circuit], shots, bases, seed: int | None) -> list[np.ndarray]:
        shots = [check_count(s, "shots") for s in _per_circuit(shots, len(circuits), "shots")]
        if bases is not None:
            circuits = [with_basis(c, b) for c, b in zip(circuits, _per_circuit(bases, len(circuits), "bases"))]
        keys = [f"{circuit_key(c)}:{s}" for c, s in zip(circuits, shots)]
        seed = self.seed if seed is None else seed

        def submit(indices: list[int], job_seed: int) -> Job:
            return self._submit([circuits[i] for i in indices], [shots[i] for i in indices], job_seed)

        with self._session():
            found = run_jobs(keys, submit, identity=self.identity, seed=seed, policy=self.policy, store=self.store,
                             retrieve=self._retrieve, is_transient=self._is_transient, sizes=shots)
        return [np.asarray(f, dtype=np.int64).reshape(-1) for f in found]


def _per_circuit(value, count: int, what: str) -> list:
    if isinstance(value, (numbers.Number, str)) or not hasattr(value, "__iter__"):
        return [value] * count
    values = list(value)
    if len(values) != count:
        raise ShapeError(f"expected one {what} entry per circuit ({count}), got {len(values)}")
    return values


def basis_codes(basis, n_qubits: int) -> np.ndarray:
    """A basis label (``"XIZ"``) or codes -> uint8 codes ``(n,)`` (X=1, Y=2, Z=3; I=0 reads as Z)."""
    if isinstance(basis, str) and set(basis.upper()) - set(_LETTER_CODES):
        raise ShapeError(f"a basis needs {n_qubits} letters from I, X, Y, Z (or codes 0-3), got {basis!r}")
    codes = np.array([_LETTER_CODES[ch] for ch in basis.upper()] if isinstance(basis, str) else basis)
    if codes.shape != (n_qubits,) or not np.isin(codes, (0, 1, 2, 3)).all():
        raise ShapeError(f"a basis needs {n_qubits} letters from I, X, Y, Z (or codes 0-3), got {basis!r}")
    return codes.astype(np.uint8)


def with_basis(circuit: Circuit, basis) -> Circuit:
    """``circuit`` followed by the rotations that measure ``basis`` in the Z basis.

    >>> [op.name for op in with_basis(Circuit(2), "XY").ops]
    ['H', 'Sdg', 'H']
    """
    out = circuit.copy()
    for q, code in enumerate(basis_codes(basis, circuit.n_qubits)):
        if code == Y:
            out.sdg(q)
        if code in (X, Y):
            out.h(q)
    return out


#: Widest state vector :func:`state_preparation` turns into a circuit (its unitary: 64 MiB at 11).
MAX_PREPARED_QUBITS = 11


def state_preparation(state) -> Circuit:
    """A circuit of one unitary gate preparing ``state`` (up to a global phase) from ``|0..0>``.

    The gate is the Householder reflection exchanging ``|0..0>`` and the (phase-aligned) state.

    >>> import numpy as np
    >>> c = state_preparation(np.array([0, 1, 1, 0]) / np.sqrt(2))
    >>> np.round(np.abs(c.ops[0].matrix[:, 0]) ** 2, 3).tolist()
    [0.0, 0.5, 0.5, 0.0]
    """
    try:
        psi = np.asarray(state.detach().cpu().numpy() if isinstance(state, torch.Tensor) else state, dtype=np.complex128)
    except (TypeError, ValueError) as error:
        raise ShapeError(f"a state vector must be an array of numbers, got {type(state).__name__}: {error}") from None
    psi = psi.reshape(-1) if psi.ndim == 2 and psi.shape[0] == 1 else psi
    size = psi.shape[0] if psi.ndim == 1 else 0
    if size < 2 or size & (size - 1):
        raise ShapeError(f"a state vector must have shape (2**n,) or (1, 2**n), got {np.shape(state)}")
    check_finite(psi, "the state vector")
    if size > 2**MAX_PREPARED_QUBITS:
        raise StateTooLargeError(
            f"a {size.bit_length() - 1}-qubit state vector would need a {size} x {size} unitary to prepare on a "
            f"backend (more than {MAX_PREPARED_QUBITS} qubits); pass the bound circuit that prepares the state instead")
    norm = np.linalg.norm(psi)
    if abs(norm - 1) > 1e-5:
        raise ShapeError(f"a state vector must be normalised, got norm {norm:.6g}")
    psi = psi / norm
    target = np.zeros(size, dtype=np.complex128)
    target[0] = np.exp(1j * np.angle(psi[0])) if abs(psi[0]) > 0 else 1.0
    v = target - psi
    u = np.eye(size, dtype=np.complex128)
    if np.linalg.norm(v) > 1e-12:
        u -= 2 * np.outer(v, v.conj()) / np.vdot(v, v).real
    n = size.bit_length() - 1
    return Circuit(n).unitary(u, list(range(n)), atol=1e-6)


def circuit_key(circuit: Circuit) -> str:
    """A stable hash of a circuit's gates, qubits, angles and matrices (job keys)."""
    parts = [str(circuit.n_qubits)]
    for op in circuit.ops:
        matrix = "" if op.matrix is None else digest(np.ascontiguousarray(op.matrix, dtype=np.complex128).tobytes().hex())
        params = [repr(float(p)) if isinstance(p, (int, float, np.floating)) else repr(p) for p in op.params]
        parts.append(f"{op.name}|{op.qubits}|{op.controls}|{params}|{op.pauli}|{matrix}")
    return digest(*parts)

