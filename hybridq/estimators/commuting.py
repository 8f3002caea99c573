"""Overlapping fully-commuting groups measured through Clifford circuits (``CliffordGrouping``).

Fit (Hamiltonian and a classically cheap reference state only):

1. **Groups**: sorted insertion (largest ``|a_Q|`` first) into groups of pairwise *commuting*
   terms (Crawford et al., Quantum 5, 385), not only qubit-wise commuting ones.
2. **Circuits**: each group gets a Clifford circuit ``U_g``
   (:func:`~hybridq.estimators.clifford.diagonalising_gates`) mapping its members to signed Z
   strings. A measurement of ``U_g |psi>`` in Z then gives every term that ``U_g`` maps to a Z
   string, members or not, so groups overlap.
3. **Split and allocation**: term ``Q`` is measured by the groups ``G(Q)``; its coefficient is
   split as ``a_Q = sum_{g in G(Q)} c_{Qg}`` and group ``g`` gets the fraction ``f_g`` of the
   shots. One shot of group ``g`` gives ``y_g = sum_Q c_{Qg} mu_Q`` and the estimate is
   ``offset + sum_g mean(y_g)``, unbiased for any split. Its single-shot variance is
   ``Var_1 = sum_g c_g^T S_g c_g / f_g`` with ``S_g`` the covariance of the group's outcomes.
   ``c`` and ``f`` minimise it for a model covariance: the reference state's (by default the
   basis state of lowest diagonal energy, the Hartree-Fock determinant of a molecule) shrunk
   towards the identity, ``(1 - shrinkage) S_ref + shrinkage I``, so groups whose terms the
   reference fixes still get shots. For fixed ``f`` the best ``c`` is the generalised least
   squares split ``c_g = f_g S_g^{-1} lambda_g`` with ``(sum_g f_g S_g^{-1}) lambda = a``;
   for fixed ``c`` the best ``f_g`` is ``∝ sqrt(c_g^T S_g c_g)``; the fit alternates the two.

Shots are split among the groups in proportion to ``f`` (stratified); the standard error is
``sqrt(sum_g var(y_g) / m_g)``. :meth:`CliffordGrouping.variance` is exact: the group's
outcome law comes from rotating the state, ``y_g`` over all outcomes from one Walsh-Hadamard
transform.

>>> from hybridq.operators import PauliSum
>>> H = PauliSum.from_list([("XX", 1.0), ("YY", 1.0), ("ZZ", 1.0)])
>>> est = CliffordGrouping(H).fit()
>>> len(est.groups), est.groups[0].gates
(1, [('CNOT', (0, 1)), ('H', (0,))])
>>> singlet = [0, 2 ** -0.5, -(2 ** -0.5), 0]
>>> est.run(singlet, 10, seed=0).value, est.variance(singlet)
(-3.0, 0.0)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ShapeError
from ..qubit_order import bits_to_index
from .base import Seed, SettingEstimator, allocate, as_rng
from .clifford import Gate, commuting, conjugate, diagonalising_gates
from .result import EstimateResult
from .terms import X, Y, Z, PauliTerms, mask_dtype, pack_codes
from .variance import as_state


@dataclass(frozen=True)
class CliffordGroup:
    """One measurement setting: a Clifford circuit and the terms it measures.

    Attributes:
        gates: the circuit ``U`` as ``(name, qubits)`` (H, S, CNOT, CZ), first gate first.
        terms: ``(k,)`` indices of the Hamiltonian terms ``U`` maps to Z strings.
        zmask: ``(k,)`` outcome-bit masks of those Z strings (qubit 0 = top bit).
        sign: ``(k,)`` +1 or -1: term ``t`` reads ``sign * (-1)**popcount(outcome & zmask)``.
    """

    gates: list[Gate]
    terms: np.ndarray
    zmask: np.ndarray
    sign: np.ndarray

    def values(self, outcomes: np.ndarray) -> np.ndarray:
        """``(S, k)`` ±1 values of the measured terms for outcome indices ``(S,)``."""
        parity = np.bitwise_count(np.asarray(outcomes)[:, None] & self.zmask[None, :]) & 1
        return self.sign * (1.0 - 2.0 * parity)

    def circuit(self, n_qubits: int):
        """The basis change as a :class:`hybridq.circuits.Circuit` (append it, then measure Z)."""
        from ..circuits import Circuit

        out = Circuit(n_qubits)
        for name, qubits in self.gates:
            out.add(name, list(qubits))
        return out

    def rotate(self, state: torch.Tensor) -> torch.Tensor:
        """``U |psi>`` for a ``(1, 2**n)`` state."""
        from .. import sim

        for name, qubits in self.gates:
            state = sim.apply_gate(state, name, list(qubits))
        return state


def _xz(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (codes == X) | (codes == Y), (codes == Y) | (codes == Z)


def commuting_groups(terms: PauliTerms) -> list[np.ndarray]:
    """Sorted insertion into groups of pairwise commuting terms: member indices per group."""
    x, z = _xz(terms.codes)
    group_of = np.full(len(terms), -1)
    n_groups = 0
    for t in np.argsort(-np.abs(terms.coeffs), kind="stable"):
        clash = ~commuting(x, z, x[t], z[t]) & (group_of >= 0)
        blocked = np.zeros(n_groups + 1, dtype=bool)
        blocked[group_of[clash]] = True
        group_of[t] = int(np.argmin(blocked))  # the first group without a clash (a new one if none)
        n_groups = max(n_groups, group_of[t] + 1)
    return [np.flatnonzero(group_of == g) for g in range(n_groups)]


def clifford_group(terms: PauliTerms, members: np.ndarray) -> CliffordGroup:
    """The setting that diagonalises ``members`` and every other term its circuit maps to Z."""
    x, z = _xz(terms.codes)
    gates = diagonalising_gates(x[members], z[members])
    cx, cz, sign = conjugate(x, z, np.zeros(len(terms), dtype=bool), gates)
    measured = np.flatnonzero(~cx.any(axis=1))
    zmask, _ = pack_codes(np.where(cz[measured], np.uint8(X), np.uint8(0)))
    return CliffordGroup(gates, measured, zmask.astype(mask_dtype(terms.n_qubits)),
                         np.where(sign[measured], -1.0, 1.0))


def basis_state_covariance(terms: PauliTerms, t: np.ndarray, bits: int) -> np.ndarray:
    """Covariance ``<QR> - <Q><R>`` of the commuting terms ``t`` (indices) in the basis state
    ``|bits>``.

    For commuting ``Q, R`` with equal X masks ``QR = i**(3|x & z_Q| + |x & z_R|) Z**(z_Q ^ z_R)``
    (diagonal); otherwise ``<QR> = 0`` in a basis state.
    """
    x, z = terms.x[t].astype(np.int64), terms.z[t].astype(np.int64)
    b = np.int64(bits)
    same_x = x[:, None] == x[None, :]
    power = (3 * np.bitwise_count(x & z)[:, None] + np.bitwise_count(x & z)[None, :]) % 4
    flips = np.bitwise_count(b & (z[:, None] ^ z[None, :])) & 1
    second = np.where(same_x, (1.0 - power) * (1.0 - 2.0 * flips), 0.0)  # power is 0 or 2 here
    first = np.where(x == 0, 1.0 - 2.0 * (np.bitwise_count(b & z) & 1), 0.0)
    return second - np.outer(first, first)


def lowest_diagonal_state(terms: PauliTerms) -> int:
    """The basis state minimising the diagonal (Z-only) part of the Hamiltonian."""
    diagonal = terms.x == 0
    states = np.arange(1 << terms.n_qubits, dtype=np.int64)
    energy = np.zeros(len(states))
    for z, a in zip(terms.z[diagonal].astype(np.int64), terms.coeffs[diagonal]):
        energy += a * (1.0 - 2.0 * (np.bitwise_count(states & z) & 1))
    return int(np.argmin(energy))


def optimise_split(coeffs: np.ndarray, groups: list[CliffordGroup], covariances: list[np.ndarray], *,
                   iterations: int, rtol: float) -> tuple[list[np.ndarray], np.ndarray, float]:
    """Coefficient split ``c_g`` and shot fractions ``f`` minimising ``sum_g c_g^T S_g c_g / f_g``
    subject to ``sum_g c_g = a`` (see the module docstring); returns ``(c, f, Var_1)``."""
    from scipy.linalg import cho_factor, cho_solve

    inverses = [np.linalg.inv(s) for s in covariances]  # model covariances are positive definite
    f = np.full(len(groups), 1 / len(groups))
    best = np.inf
    for _ in range(iterations):
        gram = np.zeros((len(coeffs), len(coeffs)))
        for k, (g, inv) in enumerate(zip(groups, inverses)):
            gram[np.ix_(g.terms, g.terms)] += f[k] * inv
        lam = cho_solve(cho_factor(gram), coeffs)
        split = [f[k] * inv @ lam[g.terms] for k, (g, inv) in enumerate(zip(groups, inverses))]
        spread = np.sqrt(np.maximum([c @ s @ c for c, s in zip(split, covariances)], 0.0))
        variance = float(np.sum(spread**2 / f))
        f = np.maximum(spread, 1e-12 * spread.max()) / spread.sum()
        if best - variance <= rtol * variance:
            break
        best = variance
    return split, f, spread.sum() ** 2


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """``out[b] = sum_m values[m] (-1)**popcount(b & m)`` for a vector of length ``2**n``."""
    out = np.array(values, dtype=float)
    n = out.size.bit_length() - 1
    for q in range(n):
        v = out.reshape(-1, 2, 1 << q)
        out = np.concatenate([v[:, 0] + v[:, 1], v[:, 0] - v[:, 1]], axis=1).reshape(-1)
    return out


class CliffordGrouping(SettingEstimator):
    """Overlapping commuting groups, Clifford basis changes, optimised split and allocation.

    Settings are groups, not Pauli bases (a :class:`~hybridq.estimators.base.SettingEstimator`):
    :meth:`settings` gives each shot's group, :meth:`~CliffordGroup.circuit` each group's basis
    change, and :meth:`~hybridq.estimators.base.SettingEstimator.run` measures them (on the local
    simulator, or on a backend by appending the circuit to a state-preparing
    :class:`~hybridq.circuits.Circuit`).

    Args:
        hamiltonian: the Hamiltonian.
        reference: keyword-only; the cheap reference state whose covariances drive the fit: a
            basis-state index or bitstring (qubit 0 first, e.g. the Hartree-Fock determinant).
            Defaults to the basis state of lowest diagonal energy.
        shrinkage: keyword-only; weight of the identity in the model covariance. Defaults to 0.03.
        iterations: keyword-only; cap on the split/allocation alternations (each lowers the
            model variance; the first ten give nearly all of the gain). Defaults to 12.
        rtol: keyword-only; stop when the model variance falls by less than this. Defaults to 1e-3.

    Attributes:
        groups: the :class:`CliffordGroup` settings (after :meth:`~hybridq.estimators.base.Estimator.fit`).
        split: per group, the coefficients ``c_g`` of its measured terms.
        fractions: ``(G,)`` share of the shots of each group.
        model_variance: ``Var_1`` predicted by the model covariance.
    """

    def __init__(self, hamiltonian, *, reference: int | str | None = None, shrinkage: float = 0.03,
                 iterations: int = 12, rtol: float = 1e-3) -> None:
        super().__init__(hamiltonian)
        if isinstance(reference, str):
            if len(reference) != self.n_qubits or set(reference) - {"0", "1"}:
                raise ShapeError(f"reference bitstring must have {self.n_qubits} characters 0/1, got {reference!r}")
            reference = int(reference, 2)
        if reference is not None and not 0 <= int(reference) < 1 << self.n_qubits:
            raise ShapeError(f"reference index must lie in [0, 2**{self.n_qubits}), got {reference}")
        if not 0 < shrinkage <= 1:
            raise ValueError(f"shrinkage must lie in (0, 1], got {shrinkage}")
        self.reference = None if reference is None else int(reference)
        self.shrinkage, self.iterations, self.rtol = float(shrinkage), int(iterations), float(rtol)
        self.groups: list[CliffordGroup] = []
        self.split: list[np.ndarray] = []
        self.fractions = np.ones(0)
        self.model_variance = float("nan")
        self._laws: tuple[bytes | None, list[np.ndarray]] = (None, [])

    def _fit(self) -> None:
        bits = lowest_diagonal_state(self.terms) if self.reference is None else self.reference
        self.groups = [clifford_group(self.terms, m) for m in commuting_groups(self.terms)]
        lam = self.shrinkage
        model = [(1 - lam) * basis_state_covariance(self.terms, g.terms, bits) + lam * np.eye(len(g.terms))
                 for g in self.groups]
        self._laws = (None, [])
        self.split, self.fractions, self.model_variance = optimise_split(
            self.terms.coeffs, self.groups, model, iterations=self.iterations, rtol=self.rtol)

    def settings(self, shots: int) -> np.ndarray:
        """Group index of each shot ``(shots,)``: ``shots * fractions`` rounded, in group order."""
        self.ensure_fitted()
        return np.repeat(np.arange(len(self.groups)), allocate(int(shots), self.fractions))

    def coverage(self, codes: np.ndarray) -> np.ndarray:
        """Fraction of the shots whose setting measures each string ``codes`` ``(M, n)``."""
        self.ensure_fitted()
        x, z = _xz(np.asarray(codes))
        out = np.zeros(len(x))
        for f, g in zip(self.fractions, self.groups):
            cx, _, _ = conjugate(x, z, np.zeros(len(x), dtype=bool), g.gates)
            out += f * ~cx.any(axis=1)
        return out

    def estimate(self, settings, outcomes, counts=None) -> EstimateResult:
        """Estimate ``<H>`` from each shot's group ``settings`` ``(S,)`` and outcome indices
        ``(S,)`` of ``U_g |psi>`` in Z (qubit 0 the top bit); ``counts`` ``(S,)`` repeats rows.

        Raises:
            ShapeError: the arrays disagree in length, or a group has no shot.
        """
        self.ensure_fitted()
        settings, outcomes = np.asarray(settings, dtype=np.int64), np.asarray(outcomes, dtype=np.int64)
        counts = np.ones(len(settings)) if counts is None else np.asarray(counts, dtype=float)
        if settings.ndim != 1 or outcomes.shape != settings.shape or counts.shape != settings.shape:
            raise ShapeError(f"settings, outcomes and counts must be 1-D of one length, got {settings.shape}, "
                             f"{outcomes.shape}, {counts.shape}")
        value, spread, total = self.terms.offset, 0.0, int(counts.sum())
        for k, g in enumerate(self.groups):
            rows = settings == k
            m = counts[rows].sum()
            if m == 0:
                raise ShapeError(f"group {k} has no shot; measure at least {len(self.groups)} shots (settings())")
            y = g.values(outcomes[rows]) @ self.split[k]
            mean = counts[rows] @ y / m
            value += mean
            spread += counts[rows] @ (y - mean) ** 2 / max(m - 1, 1) / m
        return EstimateResult(float(value), float(np.sqrt(spread)), total, self.name)

    def variance(self, state) -> float:
        """Exact single-shot variance ``sum_g Var(y_g) / f_g`` on ``state``."""
        self.ensure_fitted()
        total = 0.0
        for f, g, c, cdf in zip(self.fractions, self.groups, self.split, self._outcome_laws(state)):
            p = np.diff(cdf, prepend=0.0)
            weights = np.zeros(len(p))
            np.add.at(weights, g.zmask.astype(np.int64), c * g.sign)
            y = walsh_hadamard(weights)
            total += (p @ y**2 - (p @ y) ** 2) / f
        return float(total)

    def _outcome_laws(self, state) -> list[np.ndarray]:
        """Cumulative outcome probabilities of each group's rotated state (the last state's
        are kept)."""
        psi = as_state(state, self.n_qubits)
        key = hashlib.blake2b(psi.numpy().tobytes(), digest_size=16).digest()
        if self._laws[0] != key:
            self._laws = (key, [np.cumsum(g.rotate(psi)[0].abs().square().numpy()) for g in self.groups])
        return self._laws[1]

    def measure(self, state, shots: int, *, backend="local", seed: Seed = None):
        """Measure every group's share of ``shots``: ``(settings, outcomes, counts)`` for
        :meth:`estimate` (distinct rows with their counts on the local simulator).

        Args:
            state: a state vector, or a :class:`~hybridq.circuits.Circuit` preparing it.
            shots: number of shots (at least one per group).
            backend: ``"local"`` (exact sampling of the rotated state; memory independent of the
                shots) or a backend / backend name (the group's circuit is appended to the
                state's circuit and measured in Z).
            seed: seed of the outcomes.

        Raises:
            ShapeError: a state vector handed to a backend (it needs a circuit).
        """
        from ..circuits import Circuit

        self.ensure_fitted()
        per_group = allocate(int(shots), self.fractions)
        rng = as_rng(seed)
        rows = []
        if isinstance(backend, str) and backend == "local":
            if isinstance(state, Circuit):
                from ..circuits import simulate

                state = simulate(state, dtype=torch.complex128)
            for k, (m, cdf) in enumerate(zip(per_group, self._outcome_laws(state))):
                if m < len(cdf):  # few shots: draw them (m log K); many: one multinomial (K)
                    seen, hist = np.unique(np.searchsorted(cdf, rng.random(int(m)) * cdf[-1], side="right"),
                                           return_counts=True)
                else:
                    hist = rng.multinomial(int(m), np.diff(cdf, prepend=0.0) / cdf[-1])
                    seen = np.flatnonzero(hist)
                    hist = hist[seen]
                rows.append((np.full(len(seen), k), seen, hist))
        else:
            from ..backends import get_backend

            device = backend if hasattr(backend, "measure_bases") else get_backend(backend)
            if not isinstance(state, Circuit):
                raise ShapeError("a backend measures circuits: pass the state as a Circuit that prepares it")
            z_bases = np.full((1, self.n_qubits), Z, dtype=np.uint8)
            for k, (g, m) in enumerate(zip(self.groups, per_group)):
                pm = device.measure_bases(state.compose(g.circuit(self.n_qubits)), np.repeat(z_bases, m, axis=0),
                                          seed=int(rng.integers(2**31)))
                index = bits_to_index((1 - pm) // 2)
                rows.append((np.full(len(index), k), index, np.ones(len(index), dtype=np.int64)))
        settings, outcomes, counts = (np.concatenate(part) for part in zip(*rows))
        return settings, outcomes, counts
