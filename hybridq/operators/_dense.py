"""Dense reference evaluation of Pauli sums: matrices and state-vector expectations.

Matrix elements: for a term ``c * P`` with masks (x, z), ``<b ^ x| P |b> = i**|x&z| (-1)**(z.b)``
with basis indices ``b`` whose most significant bit is qubit 0. Terms sharing an X mask share
their non-zero pattern, so each distinct X mask contributes one permuted diagonal, and the Z
signs of a whole group come from one Walsh-Hadamard transform.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from hybridq.checks import check_finite
from hybridq.errors import ShapeError, StateTooLargeError
from hybridq.operators import _symplectic as sym

MAX_DENSE_QUBITS = 14
MAX_INDEX_QUBITS = 26  # dense states and diagonals of 2**26 complex numbers take 1 GiB each


def check_qubits(n_qubits: int, limit: int, what: str) -> None:
    """Raise :class:`StateTooLargeError` when ``n_qubits`` exceeds ``limit`` for ``what``."""
    if n_qubits > limit:
        raise StateTooLargeError(
            f"{what} is limited to {limit} qubits (2**{limit} basis states); got {n_qubits} qubits"
        )


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """``out[..., k] = sum_b values[..., b] * (-1)**popcount(k & b)`` over the last axis (2**n)."""
    out = np.array(values, dtype=np.complex128)
    lead, dim, half = out.shape[:-1], out.shape[-1], 1
    while half < dim:
        pairs = out.reshape(*lead, -1, 2, half)
        low = pairs[..., 0, :].copy()
        pairs[..., 0, :] += pairs[..., 1, :]
        pairs[..., 1, :] = low - pairs[..., 1, :]
        half *= 2
    return out


def _flip_groups(
    n_qubits: int, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(flip, z_index_masks, phased_coeffs)`` per distinct X mask (coefficient times i**|x&z|)."""
    check_qubits(n_qubits, MAX_INDEX_QUBITS, "dense evaluation of a PauliSum")
    flips = sym.index_masks(x, n_qubits)
    zmasks = sym.index_masks(z, n_qubits)
    phased = coeffs * sym.PHASES[sym.popcount(x & z) % 4]
    first, group_id = sym.group_rows(x)
    for rows in sym.members(group_id, len(first)):
        yield int(flips[rows[0]]), zmasks[rows], phased[rows]


def flip_diagonals(
    n_qubits: int, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(flip, d)`` per distinct X mask: ``H = sum_flip sum_b d[b] |b ^ flip><b|``.

    ``d[b] = sum_t c_t i**|y_t| (-1)**(z_t . b)`` is a Walsh-Hadamard transform of the
    coefficients placed at their Z masks.
    """
    for flip, zmasks, phased in _flip_groups(n_qubits, x, z, coeffs):
        spectrum = np.zeros(1 << n_qubits, dtype=np.complex128)
        np.add.at(spectrum, zmasks, phased)
        d = walsh_hadamard(spectrum)
        d[np.abs(d) <= 8 * np.finfo(float).eps * np.abs(phased).sum()] = 0  # exact cancellations
        yield flip, d


def flip_table(n_qubits: int, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip masks ``(G,)`` and diagonals ``(G, 2**n)`` of ``H = sum_g sum_b d_g[b] |b ^ f_g><b|``
    (:func:`flip_diagonals`), float64 when every diagonal is real (molecular Hamiltonians),
    filled one mask at a time: ``8 G 2**n`` bytes, about 250 MB for NH3 on 16 qubits."""
    n_groups = len(sym.group_rows(x)[0])
    flips = np.zeros(n_groups, dtype=np.int64)
    table = np.zeros((n_groups, 1 << n_qubits), dtype=np.float64)
    for g, (flip, d) in enumerate(flip_diagonals(n_qubits, x, z, coeffs)):
        if table.dtype != d.dtype and np.abs(d.imag).max(initial=0.0) > 0:
            table = table.astype(np.complex128)
        flips[g], table[g] = flip, d if table.dtype == d.dtype else d.real
    return flips, table


def apply(flips: np.ndarray, table: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``H v`` for vectors ``(2**n,)`` or ``(2**n, k)``, ``H`` given by :func:`flip_table`."""
    cols = np.arange(table.shape[1])
    out = np.zeros(vectors.shape, dtype=np.result_type(table, vectors))
    for flip, d in zip(flips, table):
        out += ((d if vectors.ndim == 1 else d[:, None]) * vectors)[cols ^ flip]  # <b ^ f| H |b> = d[b]
    return out


def dense_matrix(n_qubits: int, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """Dense complex128 matrix (2**n, 2**n)."""
    check_qubits(n_qubits, MAX_DENSE_QUBITS, "a dense PauliSum matrix")
    dim = 1 << n_qubits
    out = np.zeros((dim, dim), dtype=np.complex128)
    cols = np.arange(dim)
    for flip, d in flip_diagonals(n_qubits, x, z, coeffs):
        out[cols ^ flip, cols] += d
    return out


def sparse_matrix(n_qubits: int, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray):
    """scipy.sparse CSR matrix (2**n, 2**n)."""
    from hybridq.errors import require

    sparse = require("scipy.sparse", "all")
    dim = 1 << n_qubits
    cols = np.arange(dim)
    rows, vals = [], []
    for flip, d in flip_diagonals(n_qubits, x, z, coeffs):
        rows.append(cols ^ flip)
        vals.append(d)
    if not rows:
        return sparse.csr_matrix((dim, dim), dtype=np.complex128)
    matrix = sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.tile(cols, len(rows)))), shape=(dim, dim)
    )
    matrix = matrix.tocsr()
    matrix.eliminate_zeros()
    return matrix


def as_state_array(state, n_qubits: int) -> tuple[np.ndarray, bool]:
    """A numpy or torch state (2**n,) or batch (B, 2**n) -> (complex128 array (B, 2**n), single)."""
    if hasattr(state, "detach"):  # torch tensor, on any device
        state = state.detach().cpu().resolve_conj().numpy()
    try:
        psi = np.asarray(state, dtype=np.complex128)
    except (TypeError, ValueError) as error:
        raise ShapeError(f"a state must be an array of numbers; got {type(state).__name__}: {error}") from None
    check_finite(psi, "the state")
    dim = 1 << n_qubits
    if psi.ndim not in (1, 2) or psi.shape[-1] != dim:
        raise ShapeError(
            f"expected a state of shape ({dim},) or (batch, {dim}) for {n_qubits} qubits; got {psi.shape}"
        )
    return psi.reshape(-1, dim), psi.ndim == 1


def expectation(n_qubits: int, x: np.ndarray, z: np.ndarray, coeffs: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """``<psi|H|psi>`` for each row of ``psi`` (B, 2**n); complex, shape (B,).

    Per X mask ``f``: with ``v[b] = conj(psi[b ^ f]) psi[b]``, every term of the group is
    ``c i**|y| WHT(v)[z]``, so one transform serves the whole group.
    """
    cols = np.arange(psi.shape[-1])
    total = np.zeros(psi.shape[0], dtype=np.complex128)
    for flip, zmasks, phased in _flip_groups(n_qubits, x, z, coeffs):
        overlaps = walsh_hadamard(psi[:, cols ^ flip].conj() * psi)
        total += overlaps[:, zmasks] @ phased
    return total
