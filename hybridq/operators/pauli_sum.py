"""PauliSum: a linear combination of Pauli strings, bit-packed, with vectorised algebra."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from numbers import Number
from os import PathLike
from typing import TYPE_CHECKING, Literal

import numpy as np

from hybridq.errors import NotHermitianError, OperandError, PauliError, ShapeError, require
from hybridq.operators import _dense, _symplectic as sym
from hybridq.operators.pauli_string import PauliString, format_coeff, sparse_to_label

if TYPE_CHECKING:
    from hybridq.operators.grouping import FlipGroup, MeasurementGroup


class PauliSum:
    """An immutable sum ``sum_t coeffs[t] * P_t`` of Pauli strings on ``n_qubits`` qubits.

    Labels list qubit 0 first (``"XIZ"`` is X on qubit 0). Terms keep the order they were
    given in; results of algebra merge equal strings (each keeps its first position) and drop
    exact zeros.

    Array contract (what the simulator reads):

    - ``x``, ``z``: read-only bool arrays (T, n_qubits), column q = qubit q; Y is ``x & z``.
    - ``coeffs``: read-only complex128 array (T,).
    - a term's matrix elements are ``<b ^ f| P |b> = i**|x & z| * (-1)**(z . b)``, where
      ``f`` is its X mask and basis index ``b`` has qubit 0 as its most significant bit.

    >>> H = PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5)])
    >>> len(H), H.labels()
    (2, ['ZZ', 'XI'])
    >>> H * H
    PauliSum.from_list([('II', 1.25)], n_qubits=2)
    """

    __array_ufunc__ = None  # numpy scalars defer to our reflected operators

    def __init__(self, *, n_qubits: int, x_words: np.ndarray, z_words: np.ndarray, coeffs: Sequence[complex]):
        """Low-level constructor from packed uint64 masks (T, ceil(n / 64)), qubit q = bit q % 64.

        Prefer :meth:`from_list`, :meth:`from_sparse_list` or :meth:`from_masks`.
        """
        n_qubits = sym.check_n_qubits(n_qubits)
        try:
            x = np.array(x_words, dtype=np.uint64, ndmin=2)
            z = np.array(z_words, dtype=np.uint64, ndmin=2)
        except (TypeError, ValueError, OverflowError) as error:
            raise PauliError(f"packed masks must be arrays of non-negative integers; got {error}") from None
        shape = (len(x), sym.n_words(n_qubits))
        if x.shape != shape or z.shape != shape:
            raise ShapeError(f"expected packed masks of shape {shape}; got {x.shape} and {z.shape}")
        x, z = sym.clear_stray_bits(x, n_qubits), sym.clear_stray_bits(z, n_qubits)  # as printed
        x.flags.writeable = z.flags.writeable = False
        self._n, self._xw, self._zw = int(n_qubits), x, z
        self._coeffs = sym.as_coeffs(coeffs, len(x))

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_list(cls, terms: Iterable[tuple[str, complex]], *, n_qubits: int | None = None) -> PauliSum:
        """Sum from ``(label, coeff)`` pairs; ``n_qubits`` is needed only for an empty list.

        >>> PauliSum.from_list([("XIZ", 0.5), ("YYI", -1.0)]).n_qubits
        3
        """
        terms = list(terms)
        if any(not isinstance(t, (tuple, list)) or len(t) != 2 or not isinstance(t[0], str) for t in terms):
            raise PauliError(f"expected (label, coeff) pairs such as ('XIZ', 0.5); got {terms!r:.200}")
        if not terms and n_qubits is None:
            raise ShapeError("an empty PauliSum needs n_qubits, e.g. PauliSum.from_list([], n_qubits=4)")
        labels = [t[0] for t in terms]
        n = sym.check_n_qubits(n_qubits) if n_qubits is not None else len(labels[0])
        x, z = sym.parse_labels(labels, n)
        return cls(n_qubits=n, x_words=x, z_words=z, coeffs=[t[1] for t in terms])

    @classmethod
    def from_sparse_list(cls, terms: Iterable[tuple[str, Sequence[int], complex]], *, n_qubits: int) -> PauliSum:
        """Sum from ``(letters, qubits, coeff)`` triples; other qubits carry I.

        >>> PauliSum.from_sparse_list([("ZX", [1, 4], 1.0)], n_qubits=5).labels()
        ['IZIIX']
        """
        terms = list(terms)
        if any(not isinstance(t, (tuple, list)) or len(t) != 3 for t in terms):
            raise PauliError(
                f"expected (letters, qubits, coeff) triples such as ('ZX', [1, 4], 1.0); got {terms!r:.200}"
            )
        return cls.from_list([(sparse_to_label(p, q, n_qubits), c) for p, q, c in terms], n_qubits=n_qubits)

    @classmethod
    def from_masks(cls, x: np.ndarray, z: np.ndarray, coeffs: Sequence[complex]) -> PauliSum:
        """Sum from bool masks ``x``, ``z`` of shape (T, n_qubits) (Y = x & z) and coefficients.

        >>> PauliSum.from_masks([[True, False]], [[True, True]], [2.0]).labels()
        ['YZ']
        """
        x, z = np.asarray(x, dtype=bool), np.asarray(z, dtype=bool)
        if x.ndim != 2 or x.shape != z.shape:
            raise ShapeError(f"expected x and z of equal shape (terms, n_qubits); got {x.shape} and {z.shape}")
        return cls(n_qubits=x.shape[1], x_words=sym.pack(x), z_words=sym.pack(z), coeffs=coeffs)

    @classmethod
    def identity(cls, n_qubits: int, coeff: complex = 1.0) -> PauliSum:
        """``coeff`` times the identity on ``n_qubits`` qubits.

        >>> PauliSum.identity(2).labels()
        ['II']
        """
        empty = np.zeros((1, sym.n_words(sym.check_n_qubits(n_qubits))), dtype=np.uint64)
        return cls(n_qubits=n_qubits, x_words=empty, z_words=empty, coeffs=[coeff])

    @classmethod
    def from_file(cls, path: str | PathLike) -> PauliSum:
        """Read a Pauli sum file; see :func:`hybridq.operators.files.read_pauli_sum` for formats."""
        from hybridq.operators.files import read_pauli_sum

        return read_pauli_sum(path)

    @classmethod
    def from_molecule(
        cls,
        name_or_geometry,
        basis: str | None = None,
        encoding: Literal["jordan-wigner", "parity", "bravyi-kitaev"] = "jordan-wigner",
    ) -> PauliSum:
        """Molecular qubit Hamiltonian: shipped data for a known name, else built with PySCF.

        See :func:`hybridq.operators.molecules.molecule_hamiltonian` (and ``molecule_info``).

        >>> PauliSum.from_molecule("H2").n_qubits
        4
        """
        from hybridq.operators.molecules import molecule_hamiltonian

        return molecule_hamiltonian(name_or_geometry, basis=basis, encoding=encoding)

    @classmethod
    def from_qiskit(cls, op) -> PauliSum:
        """From a Qiskit ``SparsePauliOp`` (qubit order converted)."""
        from hybridq.operators.interop import from_qiskit

        return from_qiskit(op)

    def to_qiskit(self):
        """To a Qiskit ``SparsePauliOp`` (qubit order converted)."""
        from hybridq.operators.interop import to_qiskit

        return to_qiskit(self)

    @classmethod
    def from_openfermion(cls, op, n_qubits: int | None = None) -> PauliSum:
        """From an OpenFermion ``QubitOperator``; ``n_qubits`` defaults to its highest qubit + 1."""
        from hybridq.operators.interop import from_openfermion

        return from_openfermion(op, n_qubits=n_qubits)

    def to_openfermion(self):
        """To an OpenFermion ``QubitOperator``."""
        from hybridq.operators.interop import to_openfermion

        return to_openfermion(self)

    @classmethod
    def from_pennylane(cls, op, *, wire_order: Sequence | None = None) -> PauliSum:
        """From a PennyLane Pauli operator (Hamiltonian, LinearCombination, Sum, Prod, ...)."""
        from hybridq.operators.interop import from_pennylane

        return from_pennylane(op, wire_order=wire_order)

    def to_pennylane(self):
        """To a PennyLane ``qml.Hamiltonian`` on wires 0..n-1."""
        from hybridq.operators.interop import to_pennylane

        return to_pennylane(self)

    # ----------------------------------------------------------------- data
    @property
    def n_qubits(self) -> int:
        """Number of qubits."""
        return self._n

    @property
    def coeffs(self) -> np.ndarray:
        """Read-only complex128 coefficients (T,)."""
        return self._coeffs

    @cached_property
    def x(self) -> np.ndarray:
        """Read-only bool array (T, n_qubits): True where the letter is X or Y."""
        return _read_only(sym.unpack(self._xw, self._n))

    @cached_property
    def z(self) -> np.ndarray:
        """Read-only bool array (T, n_qubits): True where the letter is Z or Y."""
        return _read_only(sym.unpack(self._zw, self._n))

    def labels(self) -> list[str]:
        """Term labels, qubit 0 first."""
        return sym.format_labels(self._xw, self._zw, self._n)

    def to_list(self) -> list[tuple[str, complex]]:
        """``(label, coeff)`` pairs, the input of :meth:`from_list`."""
        return list(zip(self.labels(), self._coeffs.tolist()))

    @property
    def identity_coeff(self) -> complex:
        """Sum of the coefficients of all-identity terms."""
        return complex(self._coeffs[self._is_identity()].sum())

    def without_identity(self) -> PauliSum:
        """The sum without its all-identity terms (``self`` when it has none)."""
        identity = self._is_identity()
        return self[~identity] if identity.any() else self

    def __len__(self) -> int:
        return len(self._coeffs)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        """An int gives a :class:`PauliString`; a slice, index array or bool mask a PauliSum."""
        if isinstance(index, (int, np.integer)):
            x, z, coeff = self._xw[index], self._zw[index], self._coeffs[index]
            return PauliString(n_qubits=self._n, x_words=x, z_words=z, coeff=coeff)
        return self._with(self._xw[index], self._zw[index], self._coeffs[index])

    # ----------------------------------------------------------------- algebra
    def simplify(self, atol: float = 1e-12) -> PauliSum:
        """Merge equal strings (summing coefficients) and drop terms with ``|coeff| <= atol``.

        >>> PauliSum.from_list([("XZ", 1.0), ("IZ", 2.0), ("XZ", -1.0)]).simplify().labels()
        ['IZ']
        """
        first, group_id = sym.group_rows(np.concatenate([self._xw, self._zw], axis=1))
        if len(first) == len(self) and not (np.abs(self._coeffs) <= atol).any():
            return self
        real = np.bincount(group_id, weights=self._coeffs.real, minlength=len(first))
        coeffs = real + 1j * np.bincount(group_id, weights=self._coeffs.imag, minlength=len(first))
        keep = np.abs(coeffs) > atol
        return self._with(self._xw[first][keep], self._zw[first][keep], coeffs[keep])

    def adjoint(self) -> PauliSum:
        """Hermitian conjugate (every Pauli string is Hermitian, so coefficients are conjugated)."""
        return self._with(self._xw, self._zw, self._coeffs.conj())

    def is_hermitian(self, atol: float = 1e-12) -> bool:
        """Whether the merged coefficients are all real within ``atol``.

        >>> PauliSum.from_list([("XY", 1j), ("XY", -1j)]).is_hermitian()
        True
        """
        return bool(np.all(np.abs(self.simplify(0.0)._coeffs.imag) <= atol))

    def require_hermitian(self, atol: float = 1e-12) -> PauliSum:
        """Return ``self`` if Hermitian, else raise :class:`NotHermitianError` naming a bad term."""
        merged = self.simplify(0.0)
        imag = np.abs(merged._coeffs.imag)
        if np.all(imag <= atol):
            return self
        i = int(np.argmax(imag))
        raise NotHermitianError(
            f"expected a Hermitian PauliSum (real coefficients after merging equal strings, atol={atol}); "
            f"term {merged.labels()[i]!r} has coefficient {merged._coeffs[i]}"
        )

    def commutator(self, other: PauliSum | PauliString) -> PauliSum:
        """``[self, other] = self * other - other * self`` (only anticommuting pairs contribute).

        >>> PauliSum.from_list([("X", 1.0)]).commutator(PauliSum.from_list([("Z", 1.0)]))
        PauliSum.from_list([('Y', -2j)], n_qubits=1)
        """
        other = self._coerce_operator(other)
        a, b = np.nonzero(sym.anticommute(self._xw[:, None], self._zw[:, None], other._xw[None], other._zw[None]))
        return self._pair_products(other, a, b, scale=2.0)

    def commutes(self, other: PauliSum | PauliString, *, atol: float = 1e-12) -> bool:
        """Whether ``[self, other]`` vanishes (all merged coefficients within ``atol``)."""
        return len(self.commutator(other).simplify(atol)) == 0

    def qubitwise_commutes(self, other: PauliSum | PauliString) -> bool:
        """Whether every term of ``self`` qubit-wise commutes with every term of ``other``."""
        other = self._coerce_operator(other)
        for start in range(0, len(self), 256):
            xs, zs = self._xw[start : start + 256, None], self._zw[start : start + 256, None]
            if sym.qwc_conflict(xs, zs, other._xw[None], other._zw[None]).any():
                return False
        return True

    def __add__(self, other):
        other = self._coerce(other)
        if other is None:
            return NotImplemented
        return self._with(
            np.concatenate([self._xw, other._xw]),
            np.concatenate([self._zw, other._zw]),
            np.concatenate([self._coeffs, other._coeffs]),
        ).simplify(0.0)

    def __radd__(self, other):
        other = self._coerce(other)
        return NotImplemented if other is None else other + self

    def __neg__(self) -> PauliSum:
        return self._with(self._xw, self._zw, -self._coeffs)

    def __sub__(self, other):
        other = self._coerce(other)
        return NotImplemented if other is None else self + (-other)

    def __rsub__(self, other):
        other = self._coerce(other)
        return NotImplemented if other is None else other + (-self)

    def __mul__(self, other):
        if isinstance(other, Number):
            scale = sym.as_coeffs([other], 1)[0]
            return self._with(self._xw, self._zw, self._coeffs * scale).simplify(0.0)
        other = self._coerce(other)
        if other is None:
            return NotImplemented
        a = np.repeat(np.arange(len(self)), len(other))
        b = np.tile(np.arange(len(other)), len(self))
        return self._pair_products(other, a, b, scale=1.0)

    def __rmul__(self, other):
        if isinstance(other, Number):
            return self * other
        other = self._coerce(other)
        return NotImplemented if other is None else other * self

    def __truediv__(self, other):
        if isinstance(other, Number):
            return self * (1 / complex(other))
        return NotImplemented

    def __eq__(self, other) -> bool:
        """Operator equality: same qubit count and same merged terms, in any order."""
        if other is self:  # the simulator's caches look an observable up on every call
            return True
        if not isinstance(other, PauliSum):
            return NotImplemented
        return self._n == other._n and self._canonical() == other._canonical()

    def __hash__(self) -> int:
        # the masks and coefficients are read-only, so the hash (a sort of the merged terms) is
        # computed once: it keys the simulator's per-observable caches on every expval call
        if getattr(self, "_hash", None) is None:
            self._hash = hash((self._n, self._canonical()))
        return self._hash

    def __repr__(self) -> str:
        terms = ", ".join(f"({label!r}, {format_coeff(c)})" for label, c in self.to_list())
        return f"PauliSum.from_list([{terms}], n_qubits={self._n})"

    # ----------------------------------------------------------------- evaluation
    def to_matrix(self, *, sparse: bool = False):
        """Matrix ``(2**n, 2**n)`` with qubit 0 the most significant bit of the index.

        Dense numpy (complex128) up to 14 qubits; with ``sparse=True`` a scipy CSR matrix.
        Raises :class:`~hybridq.errors.StateTooLargeError` above those limits.

        >>> PauliSum.from_list([("X", 1.0)]).to_matrix().real
        array([[0., 1.],
               [1., 0.]])
        """
        build = _dense.sparse_matrix if sparse else _dense.dense_matrix
        return build(self._n, self._xw, self._zw, self._coeffs)

    def ground_state(self, *, tol: float = 1e-10) -> tuple[float, np.ndarray]:
        """Lowest eigenvalue and a normalised eigenvector ``(2**n,)`` complex128 (Hermitian sums).

        Lanczos (scipy's ``eigsh``) on ``H`` applied to vectors, never a stored matrix: memory
        is one diagonal per X mask (real for real Hamiltonians), about 250 MB for NH3 on 16
        qubits. Needs scipy (the ``chem`` extra).

        >>> energy, psi = PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5)]).ground_state()
        >>> round(energy, 6), psi.shape
        (-1.118034, (4,))

        Raises:
            NotHermitianError: a coefficient is not real.
            StateTooLargeError: too many qubits for a basis-state index.
            MissingDependencyError: scipy is not installed.
        """
        linalg = require("scipy.sparse.linalg", "chem")
        self.require_hermitian()
        _dense.check_qubits(self._n, _dense.MAX_INDEX_QUBITS, "ground_state")
        flips, table = _dense.flip_table(self._n, self._xw, self._zw, self._coeffs)
        dim = 1 << self._n
        if dim <= 2:  # eigsh needs a dimension above k + 1
            values, vectors = np.linalg.eigh(self.to_matrix())
            return float(values[0]), vectors[:, 0].astype(np.complex128)
        op = linalg.LinearOperator((dim, dim), matvec=lambda v: _dense.apply(flips, table, v), dtype=table.dtype)
        start = np.random.default_rng(0).normal(size=dim).astype(table.dtype)
        values, vectors = linalg.eigsh(op, k=1, which="SA", v0=start, tol=tol)
        psi = vectors[:, 0].astype(np.complex128)
        return float(values[0]), psi / np.linalg.norm(psi)

    def expectation(self, state) -> float | np.ndarray:
        """``<psi|H|psi>`` on a dense state ``(2**n,)`` or batch ``(B, 2**n)``, numpy or torch.

        A reference evaluation for tests and small checks (numpy, float64; cost about
        ``n_flip_masks * n * 2**n``, e.g. 2 s for NH3 on 16 qubits): use the simulator for
        speed. The operator must be Hermitian. Returns a float for one state, an array (B,)
        for a batch.

        >>> import numpy as np
        >>> PauliSum.from_list([("ZI", 1.0)]).expectation(np.array([0, 0, 1, 0]))
        -1.0
        """
        self.require_hermitian()
        psi, single = _dense.as_state_array(state, self._n)
        values = _dense.expectation(self._n, self._xw, self._zw, self._coeffs, psi).real
        return float(values[0]) if single else values

    def basis_state_expectation(self, bits: str | Sequence[int]) -> float:
        """``<b|H|b>`` for a computational basis state given qubit 0 first (e.g. a HF bitstring).

        >>> PauliSum.from_list([("ZZ", 1.0), ("ZI", 0.5)]).basis_state_expectation("10")
        -1.5
        """
        self.require_hermitian()
        if any(str(b) not in ("0", "1") for b in bits):
            raise ShapeError(f"expected {self._n} bits 0 or 1 (one per qubit); got {bits!r}")
        occupied = np.array([int(b) for b in bits], dtype=bool)
        if occupied.shape != (self._n,):
            raise ShapeError(f"expected {self._n} bits (one per qubit); got {len(occupied)}: {bits!r}")
        diagonal = ~np.any(self._xw != 0, axis=1)
        odd = sym.popcount(self._zw[diagonal] & sym.pack(occupied)[None]) & 1
        return float(np.sum(self._coeffs[diagonal].real * (1 - 2 * odd)))

    # ----------------------------------------------------------------- grouping
    def qwc_groups(
        self, *, strategy: Literal["largest-degree-first", "sorted-insertion"] = "largest-degree-first"
    ) -> list[MeasurementGroup]:
        """Qubit-wise-commuting groups; see :func:`hybridq.operators.grouping.qwc_groups`."""
        from hybridq.operators.grouping import qwc_groups

        return qwc_groups(self, strategy=strategy)

    def flip_mask_groups(self) -> list[FlipGroup]:
        """Terms grouped by X mask; see :func:`hybridq.operators.grouping.flip_mask_groups`."""
        from hybridq.operators.grouping import flip_mask_groups

        return flip_mask_groups(self)

    # ----------------------------------------------------------------- helpers
    def _with(self, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray) -> PauliSum:
        words = self._xw.shape[1]
        return PauliSum(n_qubits=self._n, x_words=x.reshape(-1, words), z_words=z.reshape(-1, words), coeffs=coeffs)

    def _is_identity(self) -> np.ndarray:
        return ~np.any((self._xw | self._zw) != 0, axis=1)

    def _pair_products(self, other: PauliSum, a: np.ndarray, b: np.ndarray, *, scale: float) -> PauliSum:
        x, z, k = sym.multiply(self._xw[a], self._zw[a], other._xw[b], other._zw[b])
        coeffs = scale * self._coeffs[a] * other._coeffs[b] * sym.PHASES[k]
        return self._with(x, z, coeffs).simplify(0.0)

    def _coerce(self, other) -> PauliSum | None:
        """PauliSum/PauliString/number -> PauliSum on the same qubits; None if unsupported."""
        if isinstance(other, Number):
            return PauliSum.identity(self._n, complex(other))
        if isinstance(other, PauliString):
            other = other.to_sum()
        if not isinstance(other, PauliSum):
            return None
        if other._n != self._n:
            raise ShapeError(f"PauliSums act on different numbers of qubits: {self._n} and {other._n}")
        return other

    def _coerce_operator(self, other) -> PauliSum:
        coerced = self._coerce(other) if not isinstance(other, Number) else None
        if coerced is None:
            raise OperandError(f"expected a PauliSum or PauliString; got {type(other).__name__}")
        return coerced

    def _canonical(self) -> tuple[bytes, bytes, bytes]:
        merged = self.simplify(0.0)
        order = np.lexsort(np.concatenate([merged._xw, merged._zw], axis=1).T[::-1])
        return (
            merged._xw[order].tobytes(),
            merged._zw[order].tobytes(),
            (merged._coeffs[order] + 0.0).tobytes(),
        )


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
