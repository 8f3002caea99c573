"""Clifford circuits that diagonalise a set of commuting Pauli strings.

Pauli strings are bool masks ``x``, ``z`` ``(T, n)`` (Y is ``x = z = 1``, the Hermitian string
``i**(x.z) X**x Z**z``) with a sign bit. Conjugation ``P -> U P U^dagger`` by H, S, CNOT and CZ
follows the stabiliser-tableau rules (Aaronson and Gottesman 2004), vectorised over strings.

:func:`diagonalising_gates` builds, for commuting members processed one at a time, a circuit
that maps every member to a signed Z string: a member that is not yet diagonal gets a pivot
qubit ``q`` where it has an X or Y; CNOTs from ``q`` clear its other X letters, S turns a Y
on ``q`` into X, CZs from ``q`` clear its Z letters, and H maps the remaining ``X_q`` to ``Z_q``. Earlier
members, already ``Z`` on their own pivots, commute with the member, so it has no X on those
pivots and none of these gates disturbs them.

>>> import numpy as np
>>> x = np.array([[1, 1], [0, 0]], bool); z = np.array([[0, 0], [1, 1]], bool)  # XX, ZZ
>>> gates = diagonalising_gates(x, z)
>>> gates
[('CNOT', (0, 1)), ('H', (0,))]
>>> cx, cz, sign = conjugate(x, z, np.zeros(2, bool), gates)
>>> cx.any(), cz.astype(int).tolist(), sign.tolist()
(np.False_, [[1, 0], [0, 1]], [False, False])
"""

from __future__ import annotations

import numpy as np

Gate = tuple[str, tuple[int, ...]]


def _h(x, z, sign, q):
    sign ^= x[:, q] & z[:, q]
    x[:, q], z[:, q] = z[:, q].copy(), x[:, q].copy()


def _s(x, z, sign, q):
    sign ^= x[:, q] & z[:, q]
    z[:, q] ^= x[:, q]


def _cnot(x, z, sign, c, t):
    sign ^= x[:, c] & z[:, t] & ~(x[:, t] ^ z[:, c])
    x[:, t] ^= x[:, c]
    z[:, c] ^= z[:, t]


def conjugate(x: np.ndarray, z: np.ndarray, sign: np.ndarray, gates: list[Gate]):
    """``U P U^dagger`` for each string (masks ``(T, n)``, sign bits ``(T,)``) and the circuit
    ``U`` given as ``gates`` (applied first to last); returns new ``(x, z, sign)``."""
    x, z, sign = np.array(x, dtype=bool), np.array(z, dtype=bool), np.array(sign, dtype=bool)
    for name, qubits in gates:
        if name == "H":
            _h(x, z, sign, qubits[0])
        elif name == "S":
            _s(x, z, sign, qubits[0])
        elif name == "CNOT":
            _cnot(x, z, sign, *qubits)
        elif name == "CZ":
            _h(x, z, sign, qubits[1])
            _cnot(x, z, sign, *qubits)
            _h(x, z, sign, qubits[1])
        else:
            raise ValueError(f"unknown Clifford gate {name!r}; expected H, S, CNOT or CZ")
    return x, z, sign


def commuting(x: np.ndarray, z: np.ndarray, px: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """Whether each string ``(x, z)`` ``(T, n)`` commutes with the string ``(px, pz)`` ``(n,)``."""
    return ((x & pz).sum(axis=-1) + (z & px).sum(axis=-1)) % 2 == 0


def diagonalising_gates(x: np.ndarray, z: np.ndarray) -> list[Gate]:
    """Gates of a Clifford circuit ``U`` with ``U P U^dagger`` a signed Z string for every
    member ``P`` (rows of ``x``, ``z``; they must commute pairwise).

    Raises:
        ValueError: two members do not commute.
    """
    x, z = np.asarray(x, dtype=bool), np.asarray(z, dtype=bool)
    for k in range(len(x)):
        if not commuting(x[:k], z[:k], x[k], z[k]).all():
            raise ValueError(f"member {k} does not commute with every earlier member; the group must commute")
    gates: list[Gate] = []
    for k in range(len(x)):
        (px,), (pz,), _ = conjugate(x[k:k + 1], z[k:k + 1], np.zeros(1, bool), gates)
        if not px.any():
            continue
        q = int(np.flatnonzero(px)[0])
        new: list[Gate] = [("CNOT", (q, int(j))) for j in np.flatnonzero(px) if j != q]
        (px,), (pz,), _ = conjugate(px[None], pz[None], np.zeros(1, bool), new)
        if pz[q]:
            new.append(("S", (q,)))
        new += [("CZ", (q, int(j))) for j in np.flatnonzero(pz) if j != q]
        new.append(("H", (q,)))
        gates += new
    return gates
