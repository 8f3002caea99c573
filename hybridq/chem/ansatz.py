"""Chemistry ansätze as :class:`~hybridq.circuits.Circuit` objects with named weights.

- :func:`hartree_fock`: X gates preparing the Hartree-Fock state of a molecule's active space.
- :func:`uccsd`: Hartree-Fock, then one factor ``exp(t (T - T^dag))`` per single and double
  excitation of the active space (occupied -> virtual, spin conserved). Each factor is the
  encoded excitation's Pauli terms, which commute, as Pauli rotations sharing one weight; with
  ``spin_adapted`` (closed shells) an excitation and its spin-flipped image share a weight.
- :func:`hardware_efficient`: Hartree-Fock, then layers of RY rotations and CZ chains.

>>> from hybridq.chem import Molecule
>>> c = uccsd(Molecule.from_name("H2"))
>>> c.weight_names, c.count_ops()
(['t_d(0a,0b->1a,1b)', 't_s(0->1)'], {'X': 2, 'PauliRot': 12})
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations, product

from hybridq.circuits import Circuit, Weight
from hybridq.circuits.ansatz import hardware_efficient as _layers
from hybridq.errors import MoleculeError, require

from .encodings import Encoding, as_encoding
from .molecule import Molecule

SPIN = "ab"  # spin up (alpha), spin down (beta)


@dataclass(frozen=True)
class Excitation:
    """Occupied spin orbitals -> virtual ones, as ``(orbital, spin)`` pairs (spin 0 up, 1 down)."""

    occupied: tuple[tuple[int, int], ...]
    virtual: tuple[tuple[int, int], ...]

    def fermion_operator(self):
        """``T - T^dag`` with ``T = a^dag_virtual... a_occupied...`` in interleaved modes."""
        of = require("openfermion", "chem")
        modes = [(2 * k + s, 1) for k, s in self.virtual] + [(2 * k + s, 0) for k, s in reversed(self.occupied)]
        term = of.FermionOperator(tuple(modes))
        return term - of.hermitian_conjugated(term)

    def flipped(self) -> Excitation:
        """The same excitation with spin up and down exchanged."""
        return Excitation(tuple((k, 1 - s) for k, s in self.occupied), tuple((k, 1 - s) for k, s in self.virtual))

    def label(self) -> str:
        def spins(part):
            return ",".join(f"{k}{SPIN[s]}" for k, s in part)
        return f"{spins(self.occupied)}->{spins(self.virtual)}"


def excitations(molecule: Molecule, *, spin_adapted: bool = True) -> dict[str, list[Excitation]]:
    """The active space's spin-conserving doubles, then singles, grouped by shared weight name.

    >>> from hybridq.chem import Molecule
    >>> lih = Molecule.from_name("LiH")
    >>> len(excitations(lih)), len(excitations(lih, spin_adapted=False))
    (50, 92)
    """
    n = molecule.n_active_orbitals
    occupied = [(k, 0) for k in range(molecule.n_alpha)] + [(k, 1) for k in range(molecule.n_beta)]
    virtual = [(k, 0) for k in range(molecule.n_alpha, n)] + [(k, 1) for k in range(molecule.n_beta, n)]
    singles = [Excitation((i,), (a,)) for i, a in product(occupied, virtual) if i[1] == a[1]]
    doubles = [Excitation(ij, ab) for ij, ab in product(combinations(occupied, 2), combinations(virtual, 2))
               if sorted(s for _, s in ij) == sorted(s for _, s in ab)]
    share = spin_adapted and molecule.n_alpha == molecule.n_beta
    groups: dict[str, list[Excitation]] = {}
    for kind, found in (("d", doubles), ("s", singles)):
        seen: dict[Excitation, str] = {}
        for ex in found:
            mirror = _canonical(ex.flipped())
            if share and mirror in seen:
                groups[seen[mirror]].append(ex)
                continue
            name = f"t_{kind}({ex.label()})" if not share else f"t_{kind}({_spatial_label(ex)})"
            seen[_canonical(ex)] = name
            groups[name] = [ex]
    return groups


def hartree_fock(molecule: Molecule, encoding: str | Encoding = "jordan-wigner") -> Circuit:
    """X gates preparing the Hartree-Fock bitstring of ``molecule`` in ``encoding``.

    >>> from hybridq.chem import Molecule
    >>> hartree_fock(Molecule.from_name("H2"), "bravyi-kitaev").count_ops()
    {'X': 1}
    """
    bits = molecule.hf_bitstring(encoding)
    circuit = Circuit(len(bits))
    for q, b in enumerate(bits):
        if b == "1":
            circuit.x(q)
    return circuit


def uccsd(molecule: Molecule, encoding: str | Encoding = "jordan-wigner", *, spin_adapted: bool = True) -> Circuit:
    """Unitary coupled cluster with singles and doubles on the Hartree-Fock state.

    Args:
        molecule: the molecule (its active space sets the excitations).
        encoding: fermion-to-qubit encoding (as for :meth:`Molecule.hamiltonian`).
        spin_adapted: closed shells: an excitation and its spin-flipped image share one weight
            (fewer parameters, same optimum for singlets). Defaults to True.

    All weights zero give the Hartree-Fock state.
    """
    enc = as_encoding(encoding)
    circuit = hartree_fock(molecule, enc)
    for name, group in excitations(molecule, spin_adapted=spin_adapted).items():
        for ex in group:
            generator = molecule.qubit_operator(ex.fermion_operator(), enc)
            # T - T^dag = sum_k i c_k P_k (commuting): exp(t (T - T^dag)) = prod_k exp(-i (-2 c_k t) / 2 P_k)
            for label, coeff in generator.to_list():
                qubits = [q for q, p in enumerate(label) if p != "I"]
                circuit.pauli_rotation(-2.0 * coeff.imag * Weight(name), "".join(label[q] for q in qubits), qubits)
    return circuit


def hardware_efficient(molecule: Molecule, layers: int, encoding: str | Encoding = "jordan-wigner") -> Circuit:
    """Hartree-Fock, then ``layers`` of RY on every qubit and a CZ chain, and a last RY layer.

    A real-valued circuit (as the Hamiltonians' ground states are) that is the Hartree-Fock
    state at zero weights (CZ only changes signs of basis states); it does not conserve the
    particle number, unlike :func:`uccsd`.

    >>> from hybridq.chem import Molecule
    >>> len(hardware_efficient(Molecule.from_name("H2"), 2).weight_names)
    12
    """
    if not isinstance(layers, int) or layers < 1:
        raise MoleculeError(f"layers must be a positive integer, got {layers!r}")
    reference = hartree_fock(molecule, encoding)
    return reference + _layers(reference.n_qubits, layers, rotations=("RY",), entangler="CZ", final_rotations=True)


def _canonical(ex: Excitation) -> Excitation:
    return Excitation(tuple(sorted(ex.occupied, key=lambda p: (p[1], p[0]))),
                      tuple(sorted(ex.virtual, key=lambda p: (p[1], p[0]))))


def _spatial_label(ex: Excitation) -> str:
    """The label of the spin-adapted pair: spins as in ``ex`` (the first of the pair)."""
    if len(ex.occupied) == 1:
        return f"{ex.occupied[0][0]}->{ex.virtual[0][0]}"
    return ex.label()
