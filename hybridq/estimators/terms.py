"""The Hamiltonian as the estimators see it: a view of its PauliSum (letter codes, real
weights), with the identity split off as an exact offset.

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
from functools import cached_property

import numpy as np

from ..errors import NotHermitianError, OperandError, ShapeError
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


class PauliTerms:
    """A Hermitian Pauli sum as the estimators read it: a view of one
    :class:`~hybridq.operators.PauliSum`, never a table of its own.

    The sum's equal strings are merged (each keeps its first position) and its identity part is
    split off as the exact ``offset``; what remains is :attr:`paulis`, and every array below is
    read from it (``coeffs`` is the real part of ``paulis.coeffs``, the same memory).

    Attributes:
        paulis: the non-identity terms, a :class:`~hybridq.operators.PauliSum` (the one table).
        offset: coefficient of the identity term (added exactly to every estimate).
        n_qubits: number of qubits.
    """

    def __init__(self, paulis, offset: float = 0.0) -> None:
        """Wrap ``paulis`` (a PauliSum without identity rows or repeated strings, real
        coefficients); use :meth:`from_operator` or :meth:`from_codes`."""
        self.paulis, self.offset, self.n_qubits = paulis, float(offset), int(paulis.n_qubits)

    @classmethod
    def from_operator(cls, operator, *, atol: float = 1e-10) -> PauliTerms:
        """The terms of a :class:`hybridq.operators.PauliSum` (or anything with ``n_qubits`` and
        ``x``, ``z`` ``(T, n)`` bool arrays and ``coeffs`` ``(T,)``); a :class:`PauliTerms` is
        returned as is.

        Raises:
            OperandError: ``operator`` is not a Pauli sum.
            NotHermitianError: a coefficient has an imaginary part above ``atol``.
            ShapeError: the arrays disagree in shape, or there are more than 63 qubits.
        """
        from ..operators import PauliSum

        if isinstance(operator, PauliTerms):
            return operator
        if not isinstance(operator, PauliSum):
            try:
                n = int(operator.n_qubits)
                xb, zb = np.asarray(operator.x, dtype=bool), np.asarray(operator.z, dtype=bool)
                coeffs = np.asarray(operator.coeffs, dtype=np.complex128).reshape(-1)
            except AttributeError as exc:
                raise OperandError(
                    "expected a Pauli sum with n_qubits, x, z and coeffs (hybridq.operators.PauliSum), "
                    f"got {type(operator).__name__}; build one with PauliSum.from_list"
                ) from exc
            if xb.shape != zb.shape or xb.ndim != 2 or xb.shape[1] != n or len(coeffs) != len(xb):
                raise ShapeError(
                    f"Pauli sum on {n} qubits needs x, z of shape (T, {n}) and coeffs of shape (T,); "
                    f"got x {xb.shape}, z {zb.shape}, coeffs {coeffs.shape}"
                )
            operator = PauliSum.from_masks(xb, zb, coeffs)
        n = operator.n_qubits
        if n > MAX_QUBITS or n < 1:
            raise ShapeError(f"estimators support 1..{MAX_QUBITS} qubits, got {n}")
        bad = np.abs(operator.coeffs.imag) > atol
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NotHermitianError(
                f"the Hamiltonian must be Hermitian (real coefficients on Pauli strings); term {i} "
                f"has coefficient {operator.coeffs[i]}"
            )
        merged = operator.simplify(0.0)
        return cls(merged.without_identity(), merged.identity_coeff.real)

    @classmethod
    def from_codes(cls, codes: np.ndarray, coeffs: np.ndarray, *, offset: float = 0.0) -> PauliTerms:
        """Build from letter codes ``(T, n)`` (no identity rows) and real coefficients.

        >>> PauliTerms.from_codes(np.array([[Z, Z]]), np.array([1.0])).support
        array([3], dtype=uint8)
        """
        from ..operators import PauliSum

        codes = np.asarray(codes, dtype=np.uint8)
        x, z = (codes == X) | (codes == Y), codes >= Y
        return cls(PauliSum.from_masks(x, z, np.asarray(coeffs, dtype=np.float64)), offset)

    def __len__(self) -> int:
        return len(self.paulis)

    @cached_property
    def codes(self) -> np.ndarray:
        """``(T, n)`` uint8 letter codes of the terms (read-only)."""
        return _read_only(codes_from_xz(self.paulis.x, self.paulis.z))

    @property
    def coeffs(self) -> np.ndarray:
        """``(T,)`` float64 real coefficients (a read-only view of ``paulis.coeffs``)."""
        return self.paulis.coeffs.real

    @cached_property
    def _masks(self) -> tuple[np.ndarray, np.ndarray]:
        return tuple(_read_only(m) for m in pack_codes(self.codes))

    @property
    def x(self) -> np.ndarray:
        """``(T,)`` integer X masks (X or Y letters; bit order of the module docstring)."""
        return self._masks[0]

    @property
    def z(self) -> np.ndarray:
        """``(T,)`` integer Z masks (Z or Y letters)."""
        return self._masks[1]

    @cached_property
    def support(self) -> np.ndarray:
        """``(T,)`` integer masks of the qubits each term acts on, ``x | z``."""
        return _read_only(self.x | self.z)

    @cached_property
    def key(self) -> str:
        """Digest of the codes, coefficients and offset (for caches keyed by content)."""
        digest = hashlib.blake2b(digest_size=16)
        for part in (np.array(self.codes.shape), self.codes, np.ascontiguousarray(self.coeffs),
                     np.array([self.offset], dtype=np.float64)):
            digest.update(part.tobytes())
        return digest.hexdigest()

    @property
    def weights(self) -> np.ndarray:
        """Number of non-identity letters of each term, ``(T,)``."""
        return (self.codes != I).sum(axis=1)

    def labels(self) -> list[str]:
        """Pauli labels of the terms, qubit 0 first."""
        return self.paulis.labels()


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


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
