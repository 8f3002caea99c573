"""The Hamiltonian as the estimators see it: letter codes, real weights, an exact offset.

Pauli letters are small integer codes, the same for Hamiltonian terms and measurement bases:
``I = 0, X = 1, Y = 2, Z = 3``. A basis is a row of codes in ``{1, 2, 3}`` (one per qubit,
qubit 0 first). The identity term is split off as an exact ``offset``: it is never measured.

For post-processing every string is also packed into integer bit masks ``x``, ``z`` (and the
support ``s = x | z``) with qubit ``i`` at bit ``n - 1 - i``, the bit order of a measured
basis-state index (qubit 0 is the most significant bit), so ``popcount(outcome & s) & 1`` is
the parity of a term's outcome bits.

>>> import numpy as np
>>> from types import SimpleNamespace
>>> op = SimpleNamespace(n_qubits=2, x=np.array([[0, 0], [1, 1]], bool),
...                      z=np.array([[0, 0], [0, 1]], bool), coeffs=np.array([0.5, 2.0]))
>>> t = PauliTerms.from_operator(op)
>>> t.offset, t.codes.tolist(), t.coeffs.tolist()
(0.5, [[1, 2]], [2.0])
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from ..errors import NotHermitianError, ShapeError
from ..qubit_order import bit_weights

I, X, Y, Z = 0, 1, 2, 3
LETTERS = "IXYZ"
MAX_QUBITS = 63
_CODE_OF_XZ = np.array([I, X, Z, Y], dtype=np.uint8)  # indexed by x + 2 z


def codes_from_xz(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Bool masks ``(..., n)`` -> letter codes ``(..., n)`` uint8 (I=0, X=1, Y=2, Z=3)."""
    index = np.asarray(x, dtype=np.uint8) + 2 * np.asarray(z, dtype=np.uint8)
    return _CODE_OF_XZ[index]


def mask_dtype(n_qubits: int) -> type:
    """Smallest unsigned integer type that holds ``n_qubits`` bits (post-processing speed)."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if n_qubits <= np.iinfo(dt).bits:
            return dt
    return np.uint64


def pack_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Letter codes ``(M, n)`` -> integer masks ``(x, z)`` of shape ``(M,)``, qubit 0 = top bit.

    >>> pack_codes(np.array([[X, I, Y]]))
    (array([5], dtype=uint8), array([1], dtype=uint8))
    """
    codes = np.asarray(codes, dtype=np.uint8)
    n = codes.shape[-1]
    dt = mask_dtype(n)
    x = np.zeros(codes.shape[:-1], dtype=dt)
    z = np.zeros(codes.shape[:-1], dtype=dt)
    for q, weight in enumerate(bit_weights(n).astype(dt)):  # one pass per qubit: no (M, n) temporaries
        column, bit = codes[..., q], weight
        x |= np.where((column == X) | (column == Y), bit, dt(0))
        z |= np.where(column >= Y, bit, dt(0))
    return x, z


