"""Fermion-to-qubit encodings: Jordan-Wigner, Bravyi-Kitaev, and parity with its two-qubit reduction.

The transforms are OpenFermion's; this module fixes the spin-orbital order each encoding uses
and removes the two parity qubits that a number- and spin-conserving operator leaves constant.

- ``"jordan-wigner"`` and ``"bravyi-kitaev"``: spin orbitals interleaved (mode ``2k`` spin up,
  ``2k + 1`` spin down of orbital ``k``; OpenFermion's order).
- ``"parity"``: spin orbitals blocked (all spin up, then all spin down), so that qubit
  ``m/2 - 1`` holds the parity of the spin-up electrons and qubit ``m - 1`` that of all of them;
  with ``two_qubit_reduction`` both are replaced by their values and dropped (``m - 2`` qubits).

>>> enc = Encoding("parity", two_qubit_reduction=True)
>>> enc.n_qubits(4), enc.mode(1, 1, n_orbitals=2)
(2, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybridq.errors import MoleculeError, require
from hybridq.operators.interop import from_openfermion
from hybridq.operators.molecules import encode_occupation, encoding_name
from hybridq.operators.pauli_sum import PauliSum


@dataclass(frozen=True)
class Encoding:
    """A fermion-to-qubit encoding with its spin-orbital order.

    Args:
        name: ``"jordan-wigner"`` (``"jw"``), ``"parity"`` or ``"bravyi-kitaev"`` (``"bk"``).
        two_qubit_reduction: drop the two parity qubits (parity only). Defaults to False.
    """

    name: str = "jordan-wigner"
    two_qubit_reduction: bool = False

    def __post_init__(self):
        object.__setattr__(self, "name", encoding_name(self.name))
        if self.two_qubit_reduction and self.name != "parity":
            raise MoleculeError(f"the two-qubit reduction applies to the parity encoding only; got encoding={self.name!r}")

    @property
    def blocked(self) -> bool:
        """Whether spin orbitals are blocked (all spin up first) rather than interleaved."""
        return self.name == "parity"

    def n_qubits(self, n_modes: int) -> int:
        """Qubits for ``n_modes`` spin orbitals."""
        return n_modes - 2 * self.two_qubit_reduction

    def mode(self, orbital: int, spin: int, *, n_orbitals: int) -> int:
        """Index of the spin orbital (``spin`` 0 up, 1 down) of spatial ``orbital``."""
        return orbital + spin * n_orbitals if self.blocked else 2 * orbital + spin

    def occupation(self, n_alpha: int, n_beta: int, n_orbitals: int) -> str:
        """Occupation bitstring of the modes (lowest orbitals filled), mode 0 first."""
        bits = ["0"] * (2 * n_orbitals)
        for spin, count in enumerate((n_alpha, n_beta)):
            for k in range(count):
                bits[self.mode(k, spin, n_orbitals=n_orbitals)] = "1"
        return "".join(bits)

    def bitstring(self, n_alpha: int, n_beta: int, n_orbitals: int) -> str:
        """The Hartree-Fock state in this encoding, qubit 0 first."""
        bits = encode_occupation(self.occupation(n_alpha, n_beta, n_orbitals), self.name)
        return self._reduced_bits(bits)

    def qubit_operator(self, fermion_operator, *, n_modes: int, n_alpha: int, n_beta: int) -> PauliSum:
        """The qubit operator of an OpenFermion ``FermionOperator`` given in interleaved mode order.

        ``n_alpha`` and ``n_beta`` fix the values of the reduced parity qubits; the operator
        must conserve both spin populations' parities (Hamiltonians and excitations do).
        """
        of = require("openfermion", "chem")
        if self.name == "jordan-wigner":
            op = of.jordan_wigner(fermion_operator)
        elif self.name == "bravyi-kitaev":
            op = of.bravyi_kitaev(fermion_operator, n_qubits=n_modes)
        else:
            blocked = of.reorder(fermion_operator, of.up_then_down, num_modes=n_modes)
            op = of.binary_code_transform(blocked, of.parity_code(n_modes))
        paulis = from_openfermion(op, n_qubits=n_modes).simplify(1e-12)
        return self._taper(paulis, n_alpha, n_beta) if self.two_qubit_reduction else paulis

    def _reduced_bits(self, bits: str) -> str:
        if not self.two_qubit_reduction:
            return bits
        m = len(bits)
        return "".join(b for q, b in enumerate(bits) if q not in (m // 2 - 1, m - 1))

    def _taper(self, paulis: PauliSum, n_alpha: int, n_beta: int) -> PauliSum:
        """Replace Z on the two parity qubits by their eigenvalues and drop them."""
        m = paulis.n_qubits
        fixed = {m // 2 - 1: (-1) ** n_alpha, m - 1: (-1) ** (n_alpha + n_beta)}
        terms = []
        for label, coeff in paulis.to_list():
            if any(label[q] in "XY" for q in fixed):
                raise MoleculeError(f"the operator does not conserve the spin parities (term {label}); "
                                    f"use two_qubit_reduction=False")
            sign = np.prod([fixed[q] for q in fixed if label[q] == "Z"])
            terms.append(("".join(p for q, p in enumerate(label) if q not in fixed), sign * coeff))
        return PauliSum.from_list(terms, n_qubits=m - 2).simplify(1e-12)


def as_encoding(encoding: str | Encoding) -> Encoding:
    """An :class:`Encoding` as it is, or one built from its name.

    >>> as_encoding("bk").name
    'bravyi-kitaev'
    """
    return encoding if isinstance(encoding, Encoding) else Encoding(encoding)
