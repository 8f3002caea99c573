"""Exact single-shot variances of Pauli-basis estimators on a given state.

With ``H = offset + sum_Q a_Q Q`` and a basis distribution whose probability of covering a
string ``S`` is ``cov(S)``, two estimators are used:

* importance weighting (random bases, ``cov = zeta``): one shot gives
  ``nu = sum_{Q covered} a_Q mu_Q / zeta(Q)`` and
  ``Var_1 = sum_{Q,R compatible} a_Q a_R zeta(Q v R) / (zeta(Q) zeta(R)) <QR> - (E - offset)**2``;
* hit-count ratios (schedules, ``cov = chi``, the fraction of shots covering ``S``):
  ``E = offset + sum_Q a_Q mean(mu_Q over covering shots)`` and ``N Var(E) =``
  ``sum_{Q,R compatible} a_Q a_R chi(Q v R) / (chi(Q) chi(R)) (<QR> - <Q><R>)``.

``Q v R`` is the merged string and ``QR`` the product (a Pauli string with sign +1 for
qubit-wise compatible pairs). The pair table is computed once per Hamiltonian; ``<QR>`` once
per (Hamiltonian, state) through :func:`hybridq.sim.expval_terms` (cached), so several methods
on one state share that cost.

>>> import numpy as np, torch
>>> from hybridq.estimators.terms import PauliTerms, Z
>>> t = PauliTerms.from_codes(np.array([[Z]]), np.array([1.0]))
>>> psi = torch.tensor([[1, 1]], dtype=torch.complex128) / 2 ** 0.5
>>> importance_variance(t, lambda codes: np.ones(len(codes)), psi)
1.0
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch

from .terms import I, PauliTerms

Coverage = Callable[[np.ndarray], np.ndarray]
SPARSE_SUPPORT = 2048  # states with at most this many nonzero amplitudes skip vanishing <QR>


@dataclass(frozen=True)
class PairTable:
    """All qubit-wise compatible term pairs ``i <= j`` of a Hamiltonian.

    Attributes:
        i, j: ``(P,)`` term indices.
        multiplicity: ``(P,)`` 1 for ``i == j``, 2 otherwise.
        merged: ``(M, n)`` codes of the distinct merged strings; ``merged_index`` ``(P,)``.
        product: ``(K, n)`` codes of the distinct products; ``product_index`` ``(P,)``.
    """

    i: np.ndarray
    j: np.ndarray
    multiplicity: np.ndarray
    merged: np.ndarray
    merged_index: np.ndarray
    product: np.ndarray
    product_index: np.ndarray


_CACHE_SIZE = 8
_PAIRS: OrderedDict = OrderedDict()  # terms.key -> PairTable
_EXPECTATIONS: OrderedDict = OrderedDict()  # (terms.key, state digest) -> expectations


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


def pair_table(terms: PauliTerms) -> PairTable:
    """The compatible pairs of ``terms`` (cached by content)."""
    if terms.key in _PAIRS:
        _PAIRS.move_to_end(terms.key)
        return _PAIRS[terms.key]
    ii, jj = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    x, z, s = terms.x, terms.z, terms.support
    step = max(1, (1 << 22) // max(len(terms), 1))
    for start in range(0, len(terms), step):
        rows = slice(start, start + step)
        clash = ((x[rows, None] ^ x) | (z[rows, None] ^ z)) & s[rows, None] & s
        a, b = np.nonzero(clash == 0)
        a += start
        keep = a <= b
        ii.append(a[keep])
        jj.append(b[keep])
    i, j = np.concatenate(ii), np.concatenate(jj)
    qi, qj = terms.codes[i], terms.codes[j]
    merged, merged_index = np.unique(np.maximum(qi, qj), axis=0, return_inverse=True)
    product_codes = np.where(qi == qj, np.uint8(I), qi | qj)
    product, product_index = np.unique(product_codes, axis=0, return_inverse=True)
    table = PairTable(i, j, np.where(i == j, 1.0, 2.0), merged, merged_index.reshape(-1), product,
                      product_index.reshape(-1))
    return _remember(_PAIRS, terms.key, table)


def as_state(state, n_qubits: int) -> torch.Tensor:
    """A state vector ``(2**n,)`` or ``(1, 2**n)`` (torch or numpy) as a ``(1, 2**n)``
    complex128 tensor.

    Raises:
        ShapeError: the state is not a single vector on ``n_qubits`` qubits.
    """
    from ..errors import ShapeError

    from ..checks import check_finite

    try:
        t = state.detach() if isinstance(state, torch.Tensor) else torch.as_tensor(np.asarray(state))
    except (TypeError, ValueError, RuntimeError) as error:
        raise ShapeError(f"a state must be a tensor or an array of numbers; got {type(state).__name__}: {error}") from None
    check_finite(t, "the state")
    if t.dim() == 1:
        t = t.unsqueeze(0)
    if t.dim() != 2 or t.shape[0] != 1 or t.shape[1] != 1 << n_qubits:
        raise ShapeError(
            f"the Hamiltonian acts on {n_qubits} qubits, so the state must have shape "
            f"({1 << n_qubits},) or (1, {1 << n_qubits}); got {tuple(t.shape)}"
        )
    return t.to(torch.complex128)


def string_expectations(codes: np.ndarray, state: torch.Tensor) -> np.ndarray:
    """``<psi|S|psi>`` for each Pauli string ``codes`` ``(K, n)``: float64 ``(K,)``.

    Strings whose flip mask cannot connect two amplitudes of a sparse state are set to 0
    without computing them (Hartree-Fock states need only the diagonal strings).
    """
    from ..sim import expval_terms
    from ..qubit_order import bits_to_index

    xb = (codes == 1) | (codes == 2)
    zb = (codes == 2) | (codes == 3)
    out = np.zeros(len(codes))
    todo = np.ones(len(codes), dtype=bool)
    support = torch.nonzero(state[0].abs() > 0).reshape(-1).numpy()
    if len(support) <= SPARSE_SUPPORT:
        reachable = np.unique(support[:, None] ^ support[None, :])
        todo = np.isin(bits_to_index(xb), reachable)
    if todo.any():
        op = SimpleNamespace(n_qubits=codes.shape[1], x=xb[todo], z=zb[todo], coeffs=np.ones(int(todo.sum())))
        out[todo] = expval_terms(state, op)[0].numpy()
    return out


def _cached_expectations(terms: PauliTerms, state: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(<Q>`` per term, ``<QR>`` per distinct product) on ``state``, cached."""
    digest = hashlib.blake2b(state.numpy().tobytes(), digest_size=16).hexdigest()
    key = (terms.key, digest)
    if key in _EXPECTATIONS:
        _EXPECTATIONS.move_to_end(key)
        return _EXPECTATIONS[key]
    table = pair_table(terms)
    value = (string_expectations(terms.codes, state), string_expectations(table.product, state))
    return _remember(_EXPECTATIONS, key, value)