@dataclass(frozen=True, eq=False)
class PauliTerms:
    """A Hermitian Pauli sum without its identity term, in the estimators' encoding.

    Attributes:
        n_qubits: number of qubits.
        codes: ``(T, n)`` uint8 letter codes of the non-identity terms (duplicates merged).
        coeffs: ``(T,)`` float64 real coefficients.
        offset: coefficient of the identity term (added exactly to every estimate).
        x, z, support: ``(T,)`` integer bit masks (see module docstring).
        key: digest of the codes, coefficients and offset (for caches keyed by content).
    """

    n_qubits: int
    codes: np.ndarray
    coeffs: np.ndarray
    offset: float
    x: np.ndarray = field(repr=False)
    z: np.ndarray = field(repr=False)
    support: np.ndarray = field(repr=False)
    key: str = field(repr=False)

    @classmethod
    def from_operator(cls, operator, *, atol: float = 1e-10) -> PauliTerms:
        """Build from anything with ``n_qubits`` and ``x``, ``z`` ``(T, n)`` bool arrays and
        ``coeffs`` ``(T,)`` (a :class:`hybridq.operators.PauliSum`), or from another
        :class:`PauliTerms` (returned as is).

        Raises:
            NotHermitianError: a coefficient has an imaginary part above ``atol``.
            ShapeError: the arrays disagree in shape, or there are more than 63 qubits.
        """
        if isinstance(operator, PauliTerms):
            return operator
        try:
            n = int(operator.n_qubits)
            xb = np.asarray(operator.x, dtype=bool)
            zb = np.asarray(operator.z, dtype=bool)
            coeffs = np.asarray(operator.coeffs, dtype=np.complex128).reshape(-1)
        except AttributeError as exc:
            raise TypeError(
                "expected a Pauli sum with n_qubits, x, z and coeffs (hybridq.operators.PauliSum), "
                f"got {type(operator).__name__}"
            ) from exc
        if xb.shape != zb.shape or xb.ndim != 2 or xb.shape[1] != n or len(coeffs) != len(xb):
            raise ShapeError(
                f"Pauli sum on {n} qubits needs x, z of shape (T, {n}) and coeffs of shape (T,); "
                f"got x {xb.shape}, z {zb.shape}, coeffs {coeffs.shape}"
            )
        if n > MAX_QUBITS or n < 1:
            raise ShapeError(f"estimators support 1..{MAX_QUBITS} qubits, got {n}")
        bad = np.abs(coeffs.imag) > atol
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NotHermitianError(
                f"the Hamiltonian must be Hermitian (real coefficients on Pauli strings); term {i} "
                f"has coefficient {coeffs[i]}"
            )
        codes = codes_from_xz(xb, zb)
        uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
        summed = np.bincount(inverse.reshape(-1), weights=coeffs.real, minlength=len(uniq))
        is_identity = ~uniq.any(axis=1)
        offset = float(summed[is_identity].sum())
        keep = ~is_identity & (summed != 0)
        return cls.from_codes(uniq[keep], summed[keep], offset=offset)

    @classmethod
    def from_codes(cls, codes: np.ndarray, coeffs: np.ndarray, *, offset: float = 0.0) -> PauliTerms:
        """Build from letter codes ``(T, n)`` (no identity rows) and real coefficients.

        >>> PauliTerms.from_codes(np.array([[Z, Z]]), np.array([1.0])).support
        array([3], dtype=uint8)
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        coeffs = np.ascontiguousarray(coeffs, dtype=np.float64)
        x, z = pack_codes(codes)
        digest = hashlib.blake2b(digest_size=16)
        for part in (np.array(codes.shape), codes, coeffs, np.array([offset], dtype=np.float64)):
            digest.update(part.tobytes())
        return cls(codes.shape[1], codes, coeffs, float(offset), x, z, x | z, digest.hexdigest())

    def __len__(self) -> int:
        return len(self.coeffs)

    @property
    def weights(self) -> np.ndarray:
        """Number of non-identity letters of each term, ``(T,)``."""
        return (self.codes != I).sum(axis=1)

    def labels(self) -> list[str]:
        """Pauli labels of the terms, qubit 0 first."""
        table = np.frombuffer(LETTERS.encode(), dtype=np.uint8)
        return [bytes(row).decode() for row in table[self.codes]]


def check_bases(bases, n_qubits: int) -> np.ndarray:
    """Validate measurement bases: a ``(S, n)`` array of codes in {1, 2, 3} (X, Y, Z).

    Raises:
        ShapeError: wrong shape or a code outside {1, 2, 3}.
    """
    arr = np.asarray(bases)
    if arr.ndim != 2 or arr.shape[1] != n_qubits:
        raise ShapeError(f"bases must have shape (shots, {n_qubits}) (one code per qubit), got {arr.shape}")
    if arr.size and (arr.min() < X or arr.max() > Z):
        raise ShapeError(f"basis codes must be 1 (X), 2 (Y) or 3 (Z); got values in [{arr.min()}, {arr.max()}]")
    return np.ascontiguousarray(arr, dtype=np.uint8)
