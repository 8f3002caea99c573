"""Bit-packed symplectic kernels shared by PauliString, PauliSum and grouping.

A Pauli string on n qubits is two bit masks, x and z, stored as little-endian uint64 words:
qubit ``q`` is bit ``q % 64`` of word ``q // 64``. Letters: I = (0, 0), X = (1, 0),
Z = (0, 1), Y = (1, 1), and the string means ``i**popcount(x & z) * X**x Z**z`` so every
label is Hermitian. All kernels broadcast over leading axes; the word axis is the last one.
No validation happens here: callers check their inputs at the API boundary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hybridq.errors import PauliError, ShapeError
from hybridq.qubit_order import bit_weights

WORD_BITS = 64

# Lookup tables indexed by ASCII code: x bit, z bit, and whether the letter is valid.
_X_OF = np.zeros(256, dtype=bool)
_Z_OF = np.zeros(256, dtype=bool)
_VALID = np.zeros(256, dtype=bool)
for _letter, (_xb, _zb) in {"I": (0, 0), "X": (1, 0), "Y": (1, 1), "Z": (0, 1)}.items():
    _X_OF[ord(_letter)], _Z_OF[ord(_letter)], _VALID[ord(_letter)] = _xb, _zb, True
_LETTERS = np.frombuffer(b"IXZY", dtype=np.uint8)  # indexed by x + 2 z


def n_words(n_qubits: int) -> int:
    """Number of uint64 words that hold ``n_qubits`` bits."""
    return (n_qubits + WORD_BITS - 1) // WORD_BITS


def pack(bits: np.ndarray) -> np.ndarray:
    """Bool array (..., n) -> uint64 words (..., ceil(n / 64)), qubit q at bit q % 64."""
    bits = np.asarray(bits, dtype=bool)
    n = bits.shape[-1]
    padded = np.zeros(bits.shape[:-1] + (n_words(n) * WORD_BITS,), dtype=bool)
    padded[..., :n] = bits
    packed = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def clear_stray_bits(words: np.ndarray, n_qubits: int) -> np.ndarray:
    """``words`` (..., W) with the bits above ``n_qubits`` in the last word cleared (a copy)."""
    words = np.array(words, dtype=np.uint64)
    if n_qubits % WORD_BITS and words.shape[-1]:
        words[..., -1] &= np.uint64((1 << (n_qubits % WORD_BITS)) - 1)
    return words


def unpack(words: np.ndarray, n_qubits: int) -> np.ndarray:
    """uint64 words (..., W) -> bool array (..., n_qubits); the inverse of :func:`pack`."""
    as_bytes = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=-1, count=n_qubits, bitorder="little")
    return bits.astype(bool)


def popcount(words: np.ndarray) -> np.ndarray:
    """Number of set bits summed over the last (word) axis, as int64."""
    words = np.asarray(words, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        counts = np.bitwise_count(words)
    else:
        counts = np.unpackbits(words.view(np.uint8), axis=-1).reshape(words.shape + (64,)).sum(-1)
    return counts.sum(axis=-1, dtype=np.int64)


def check_n_qubits(n_qubits) -> int:
    """``n_qubits`` as an int >= 1, else :class:`ShapeError`."""
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, (int, np.integer)) or n_qubits < 1:
        raise ShapeError(f"n_qubits must be an integer, at least 1 qubit; got {n_qubits!r}")
    return int(n_qubits)


def parse_labels(labels: Sequence[str], n_qubits: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Labels such as ``"XIZ"`` (qubit 0 first) -> packed (x, z) words of shape (T, W).

    Raises:
        PauliError: a label has a letter other than I, X, Y, Z, or the lengths differ.
    """
    labels = list(labels)
    if not labels:
        width = n_qubits or 0
        empty = np.zeros((0, n_words(width)), dtype=np.uint64)
        return empty, empty.copy()
    width = len(labels[0]) if n_qubits is None else n_qubits
    lengths = np.fromiter(map(len, labels), dtype=np.int64, count=len(labels))
    bad = np.flatnonzero(lengths != width)
    if bad.size:
        i = int(bad[0])
        raise PauliError(
            f"Pauli labels must all have {width} letters (one per qubit); "
            f"label {i} {labels[i]!r} has {lengths[i]}"
        )
    try:
        raw = "".join(labels).encode("ascii")
    except UnicodeEncodeError:
        raw = b""
    if len(raw) != width * len(labels):
        raise PauliError(f"Pauli labels may only use the letters I, X, Y, Z; got {labels!r}")
    codes = np.frombuffer(raw, dtype=np.uint8).reshape(len(labels), width)
    invalid = ~_VALID[codes]
    if invalid.any():
        i, q = (int(v) for v in np.argwhere(invalid)[0])
        raise PauliError(
            f"Pauli labels may only use the letters I, X, Y, Z; "
            f"label {i} {labels[i]!r} has {chr(codes[i, q])!r} at qubit {q}"
        )
    return pack(_X_OF[codes]), pack(_Z_OF[codes])


