"""PauliString: one Pauli product with a complex coefficient, stored as packed X/Z masks."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Number
from typing import TYPE_CHECKING

import numpy as np

from hybridq.errors import PauliError, QubitIndexError, ShapeError
from hybridq.operators import _symplectic as sym

if TYPE_CHECKING:
    from hybridq.operators.pauli_sum import PauliSum


class PauliString:
    """An immutable Pauli string ``coeff * P`` on ``n_qubits`` qubits.

    Labels list qubit 0 first: ``"XIZ"`` is X on qubit 0 and Z on qubit 2. Products keep the
    exact phase in ``coeff``; sums of strings give a :class:`PauliSum`.

    >>> a = PauliString.from_label("XZ")
    >>> a * PauliString.from_label("YZ")
    PauliString.from_label('ZI', coeff=1j)
    """

    __slots__ = ("_n", "_x", "_z", "_coeff")
    __array_ufunc__ = None  # numpy scalars defer to our reflected operators

    def __init__(self, *, n_qubits: int, x_words: np.ndarray, z_words: np.ndarray, coeff: complex = 1.0):
        """Low-level constructor from packed uint64 masks (qubit q = bit q % 64 of word q // 64).

        Prefer :meth:`from_label` or :meth:`from_sparse`.
        """
        n_qubits = sym.check_n_qubits(n_qubits)
        shape = (sym.n_words(n_qubits),)
        try:
            x = sym.clear_stray_bits(np.array(x_words, dtype=np.uint64).reshape(-1), n_qubits)  # as printed
            z = sym.clear_stray_bits(np.array(z_words, dtype=np.uint64).reshape(-1), n_qubits)
        except (TypeError, ValueError, OverflowError) as error:
            raise PauliError(f"packed masks must be arrays of non-negative integers; got {error}") from None
        if x.shape != shape or z.shape != shape:
            raise ShapeError(f"expected packed masks of shape {shape} for {n_qubits} qubits; got {x.shape}, {z.shape}")
        x.flags.writeable = z.flags.writeable = False
        self._n, self._x, self._z = int(n_qubits), x, z
        self._coeff = complex(sym.as_coeffs([coeff], 1)[0])

    @classmethod
    def from_label(cls, label: str, coeff: complex = 1.0) -> PauliString:
        """Pauli string from a label over I, X, Y, Z, qubit 0 first.

        >>> PauliString.from_label("XIZ", coeff=0.5).coeff
        (0.5+0j)
        """
        if not isinstance(label, str) or not label:
            raise PauliError(f"expected a non-empty label over I, X, Y, Z; got {label!r}")
        x, z = sym.parse_labels([label])
        return cls(n_qubits=len(label), x_words=x[0], z_words=z[0], coeff=coeff)

    @classmethod
    def from_sparse(cls, letters: str, qubits: Sequence[int], *, n_qubits: int, coeff: complex = 1.0) -> PauliString:
        """Pauli string with ``letters[k]`` on qubit ``qubits[k]`` and identity elsewhere.

        >>> PauliString.from_sparse("ZX", [1, 4], n_qubits=5).label
        'IZIIX'
        """
        return cls.from_label(sparse_to_label(letters, qubits, n_qubits), coeff)

    @property
    def n_qubits(self) -> int:
        """Number of qubits."""
        return self._n

    @property
    def coeff(self) -> complex:
        """The complex coefficient."""
        return self._coeff

    @property
    def label(self) -> str:
        """The letters, qubit 0 first (without the coefficient)."""
        return sym.format_labels(self._x[None], self._z[None], self._n)[0]

    @property
    def x(self) -> np.ndarray:
        """Bool array (n_qubits,): True where the letter is X or Y."""
        return sym.unpack(self._x, self._n)

    @property
    def z(self) -> np.ndarray:
        """Bool array (n_qubits,): True where the letter is Z or Y."""
        return sym.unpack(self._z, self._n)

    @property
    def weight(self) -> int:
        """Number of non-identity letters."""
        return int(sym.popcount(self._x | self._z))

    def with_coeff(self, coeff: complex) -> PauliString:
        """The same letters with another coefficient."""
        return PauliString(n_qubits=self._n, x_words=self._x, z_words=self._z, coeff=coeff)

    def adjoint(self) -> PauliString:
        """Hermitian conjugate: the letters are Hermitian, so only the coefficient is conjugated."""
        return self.with_coeff(self._coeff.conjugate())

    def commutes(self, other: PauliString) -> bool:
        """Whether the two strings commute as operators.

        >>> PauliString.from_label("XX").commutes(PauliString.from_label("ZZ"))
        True
        """
        self._check_same_size(other)
        return not bool(sym.anticommute(self._x, self._z, other._x, other._z))

    def qubitwise_commutes(self, other: PauliString) -> bool:
        """Whether on every qubit the letters are equal or one of them is I.

        >>> PauliString.from_label("XX").qubitwise_commutes(PauliString.from_label("ZZ"))
        False
        """
        self._check_same_size(other)
        return not bool(sym.qwc_conflict(self._x, self._z, other._x, other._z))

    def to_sum(self) -> PauliSum:
        """This string as a one-term :class:`PauliSum`."""
        from hybridq.operators.pauli_sum import PauliSum

        return PauliSum.from_list([(self.label, self._coeff)])

    def to_matrix(self) -> np.ndarray:
        """Dense matrix ``(2**n, 2**n)``, qubit 0 the most significant bit of the index."""
        return self.to_sum().to_matrix()

    def __mul__(self, other):
        if isinstance(other, PauliString):
            self._check_same_size(other)
            x, z, k = sym.multiply(self._x, self._z, other._x, other._z)
            coeff = self._coeff * other._coeff * sym.PHASES[int(k)]
            return PauliString(n_qubits=self._n, x_words=x, z_words=z, coeff=coeff)
        if isinstance(other, Number):
            return self.with_coeff(self._coeff * complex(other))
        return NotImplemented

    def __rmul__(self, other):
        if isinstance(other, Number):
            return self.with_coeff(complex(other) * self._coeff)
        return NotImplemented

    def __truediv__(self, other):
        if isinstance(other, Number):
            return self.with_coeff(self._coeff / complex(other))
        return NotImplemented

    def __neg__(self) -> PauliString:
        return self.with_coeff(-self._coeff)

    def __add__(self, other):
        return self.to_sum() + other

    def __radd__(self, other):
        return other + self.to_sum()

    def __sub__(self, other):
        return self.to_sum() - other

    def __rsub__(self, other):
        return other - self.to_sum()

    def __eq__(self, other) -> bool:
        if not isinstance(other, PauliString):
            return NotImplemented
        return (
            self._n == other._n
            and self._coeff == other._coeff
            and np.array_equal(self._x, other._x)
            and np.array_equal(self._z, other._z)
        )

    def __hash__(self) -> int:
        return hash((self._n, self._x.tobytes(), self._z.tobytes(), self._coeff + 0.0))

    def __repr__(self) -> str:
        return f"PauliString.from_label({self.label!r}, coeff={format_coeff(self._coeff)})"

    def _check_same_size(self, other: PauliString) -> None:
        if not isinstance(other, PauliString):
            raise TypeError(f"expected a PauliString; got {type(other).__name__}")
        if other._n != self._n:
            raise ShapeError(f"Pauli strings act on different numbers of qubits: {self._n} and {other._n}")


def sparse_to_label(letters: str, qubits: Sequence[int], n_qubits: int) -> str:
    """Dense label from letters on given qubits, identity elsewhere.

    Raises:
        PauliError: the number of letters and qubits differ.
        QubitIndexError: a qubit is out of range or repeated.
    """
    if not isinstance(letters, str):
        raise PauliError(f"Pauli letters must be a string such as 'ZX'; got {letters!r}")
    if isinstance(qubits, (int, np.integer)):
        qubits = [qubits]
    if any(isinstance(q, bool) or not isinstance(q, (int, np.integer)) for q in qubits):
        raise QubitIndexError(f"qubits must be integers; got {qubits!r} for {letters!r}")
    qubits = [int(q) for q in qubits]
    if len(letters) != len(qubits):
        raise PauliError(f"{len(letters)} letters {letters!r} given for {len(qubits)} qubits {qubits}")
    if len(set(qubits)) != len(qubits):
        raise QubitIndexError(f"qubits must be distinct; got {qubits} for {letters!r}")
    out = ["I"] * n_qubits
    for letter, q in zip(letters, qubits):
        if not 0 <= q < n_qubits:
            raise QubitIndexError(f"qubit {q} is out of range for {n_qubits} qubits (0..{n_qubits - 1})")
        out[q] = letter
    return "".join(out)


def format_coeff(c: complex) -> str:
    """Shortest evaluable text of a coefficient: a float when it is real."""
    return repr(c.real) if c.imag == 0 else repr(complex(c))
