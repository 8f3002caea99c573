"""Molecules: geometry, basis, charge, spin, active space -> qubit Hamiltonian and reference energies.

A :class:`Molecule` is checked when it is made (known elements, atoms apart, an electron count
that fits the multiplicity, an active space that fits the basis), before PySCF runs. PySCF
(RHF, or ROHF for open shells) and its CASCI give the active-space integrals and the exact
(FCI) energy of the active space; OpenFermion turns them into a qubit Hamiltonian
(:mod:`hybridq.chem.encodings`). Energies are total energies in Hartree: the nuclear repulsion
and the frozen core are in the Hamiltonian's identity term.

>>> mol = Molecule.from_xyz("H 0 0 0; H 0 0 0.735")
>>> mol.n_electrons, mol.n_qubits()
(2, 4)
>>> round(mol.e_hf, 6), round(mol.e_fci, 6)
(-1.116999, -1.137306)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hybridq.errors import MoleculeError, require
from hybridq.operators.molecules import fix_orbital_signs, molecule_info
from hybridq.operators.pauli_sum import PauliSum

from .encodings import Encoding, as_encoding

ELEMENTS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr "
    "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe"
).split()
ATOMIC_NUMBER = {symbol: z for z, symbol in enumerate(ELEMENTS, start=1)}
MIN_DISTANCE = 0.3  # Angstrom; closer atoms are taken for a typo
FCI_MAX_ORBITALS = 14  # active orbitals up to which the exact energy is computed
_CORE_SHELLS = ((2, 0), (10, 1), (18, 5), (36, 9), (54, 18))  # atomic number up to -> frozen core orbitals

Atom = tuple[str, tuple[float, float, float]]


@dataclass(frozen=True)
class Molecule:
    """A molecule and the part of its electronic structure that becomes qubits.

    Args:
        geometry: atoms as ``[("H", (0, 0, 0)), ("H", (0, 0, 0.735))]`` in Angstrom; see also
            :meth:`from_xyz`, :meth:`from_file` and :meth:`from_name`.
        basis: Gaussian basis set. Defaults to STO-3G.
        charge: total charge. Defaults to 0.
        multiplicity: spin multiplicity ``2S + 1``. Defaults to 1 (singlet).
        active_electrons: electrons in the active space. Defaults to all but the frozen core's.
        active_orbitals: spatial orbitals in the active space (the lowest above the core).
            Defaults to all but the frozen core's.
        frozen_core: freeze each atom's inner shells (Li-Ne: 1s) when no active space is given.
            Defaults to False.
    """

    geometry: tuple[Atom, ...]
    basis: str = "sto-3g"
    charge: int = 0
    multiplicity: int = 1
    active_electrons: int | None = None
    active_orbitals: int | None = None
    frozen_core: bool = False
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "geometry", _checked_geometry(self.geometry))
        for name in ("charge", "multiplicity"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), (int, np.integer)):
                raise MoleculeError(f"{name} must be an integer, got {getattr(self, name)!r}")
        if self.multiplicity < 1:
            raise MoleculeError(f"multiplicity is 2S + 1 >= 1, got {self.multiplicity}")
        n = self.n_electrons
        if n < 1:
            raise MoleculeError(f"charge {self.charge} leaves {n} electrons; a molecule needs at least one")
        if (n + self.multiplicity - 1) % 2 or self.multiplicity - 1 > n:
            raise MoleculeError(
                f"{n} electrons cannot have multiplicity {self.multiplicity} (2S = {self.multiplicity - 1} unpaired "
                f"electrons); an {'even' if n % 2 == 0 else 'odd'} count needs an {'odd' if n % 2 == 0 else 'even'} "
                f"multiplicity, e.g. multiplicity={1 if n % 2 == 0 else 2}, or change the charge")
        self._check_active_space()

    # ----- constructors
    @classmethod
    def from_xyz(cls, text: str, **options) -> Molecule:
        """From XYZ text: ``"H 0 0 0; H 0 0 0.735"`` or lines, optionally with the XYZ file's
        count and comment lines first.

        >>> Molecule.from_xyz("2\\nhydrogen\\nH 0 0 0\\nH 0 0 0.74").geometry[1]
        ('H', (0.0, 0.0, 0.74))
        """
        lines = [line.strip() for line in re.split(r"[;\n]", text)]
        if lines and re.fullmatch(r"\d+", lines[0]):
            lines = lines[2:]  # atom count and comment line of an .xyz file
        atoms = []
        for line in filter(None, lines):
            parts = line.replace(",", " ").split()
            try:
                atoms.append((parts[0], tuple(float(v) for v in parts[1:])))
            except ValueError:
                raise MoleculeError(f"cannot read the XYZ line {line!r}; expected 'Symbol x y z' in Angstrom") from None
        return cls(tuple(atoms), **options)

    @classmethod
    def from_file(cls, path: str | Path, **options) -> Molecule:
        """From an ``.xyz`` file (see :meth:`from_xyz`)."""
        path = Path(path)
        if not path.is_file():
            raise MoleculeError(f"no geometry file at {str(path)!r}")
        return cls.from_xyz(path.read_text(), **options)

    @classmethod
    def from_name(cls, name: str, **options) -> Molecule:
        """A shipped molecule's geometry (``"H2"``, ``"LiH"``, ``"BeH2"``, ``"H2O"``, ``"NH3"``).

        >>> Molecule.from_name("LiH", active_electrons=2, active_orbitals=2).n_qubits()
        4
        """
        info = molecule_info(name)
        if info.geometry is None:
            raise MoleculeError(f"{name!r} is shipped without a geometry; pass one to Molecule(...)")
        options.setdefault("basis", info.basis)
        return cls(info.geometry, **options)

    # ----- sizes
    @property
    def n_electrons(self) -> int:
        """All electrons (nuclear charges minus the charge)."""
        return sum(ATOMIC_NUMBER[symbol] for symbol, _ in self.geometry) - self.charge

    @property
    def n_core_orbitals(self) -> int:
        """Doubly occupied orbitals kept out of the active space."""
        if self.active_electrons is not None:
            return (self.n_electrons - self.active_electrons) // 2
        if not self.frozen_core:
            return 0
        return sum(next(c for z_max, c in _CORE_SHELLS if ATOMIC_NUMBER[s] <= z_max) for s, _ in self.geometry)

    @property
    def n_active_electrons(self) -> int:
        return self.n_electrons - 2 * self.n_core_orbitals

    @property
    def n_active_orbitals(self) -> int:
        return self.active_orbitals if self.active_orbitals is not None else self.n_basis - self.n_core_orbitals

    @property
    def n_alpha(self) -> int:
        """Active spin-up electrons."""
        return (self.n_active_electrons + self.multiplicity - 1) // 2

    @property
    def n_beta(self) -> int:
        """Active spin-down electrons."""
        return self.n_active_electrons - self.n_alpha

    @property
    def n_basis(self) -> int:
        """Spatial orbitals of the basis (PySCF's count; no SCF is run)."""
        if "n_basis" not in self._cache:
            self._cache["n_basis"] = int(self._mole().nao_nr())
        return self._cache["n_basis"]

    def n_qubits(self, encoding: str | Encoding = "jordan-wigner") -> int:
        """Qubits of the active space in ``encoding``."""
        return as_encoding(encoding).n_qubits(2 * self.n_active_orbitals)

    @property
    def formula(self) -> str:
        counts: dict[str, int] = {}
        for symbol, _ in self.geometry:
            counts[symbol] = counts.get(symbol, 0) + 1
        return "".join(s + (str(n) if n > 1 else "") for s, n in counts.items())

    # ----- electronic structure (PySCF, once)
    @property
    def e_hf(self) -> float:
        """Hartree-Fock total energy."""
        return self._electronic()["e_hf"]

    @property
    def e_fci(self) -> float | None:
        """Exact energy of the active space (CASCI), None above ``FCI_MAX_ORBITALS`` (14) active orbitals."""
        return self._electronic()["e_fci"]

    def fermion_hamiltonian(self):
        """The active-space Hamiltonian as an OpenFermion ``FermionOperator`` (interleaved modes)."""
        return self._electronic()["fermion"]

    def hamiltonian(self, encoding: str | Encoding = "jordan-wigner") -> PauliSum:
        """The qubit Hamiltonian of the active space (total energies).

        >>> h2 = Molecule.from_name("H2")
        >>> h2.hf_bitstring("parity"), round(h2.hamiltonian("parity").basis_state_expectation("1100"), 6)
        ('1100', -1.116999)
        """
        enc = as_encoding(encoding)
        key = ("hamiltonian", enc)
        if key not in self._cache:
            self._cache[key] = self.qubit_operator(self.fermion_hamiltonian(), enc)
        return self._cache[key]

    def qubit_operator(self, fermion_operator, encoding: str | Encoding = "jordan-wigner") -> PauliSum:
        """Any active-space ``FermionOperator`` (interleaved modes) in ``encoding``."""
        return as_encoding(encoding).qubit_operator(fermion_operator, n_modes=2 * self.n_active_orbitals,
                                                  n_alpha=self.n_alpha, n_beta=self.n_beta)

    def hf_bitstring(self, encoding: str | Encoding = "jordan-wigner") -> str:
        """The Hartree-Fock state in ``encoding``, qubit 0 first.

        >>> Molecule.from_name("H2").hf_bitstring(), Molecule.from_name("H2").hf_bitstring("bk")
        ('1100', '1000')
        """
        return as_encoding(encoding).bitstring(self.n_alpha, self.n_beta, self.n_active_orbitals)

    # ----- internals
    def _check_active_space(self) -> None:
        ae, ao = self.active_electrons, self.active_orbitals
        if ae is None and ao is None:
            return
        if ae is None or ao is None:
            raise MoleculeError("give both active_electrons and active_orbitals (or neither)")
        if ae < 1 or ae > self.n_electrons:
            raise MoleculeError(f"active_electrons must be between 1 and the molecule's {self.n_electrons}, got {ae}")
        if (self.n_electrons - ae) % 2:
            raise MoleculeError(f"the core must hold electron pairs: {self.n_electrons} electrons minus {ae} active "
                                f"is odd; choose an active_electrons of parity {self.n_electrons % 2}")
        if self.multiplicity - 1 > ae:
            raise MoleculeError(f"{ae} active electrons cannot hold the {self.multiplicity - 1} unpaired electrons "
                                f"of multiplicity {self.multiplicity}")
        if ao < 1 or 2 * ao < ae or ao < self.n_alpha:
            raise MoleculeError(f"{ao} active orbital(s) cannot hold {ae} electrons with multiplicity "
                                f"{self.multiplicity}; use at least {max(self.n_alpha, math.ceil(ae / 2))}")
        if self.n_core_orbitals + ao > self.n_basis:
            raise MoleculeError(
                f"the active space ({ae} electrons in {ao} orbitals above {self.n_core_orbitals} core orbitals) is "
                f"larger than the {self.basis!r} basis of {self.formula} ({self.n_basis} orbitals); use at most "
                f"{self.n_basis - self.n_core_orbitals} active orbitals or a larger basis")

    def _mole(self):
        gto = require("pyscf.gto", "chem")
        try:
            return gto.M(atom=[list(a) for a in self.geometry], basis=self.basis, charge=self.charge,
                         spin=self.multiplicity - 1, unit="Angstrom", verbose=0)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise MoleculeError(f"PySCF cannot build {self.formula} in basis {self.basis!r}: {exc}") from None

    def _electronic(self) -> dict:
        if "electronic" not in self._cache:
            self._cache["electronic"] = _electronic_structure(self)
        return self._cache["electronic"]


def _electronic_structure(mol: Molecule) -> dict:
    """PySCF SCF and CASCI integrals of the active space, as an OpenFermion operator."""
    scf, mcscf, ao2mo = (require(f"pyscf.{m}", "chem") for m in ("scf", "mcscf", "ao2mo"))
    of = require("openfermion", "chem")
    from openfermion.chem.molecular_data import spinorb_from_spatial

    pyscf_mol = mol._mole()
    mf = (scf.RHF if mol.multiplicity == 1 else scf.ROHF)(pyscf_mol)
    mf.kernel()
    if not mf.converged:
        raise MoleculeError(f"PySCF Hartree-Fock did not converge for {mol.formula} in basis {mol.basis!r}")
    n_orb = mol.n_active_orbitals
    cas = mcscf.CASCI(mf, n_orb, (mol.n_alpha, mol.n_beta))
    cas.mo_coeff = fix_orbital_signs(mf.mo_coeff)
    one_body, core_energy = cas.get_h1eff()
    two_body = ao2mo.restore(1, cas.get_h2eff(), n_orb).transpose(0, 2, 3, 1)
    one_so, two_so = spinorb_from_spatial(one_body, two_body)
    fermion = of.get_fermion_operator(of.InteractionOperator(float(core_energy), one_so, 0.5 * two_so))
    e_fci = None
    if n_orb <= FCI_MAX_ORBITALS:
        cas.verbose = 0
        e_fci = float(cas.kernel()[0])
    return {"e_hf": float(mf.e_tot), "e_fci": e_fci, "fermion": fermion}


def _checked_geometry(geometry) -> tuple[Atom, ...]:
    """Atoms as ``(symbol, (x, y, z))`` floats, known elements, no two atoms on top of each other."""
    if isinstance(geometry, str):
        raise MoleculeError("a geometry string is XYZ text: use Molecule.from_xyz(text)")
    try:
        atoms = [(str(symbol), tuple(float(v) for v in position)) for symbol, position in geometry]
    except (TypeError, ValueError):
        raise MoleculeError(f"geometry must be a list of (symbol, (x, y, z)) in Angstrom, got {geometry!r}") from None
    if not atoms:
        raise MoleculeError("the geometry has no atoms")
    for symbol, position in atoms:
        if symbol not in ATOMIC_NUMBER:
            close = [s for s in ELEMENTS if s.lower() == symbol.lower()]
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {ELEMENTS[0]}..{ELEMENTS[-1]}"
            raise MoleculeError(f"unknown element {symbol!r}{hint}")
        if len(position) != 3 or not all(math.isfinite(v) for v in position):
            raise MoleculeError(f"atom {symbol} needs three finite coordinates (Angstrom), got {position}")
    xyz = np.array([p for _, p in atoms])
    dist = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1) + np.eye(len(atoms)) * 1e9
    i, j = np.unravel_index(np.argmin(dist), dist.shape)
    if dist[i, j] < MIN_DISTANCE:
        raise MoleculeError(f"atoms {i} ({atoms[i][0]}) and {j} ({atoms[j][0]}) are {dist[i, j]:.3f} Angstrom apart "
                            f"(closer than {MIN_DISTANCE}); check the geometry's units (Angstrom) and coordinates")
    return tuple(atoms)

