"""Pauli-basis measurement: the one call through which estimators reach every backend.

A measurement takes distinct bases ``(K, n)`` (codes X=1, Y=2, Z=3, qubit 0 first) with a shot
count for each and returns :class:`~hybridq.estimators.postprocess.Shots` rows ``(basis,
outcome, count)``: memory follows the distinct rows, never the shot count.
:func:`measurement` picks the implementation for a ``backend`` argument once per run.

On the simulator (:func:`sample_counts`) the qubits are measured one after the other, the
state collapsing on each outcome: measuring qubit ``k`` of a node state ``(a, b)`` (its halves
for qubit ``k`` = 0 and 1) in a basis with eigenvectors ``v_s`` leaves ``conj(v_s0) a +
conj(v_s1) b``. Bases that share their first letters share the collapsed states of those
letters, so a tree of (letter, outcome) prefixes is built level by level (at most ``6**k``
nodes of ``2**(n - k)`` amplitudes at level ``k``), and the shots of a node split between
its two outcomes by one binomial draw. 10^6 random bases on 14 qubits cost about as much as
a few hundred full-state rotations. The tree is walked in pieces of at most ``BUDGET``
amplitudes and about ``UNITS`` units.

>>> import torch
>>> plus = torch.tensor([1, 1], dtype=torch.complex64) / 2 ** 0.5
>>> measure_bases(plus, [[1], [1]], torch.Generator().manual_seed(0)).tolist()
[0, 0]
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..errors import ShapeError
from .postprocess import Shots, basis_groups
from .terms import check_bases, pack_codes

#: Amplitudes held by one piece of the measurement tree (complex128: 16 MiB).
BUDGET = 1 << 20
#: (basis, outcome-so-far) units handled by one piece, about.
UNITS = 1 << 20

#: ``(bases (K, n), counts (K,), rng) -> Shots``: the measurement call of a run.
Measurement = Callable[[np.ndarray, np.ndarray, np.random.Generator], Shots]


def _as_vector(state) -> torch.Tensor:
    t = state.detach() if isinstance(state, torch.Tensor) else torch.as_tensor(np.asarray(state))
    t = t.reshape(1, -1) if t.dim() == 1 else t
    if t.dim() != 2 or t.shape[0] != 1 or t.shape[1] < 2 or t.shape[1] & (t.shape[1] - 1):
        raise ShapeError(f"state must have shape (2**n,) or (1, 2**n), got {tuple(t.shape)}")
    return t.cpu().to(torch.complex128)


def sample_counts(state, bases, counts, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Measure ``counts[k]`` copies of ``state`` in basis ``bases[k]``.

    Args:
        state: a state vector ``(2**n,)`` or ``(1, 2**n)`` (torch or numpy).
        bases: ``(K, n)`` codes in {1, 2, 3}, qubit 0 first.
        counts: ``(K,)`` shots per basis.
        rng: numpy generator of the outcomes.

    Returns:
        ``(rows, outcomes, counts)``: basis row, outcome index (qubit 0 the most significant
        bit; bit 0 is eigenvalue +1) and number of shots, one entry per distinct pair seen.

    >>> rows, outcomes, found = sample_counts(np.array([0, 1.0]), [[3]], [5], np.random.default_rng(0))
    >>> rows.tolist(), outcomes.tolist(), found.tolist()
    ([0], [1], [5])
    """
    psi = _as_vector(state)
    n = int(psi.shape[1]).bit_length() - 1
    bases = check_bases(bases, n)
    counts = np.asarray(counts, dtype=np.int64).reshape(-1)
    if counts.shape != (len(bases),) or (counts.size and counts.min() < 0):
        raise ShapeError(f"counts must be {len(bases)} non-negative integers (one per basis), got shape {counts.shape}")
    psi = psi.numpy().astype(np.complex128)
    live = np.flatnonzero(counts)
    zeros = np.zeros(len(live), dtype=np.int64)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    _descend(psi, zeros, live, zeros, counts[live], 0, bases, rng, found)
    if not found:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    return tuple(np.concatenate(parts) for parts in zip(*found))