def exact_value(terms: PauliTerms, state) -> float:
    """Exact ``<psi|H|psi>`` (offset included)."""
    psi = as_state(state, terms.n_qubits)
    singles, _ = _cached_expectations(terms, psi)
    return float(terms.offset + singles @ terms.coeffs)


def importance_variance(terms: PauliTerms, coverage: Coverage, state) -> float:
    """Single-shot variance of the importance-weighted estimator with covering law ``coverage``."""
    psi = as_state(state, terms.n_qubits)
    table = pair_table(terms)
    singles, products = _cached_expectations(terms, psi)
    zeta = coverage(terms.codes)
    joint = coverage(table.merged)[table.merged_index]
    a = terms.coeffs / zeta
    second = np.sum(table.multiplicity * a[table.i] * a[table.j] * joint * products[table.product_index])
    return float(second - (singles @ terms.coeffs) ** 2)


def ratio_variance(terms: PauliTerms, coverage: Coverage, state) -> float:
    """``shots * Var(E)`` of the hit-count ratio estimator for covering fractions ``coverage``.

    Terms that no basis covers (fraction 0) are left out: the estimator is then biased by
    their contribution, reported separately by the estimators.
    """
    psi = as_state(state, terms.n_qubits)
    table = pair_table(terms)
    singles, products = _cached_expectations(terms, psi)
    chi = coverage(terms.codes)
    a = np.divide(terms.coeffs, chi, out=np.zeros(len(chi)), where=chi > 0)
    joint = coverage(table.merged)[table.merged_index]
    cov = products[table.product_index] - singles[table.i] * singles[table.j]
    return float(np.sum(table.multiplicity * a[table.i] * a[table.j] * joint * cov))
