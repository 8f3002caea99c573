"""Vectorised post-processing of Pauli-basis shots against Hamiltonian terms.

A shot is a basis (codes, packed into masks ``bx``, ``bz``) and an outcome index ``b`` (qubit 0
is the most significant bit). A term ``Q`` is covered by the basis iff
``((xQ ^ bx) | (zQ ^ bz)) & sQ == 0`` and then its outcome is ``(-1)**popcount(b & sQ)``.
Identical (basis, outcome) shots are merged (with counts); the rows are processed in chunks of about ``CHUNK_ELEMENTS`` shot x term pairs, so memory stays bounded
(tens of MB) whatever the number of shots; only the covered pairs are materialised.

>>> import numpy as np
>>> from hybridq.estimators.terms import PauliTerms, Z
>>> terms = PauliTerms.from_codes(np.array([[Z, Z]]), np.array([1.0]))
>>> shots = Shots.from_arrays(np.array([[Z, Z], [Z, Z]]), np.array([0, 1]))
>>> shot_sums(terms, shots, np.ones(1))[0].tolist()
[1.0, -1.0]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import ShapeError
from ..qubit_order import bits_to_index
from .terms import PauliTerms, check_bases, mask_dtype, pack_codes

CHUNK_ELEMENTS = 1 << 21


def check_outcomes(outcomes, shots: int, n_qubits: int) -> np.ndarray:
    """Outcomes as int64 basis indices ``(S,)``; accepts indices ``(S,)`` or bits ``(S, n)``.

    Raises:
        ShapeError: the number of outcomes differs from the number of bases, or values are
            out of range.
    """
    arr = np.asarray(outcomes.detach().cpu() if hasattr(outcomes, "detach") else outcomes)
    if arr.ndim == 2 and arr.shape[1] == n_qubits and arr.shape[0] == shots:
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ShapeError("outcome bits must be 0 or 1")
        arr = bits_to_index(arr)
    if arr.ndim != 1 or arr.shape[0] != shots:
        raise ShapeError(
            f"outcomes must have shape ({shots},) (basis indices) or ({shots}, {n_qubits}) (bits) "
            f"to match {shots} bases, got {arr.shape}"
        )
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= 1 << n_qubits):
        raise ShapeError(f"outcome indices must lie in [0, 2**{n_qubits}), got values in [{arr.min()}, {arr.max()}]")
    return arr


@dataclass(frozen=True)
class Shots:
    """Shots as ``(basis, outcome)`` rows with counts.

    Attributes:
        x, z, outcome: ``(U,)`` integer masks of each row.
        counts: ``(U,)`` number of shots in each row.
    """

    x: np.ndarray
    z: np.ndarray
    outcome: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_arrays(cls, bases, outcomes) -> Shots:
        """Validate and merge ``bases`` ``(S, n)`` codes with their ``outcomes`` (one row per
        distinct pair)."""
        bases = np.asarray(bases)
        n = bases.shape[1] if bases.ndim == 2 else -1
        bases = check_bases(bases, n)
        outcomes = check_outcomes(outcomes, len(bases), n)
        x, z = pack_codes(bases)
        return cls(x, z, outcomes.astype(x.dtype), np.ones(len(x), dtype=np.int64)).merged(n)

    def merged(self, n_qubits: int) -> Shots:
        """The same shots with identical rows merged (when ``3 n <= 63``: one sort of a key per row)."""
        if 3 * n_qubits > 63:
            return self
        key = (self.x.astype(np.uint64) << np.uint64(2 * n_qubits)) | (self.z.astype(np.uint64) << np.uint64(n_qubits))
        key |= self.outcome.astype(np.uint64)
        uniq, inverse = np.unique(key, return_inverse=True)
        low, dt = np.uint64((1 << n_qubits) - 1), self.x.dtype
        return Shots((uniq >> np.uint64(2 * n_qubits)).astype(dt), ((uniq >> np.uint64(n_qubits)) & low).astype(dt),
                     (uniq & low).astype(dt), np.bincount(inverse.reshape(-1), weights=self.counts,
                                                          minlength=len(uniq)).astype(np.int64))

    @classmethod
    def concat(cls, parts: list[Shots], n_qubits: int) -> Shots:
        """All rows of ``parts``, identical rows merged."""
        if len(parts) == 1:
            return parts[0]
        columns = zip(*((p.x, p.z, p.outcome, p.counts) for p in parts))
        return cls(*(np.concatenate(c) for c in columns)).merged(n_qubits)

    @property
    def total(self) -> int:
        """Number of shots."""
        return int(self.counts.sum())


def basis_groups(x: np.ndarray, z: np.ndarray, n_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """Group bases given by masks ``(x, z)``: index of the first row of each distinct basis and
    the group of every row (sorting one integer key per row when ``2 n <= 64``)."""
    if 2 * n_qubits <= 64:
        key = (x.astype(np.uint64) << np.uint64(n_qubits)) | z.astype(np.uint64)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(np.stack([x, z], axis=1), axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def covered_pairs(terms: PauliTerms, shots: Shots) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(chunk, rows, cols, signs)`` per chunk of rows: the covered (row, term) pairs.

    ``rows`` are relative to ``chunk.start``; ``signs`` are the ±1 outcomes ``mu(P, Q)`` as float64.
    """
    n_terms, n = len(terms), terms.n_qubits
    step = max(1, CHUNK_ELEMENTS // max(n_terms, 1))
    ts = terms.support
    # covered iff (basis & support) == term, on x and z at once: one key of 2n bits per string
    wide = mask_dtype(2 * n) if 2 * n <= 64 else None
    if wide is not None:
        shift = wide(n)
        term_key = (terms.x.astype(wide) << shift) | terms.z.astype(wide)
        term_mask = (ts.astype(wide) << shift) | ts.astype(wide)
        shot_key = (shots.x.astype(wide) << shift) | shots.z.astype(wide)
    for start in range(0, len(shots.x), step):
        chunk = slice(start, min(start + step, len(shots.x)))
        if wide is not None:
            hit = (shot_key[chunk, None] & term_mask) == term_key
        else:
            hit = (((terms.x ^ shots.x[chunk, None]) | (terms.z ^ shots.z[chunk, None])) & ts) == 0
        rows, cols = np.divmod(np.flatnonzero(hit), n_terms)
        parity = np.bitwise_count(shots.outcome[chunk][rows] & ts[cols]) & 1
        yield chunk, rows, cols, 1.0 - 2.0 * parity


def term_sums(terms: PauliTerms, shots: Shots) -> tuple[np.ndarray, np.ndarray]:
    """Per term: number of covering shots ``h_Q`` and the sum of its outcomes, both ``(T,)``."""
    hits = np.zeros(len(terms))
    sums = np.zeros(len(terms))
    for chunk, rows, cols, signs in covered_pairs(terms, shots):
        counts = shots.counts[chunk][rows]
        hits += np.bincount(cols, weights=counts, minlength=len(terms))
        sums += np.bincount(cols, weights=counts * signs, minlength=len(terms))
    return hits, sums


def shot_sums(
    terms: PauliTerms, shots: Shots, signed: np.ndarray, unsigned: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct row: ``sum_{Q covered} signed_Q mu(P, Q)`` and ``sum_{Q covered} unsigned_Q``."""
    out_signed = np.zeros(len(shots.x))
    out_unsigned = np.zeros(len(shots.x))
    for chunk, rows, cols, signs in covered_pairs(terms, shots):
        size = chunk.stop - chunk.start
        out_signed[chunk] = np.bincount(rows, weights=signed[cols] * signs, minlength=size)
        if unsigned is not None:
            out_unsigned[chunk] = np.bincount(rows, weights=unsigned[cols], minlength=size)
    return out_signed, out_unsigned


def cover_fractions(codes: np.ndarray, basis_x: np.ndarray, basis_z: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """``chi(S) = sum_k fractions[k] [S covered by basis k]`` for strings ``codes`` ``(M, n)``."""
    sx, sz = pack_codes(codes)
    ss = sx | sz
    out = np.empty(len(sx))
    step = max(1, CHUNK_ELEMENTS // max(len(basis_x), 1))
    for start in range(0, len(sx), step):
        sl = slice(start, start + step)
        miss = (sx[sl, None] ^ basis_x) | (sz[sl, None] ^ basis_z)
        miss &= ss[sl, None]
        out[sl] = (miss == 0) @ fractions
    return out