def _descend(states: np.ndarray, node, row, outcome, count, level: int, bases: np.ndarray,
             rng: np.random.Generator, found: list) -> None:
    """Measure qubit ``level`` of each unit (node state, basis row, outcome so far, shots) and recurse.

    Node states are kept unnormalised (a collapse only drops the factor ``1 / sqrt(p)``)."""
    half = states.shape[1] // 2
    a, b = states[:, :half], states[:, half:]
    r00 = np.vecdot(a, a).real
    total = r00 + np.vecdot(b, b).real
    r01 = np.vecdot(b, a)  # sum_j a_j conj(b_j)
    # P(outcome 0) for X, Y, Z: 1/2 + Re rho01, 1/2 - Im rho01, rho00 (rho of the node's qubit)
    p0 = np.stack([0.5 * total + r01.real, 0.5 * total - r01.imag, r00], 1) / total[:, None]
    code = bases[row, level].astype(np.int64) - 1
    c0 = rng.binomial(count, p0[node, code].clip(0.0, 1.0))
    node, code, row = np.concatenate([node, node]), np.concatenate([code, code]), np.concatenate([row, row])
    bit = np.repeat(np.array([0, 1]), len(c0))
    outcome = np.concatenate([2 * outcome, 2 * outcome + 1])
    count = np.concatenate([c0, count - c0])
    keep = count > 0
    node, code, row, bit, outcome, count = node[keep], code[keep], row[keep], bit[keep], outcome[keep], count[keep]
    if level == bases.shape[1] - 1:
        found.append((row, outcome, count))
        return
    key = (node * 3 + code) * 2 + bit
    present = np.zeros(6 * len(states), dtype=bool)
    present[key] = True
    children = np.flatnonzero(present)
    child = (np.cumsum(present) - 1)[key]
    step = max(1, BUDGET // half)
    if len(children) <= step and len(child) <= UNITS:
        _descend(_collapse(a, b, children), child, row, outcome, count, level + 1, bases, rng, found)
        return
    order = np.argsort(child, kind="stable")
    bounds = np.searchsorted(child[order], np.arange(0, len(children) + 1))
    # pieces of consecutive children, each within BUDGET amplitudes and about UNITS units
    piece = np.arange(len(children)) // step + bounds[:-1] // UNITS
    edges = np.concatenate([[0], np.flatnonzero(np.diff(piece)) + 1, [len(children)]])
    for first, last in zip(edges[:-1], edges[1:]):
        units = order[bounds[first]:bounds[last]]
        _descend(_collapse(a, b, children[first:last]), child[units] - first, row[units], outcome[units],
                 count[units], level + 1, bases, rng, found)


def _collapse(a: np.ndarray, b: np.ndarray, children: np.ndarray) -> np.ndarray:
    """States after the measurements ``children`` (``(parent * 3 + code - 1) * 2 + outcome``), unnormalised:
    ``a +- b`` (X), ``a -+ i b`` (Y), ``a`` or ``b`` (Z)."""
    out = np.empty((len(children), a.shape[1]), dtype=a.dtype)
    parent, kind = children // 6, children % 6
    for k in range(6):
        rows = np.flatnonzero(kind == k)
        if not len(rows):
            continue
        pa, pb = a[parent[rows]], b[parent[rows]]
        if k == 0:
            out[rows] = pa + pb
        elif k == 1:
            out[rows] = pa - pb
        elif k in (2, 3):  # a - i b, a + i b
            sign = 1.0 if k == 2 else -1.0
            res = np.empty_like(pa)
            res.real, res.imag = pa.real + sign * pb.imag, pa.imag - sign * pb.real
            out[rows] = res
        else:
            out[rows] = pa if k == 4 else pb
    return out


def distinct_bases(bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``bases`` ``(S, n)`` and how often each occurs.

    >>> b, c = distinct_bases(np.array([[3, 1], [1, 1], [3, 1]], dtype=np.uint8))
    >>> b.tolist(), c.tolist()
    ([[3, 1], [1, 1]], [2, 1])
    """
    bases = np.asarray(bases, dtype=np.uint8)
    first, inverse = basis_groups(*pack_codes(bases), bases.shape[1])
    return bases[first], np.bincount(inverse, minlength=len(first))


def measure_bases(state, bases, generator: torch.Generator | None = None) -> np.ndarray:
    """Measure one copy of ``state`` per row of ``bases``: int64 outcome indices ``(S,)``.

    Args:
        state: a state vector ``(2**n,)`` or ``(1, 2**n)`` (torch or numpy).
        bases: ``(S, n)`` codes in {1, 2, 3} (X, Y, Z), qubit 0 first.
        generator: torch generator whose seed seeds the samples (fixed seed -> identical outcomes).

    Returns:
        Outcome indices with qubit 0 as the most significant bit; bit 0 means eigenvalue +1
        of the measured Pauli. Shots of one basis come in random order.

    Raises:
        ShapeError: the state is not a vector, or the bases do not match its qubit count.
    """
    psi = _as_vector(state)
    n = int(psi.shape[1]).bit_length() - 1
    bases = check_bases(bases, n)
    first, inverse = basis_groups(*pack_codes(bases), n)
    seed = int(torch.randint(2**62, (1,), generator=generator)) if generator is not None else None
    rng = np.random.default_rng(seed)
    rows, outcomes, counts = sample_counts(psi, bases[first], np.bincount(inverse, minlength=len(first)), rng)
    by_row = np.argsort(rows, kind="stable")
    out = np.empty(len(bases), dtype=np.int64)
    out[np.lexsort((rng.random(len(bases)), inverse))] = np.repeat(outcomes[by_row], counts[by_row])
    return out


def _rows(bases: np.ndarray, rows: np.ndarray, outcomes: np.ndarray, counts: np.ndarray) -> Shots:
    x, z = pack_codes(bases)
    return Shots(x[rows], z[rows], outcomes.astype(x.dtype), np.asarray(counts, dtype=np.int64))


def measurement(backend, state, n_qubits: int) -> Measurement:
    """The measurement call of ``backend`` for ``state`` (see :meth:`~hybridq.estimators.base.Estimator.run`).

    Args:
        backend: ``"local"`` (:func:`sample_counts` on the state, a circuit simulated once), a
            :class:`~hybridq.backends.Backend` or backend name (its
            :meth:`~hybridq.backends.base.Backend.measure_counts`), or a function
            ``(state, bases, generator) -> outcomes`` measuring one shot per row.
        state: a state vector or a bound circuit.
        n_qubits: the Hamiltonian's qubit count.
    """
    if isinstance(backend, str) and backend == "local":
        from ..circuits import Circuit, simulate

        psi = simulate(state, dtype=torch.complex128) if isinstance(state, Circuit) else state

        def local(bases, counts, rng):
            return _rows(bases, *sample_counts(psi, bases, counts, rng))

        return local
    if callable(backend) and not hasattr(backend, "measure_counts"):

        def per_shot(bases, counts, rng):
            generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
            rows = np.repeat(np.arange(len(bases)), counts)
            return Shots.from_arrays(bases[rows], backend(state, bases[rows], generator))

        return per_shot
    if isinstance(backend, str):
        from ..backends import get_backend

        backend = get_backend(backend)

    def remote(bases, counts, rng):
        return _rows(bases, *backend.measure_counts(state, bases, counts, seed=int(rng.integers(2**62))))

    return remote