def format_labels(x: np.ndarray, z: np.ndarray, n_qubits: int) -> list[str]:
    """Packed (x, z) words (T, W) -> labels, qubit 0 first."""
    codes = unpack(x, n_qubits).astype(np.uint8) + 2 * unpack(z, n_qubits).astype(np.uint8)
    text = _LETTERS[codes].tobytes().decode("ascii")
    return [text[i : i + n_qubits] for i in range(0, len(text), n_qubits)] if n_qubits else []


def multiply(
    x1: np.ndarray, z1: np.ndarray, x2: np.ndarray, z2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Product ``P1 P2 = i**k P3`` of labelled Paulis; returns (x3, z3, k mod 4).

    With ``P = i**|x&z| X**x Z**z``: ``k = |y1| + |y2| - |y3| + 2 |z1 & x2|`` where
    ``|y| = popcount(x & z)``.
    """
    x3, z3 = x1 ^ x2, z1 ^ z2
    k = popcount(x1 & z1) + popcount(x2 & z2) - popcount(x3 & z3) + 2 * popcount(z1 & x2)
    return x3, z3, np.mod(k, 4)


def anticommute(x1: np.ndarray, z1: np.ndarray, x2: np.ndarray, z2: np.ndarray) -> np.ndarray:
    """True where the two Pauli strings anticommute (odd symplectic product)."""
    return (popcount((x1 & z2) ^ (z1 & x2)) & 1).astype(bool)


def qwc_conflict(x1: np.ndarray, z1: np.ndarray, x2: np.ndarray, z2: np.ndarray) -> np.ndarray:
    """True where some qubit carries two different non-identity letters (not qubit-wise commuting)."""
    clash = (x1 | z1) & (x2 | z2) & ((x1 ^ x2) | (z1 ^ z2))
    return np.any(clash != 0, axis=-1)


def group_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Equal rows of ``keys`` (T, K) uint64 -> (first index of each group, group id of each row).

    Groups are numbered in order of first appearance, so a stable order is kept. Columns are
    packed together while their used bits fit in 64, then ranked one 1-D column at a time
    (much faster than ``np.unique(axis=0)``).
    """
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    columns = _pack_columns(keys)
    combined = columns[0]
    for column in columns[1:]:  # rank both sides so that the pair fits in one word
        _, left = np.unique(combined, return_inverse=True)
        _, right = np.unique(column, return_inverse=True)
        combined = left.astype(np.uint64) * np.uint64(right.max() + 1) + right.astype(np.uint64)
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.reshape(-1)]


def _pack_columns(keys: np.ndarray) -> list[np.ndarray]:
    """Exactly re-pack uint64 columns so that several narrow ones share one word."""
    packed, current, used = [], None, 0
    for column in np.asarray(keys, dtype=np.uint64).T:
        bits = int(column.max()).bit_length()
        if current is not None and used + bits <= 64:
            current = current | (column << np.uint64(used))
            used += bits
        else:
            if current is not None:
                packed.append(current)
            current, used = column, bits
    packed.append(current)
    return packed


def members(group_id: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Row indices of each group, ascending, from the group ids of :func:`group_rows`."""
    order = np.argsort(group_id, kind="stable")
    counts = np.bincount(group_id, minlength=n_groups)
    return np.split(order, np.cumsum(counts)[:-1])


def index_masks(words: np.ndarray, n_qubits: int) -> np.ndarray:
    """Packed masks (T, W) -> int64 basis-index masks, qubit 0 the most significant bit.

    Only for ``n_qubits <= 62`` (dense state vectors); callers check.
    """
    bits = unpack(words, n_qubits).astype(np.int64)
    return bits @ bit_weights(n_qubits)


PHASES = np.array([1, 1j, -1, -1j], dtype=np.complex128)  # i**k for k = 0..3


def as_coeffs(values, count: int) -> np.ndarray:
    """Coefficients -> read-only complex128 array of length ``count``, all finite.

    Raises:
        ShapeError: there are not ``count`` coefficients.
        PauliError: a coefficient is not a finite number.
    """
    try:
        coeffs = np.array(values, dtype=np.complex128).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise PauliError(f"Pauli coefficients must be numbers; got {values!r:.200}") from exc
    if coeffs.shape != (count,):
        raise ShapeError(f"expected {count} coefficients (one per Pauli term); got {coeffs.size}")
    if not np.isfinite(coeffs).all():
        i = int(np.flatnonzero(~np.isfinite(coeffs))[0])
        raise PauliError(f"Pauli coefficients must be finite; coefficient {i} is {coeffs[i]}")
    coeffs.flags.writeable = False
    return coeffs
