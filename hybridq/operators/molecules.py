"""Molecular qubit Hamiltonians: shipped data, or built with PySCF + OpenFermion.

Shipped (``hybridq/operators/data``, provenance in its README):

- ``"H2"``, ``"LiH"``, ``"BeH2"``, ``"H2O"``, ``"NH3"``: STO-3G, Jordan-Wigner, spin orbitals
  interleaved (qubit 2k = spin-up, 2k + 1 = spin-down of orbital k, OpenFermion's order). The
  identity term includes the nuclear repulsion, so energies are total energies.
- The measurement-estimation benchmark set (LBCS / decision-diagram papers): ``"H2_STO-3G"``,
  ``"H2_6-31G"``, ``"LiH_STO-3G"``, ``"BeH2_STO-3G"``, ``"H2O_STO-3G"``, ``"NH3_STO-3G"``,
  ``"C2_STO-3G"``, ``"HCl_STO-3G"`` in Jordan-Wigner, parity and Bravyi-Kitaev encodings,
  spin orbitals blocked (all spin-up, then all spin-down). Their energies are *electronic*:
  add ``static_energy`` for totals.

Encoded Hartree-Fock bitstrings follow the conventions of both sources (checked against their
Hartree-Fock energies): parity qubit j holds the parity of modes 0..j, Bravyi-Kitaev uses the
Seeley-Richard-Love matrix, modes in label order.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import numpy as np

from hybridq.errors import MoleculeError, require
from hybridq.operators.files import pauli_sum_from_json
from hybridq.operators.interop import from_openfermion
from hybridq.operators.pauli_sum import PauliSum

Encoding = Literal["jordan-wigner", "parity", "bravyi-kitaev"]
Geometry = Sequence[tuple[str, Sequence[float]]]

_TAGS = {"jordan-wigner": "jw", "jw": "jw", "parity": "parity", "bravyi-kitaev": "bk", "bk": "bk"}
_LONG = {"jw": "jordan-wigner", "parity": "parity", "bk": "bravyi-kitaev"}
_FCI_MAX_ORBITALS = 10  # PySCF FCI is quick up to here


@dataclass(frozen=True)
class MoleculeInfo:
    """Metadata of a molecular Hamiltonian.

    Energies are those of the operator as given (``H.basis_state_expectation(hf_bitstring)``
    is ``e_hf``); add ``static_energy`` for total energies.

    Attributes:
        name: molecule name (e.g. ``"H2_6-31G"``), or the formula of a built geometry.
        basis: Gaussian basis set.
        encoding: ``"jordan-wigner"``, ``"parity"`` or ``"bravyi-kitaev"``.
        n_qubits, n_terms, n_electrons: sizes.
        hf_bitstring: Hartree-Fock state in this encoding, qubit 0 first.
        e_hf: Hartree-Fock energy of the operator (Hartree).
        e_fci: lowest energy in the molecule's electron sector (FCI), None where not computed.
        static_energy: constant (nuclear repulsion) left out of the operator; 0.0 when it is
            included, None where unknown.
        spin_order: ``"interleaved"`` (up, down per orbital) or ``"blocked"`` (all up first).
        geometry: atoms and positions in Angstrom, None where the source gives none.
        source: where the data come from.
    """

    name: str
    basis: str
    encoding: str
    n_qubits: int
    n_terms: int
    n_electrons: int
    hf_bitstring: str
    e_hf: float | None
    e_fci: float | None
    static_energy: float | None
    spin_order: str
    geometry: tuple[tuple[str, tuple[float, float, float]], ...] | None
    source: str


def available_molecules() -> list[str]:
    """Names of the shipped molecules.

    >>> "H2O" in available_molecules() and "H2_6-31G" in available_molecules()
    True
    """
    return sorted({stem.rsplit("_", 1)[0] for stem in _shipped_stems()}, key=str.lower)


def molecule_info(name: str, *, encoding: Encoding = "jordan-wigner") -> MoleculeInfo:
    """Metadata of a shipped molecule (see :class:`MoleculeInfo`).

    >>> info = molecule_info("H2")
    >>> info.hf_bitstring, round(info.e_hf, 6)
    ('1100', -1.116999)
    """
    stem = _find_stem(name, _tag(encoding))
    if stem is None:
        raise MoleculeError(f"{name!r} is shipped only in {_shipped_encodings(name)}; got encoding={encoding!r}")
    return _info_from_json(_read_json(stem))


def molecule_hamiltonian(
    name_or_geometry: str | Geometry, *, basis: str | None = None, encoding: Encoding = "jordan-wigner"
) -> PauliSum:
    """Qubit Hamiltonian of a molecule.

    A shipped name with its own basis (``basis=None`` or equal) and a shipped encoding is read
    from the package data; any other basis or encoding of a shipped molecule with a geometry,
    or an explicit geometry, is built with PySCF + OpenFermion (:func:`build_molecule`).

    Args:
        name_or_geometry: a name from :func:`available_molecules` (case-insensitive), or atoms
            as ``[("H", (0, 0, 0)), ("H", (0, 0, 0.735))]`` in Angstrom.
        basis: Gaussian basis set; None means the shipped one, or STO-3G for a geometry.
        encoding: fermion-to-qubit encoding.

    >>> molecule_hamiltonian("LiH_STO-3G", encoding="parity").n_qubits
    12
    """
    tag = _tag(encoding)
    if not isinstance(name_or_geometry, str):
        return build_molecule(name_or_geometry, basis=basis or "sto-3g", encoding=tag)[0]
    reference = _read_json(_find_stem(name_or_geometry, "jw"))
    stem = _find_stem(name_or_geometry, tag)
    if stem is not None and (basis is None or _key(basis) == _key(reference["basis"])):
        return pauli_sum_from_json(_read_json(stem), source=stem)
    if reference["geometry"] is None:
        raise MoleculeError(
            f"{name_or_geometry!r} is shipped without a geometry (basis {reference['basis']!r}, encodings "
            f"{_shipped_encodings(name_or_geometry)}), so basis={basis!r}, encoding={encoding!r} cannot be "
            f"built; pass a geometry instead"
        )
    return build_molecule(reference["geometry"], basis=basis or reference["basis"], encoding=tag)[0]


def build_molecule(
    geometry: Geometry,
    *,
    basis: str = "sto-3g",
    encoding: Encoding = "jordan-wigner",
    charge: int = 0,
    spin: int = 0,
) -> tuple[PauliSum, MoleculeInfo]:
    """Build a molecular Hamiltonian with PySCF (RHF/ROHF) and OpenFermion, all orbitals active.

    Spin orbitals are interleaved (OpenFermion's order); the nuclear repulsion is in the
    identity term, so ``static_energy`` is 0.0. FCI is computed up to 10 spatial orbitals.
    Orbital signs are fixed (first large AO coefficient positive) so that rebuilding gives the
    same terms, except within degenerate orbital levels.

    Args:
        geometry: atoms and positions in Angstrom.
        basis: Gaussian basis set. Defaults to STO-3G.
        encoding: fermion-to-qubit encoding.
        charge: total charge.
        spin: number of unpaired electrons (2S).
    """
    gto, scf, ao2mo, fci = (require(f"pyscf.{m}", "chem") for m in ("gto", "scf", "ao2mo", "fci"))
    openfermion = require("openfermion", "chem")
    from openfermion.chem.molecular_data import spinorb_from_spatial

    atoms = [(str(symbol), tuple(float(v) for v in position)) for symbol, position in geometry]
    mol = gto.M(atom=atoms, basis=basis, charge=charge, spin=spin, unit="Angstrom", verbose=0)
    mf = (scf.RHF if spin == 0 else scf.ROHF)(mol)
    mf.kernel()
    if not mf.converged:
        raise MoleculeError(f"PySCF Hartree-Fock did not converge for {atoms} in basis {basis!r}")
    orbitals = fix_orbital_signs(mf.mo_coeff)
    n_orb = orbitals.shape[1]
    one_body = orbitals.T @ mf.get_hcore() @ orbitals
    two_body = ao2mo.restore(1, ao2mo.full(mol, orbitals), n_orb).transpose(0, 2, 3, 1)
    one_so, two_so = spinorb_from_spatial(one_body, two_body)
    interaction = openfermion.InteractionOperator(mol.energy_nuc(), one_so, 0.5 * two_so)
    fermion_op = openfermion.get_fermion_operator(interaction)
    n_qubits, tag = 2 * n_orb, _tag(encoding)
    if tag == "jw":
        qubit_op = openfermion.jordan_wigner(fermion_op)
    elif tag == "bk":
        qubit_op = openfermion.bravyi_kitaev(fermion_op, n_qubits=n_qubits)
    else:
        qubit_op = openfermion.binary_code_transform(fermion_op, openfermion.parity_code(n_qubits))
    hamiltonian = from_openfermion(qubit_op, n_qubits=n_qubits).simplify(1e-12)
    n_alpha, n_beta = mol.nelec
    occupation = "".join("1" if k // 2 < (n_alpha if k % 2 == 0 else n_beta) else "0" for k in range(n_qubits))
    e_fci = float(fci.FCI(mf).kernel()[0]) if n_orb <= _FCI_MAX_ORBITALS else None
    info = MoleculeInfo(
        name=_formula(atoms),
        basis=basis,
        encoding=_LONG[tag],
        n_qubits=n_qubits,
        n_terms=len(hamiltonian),
        n_electrons=n_alpha + n_beta,
        hf_bitstring=encode_occupation(occupation, tag),
        e_hf=float(mf.e_tot),
        e_fci=e_fci,
        static_energy=0.0,
        spin_order="interleaved",
        geometry=tuple(atoms),
        source=f"PySCF {'RHF' if spin == 0 else 'ROHF'} + OpenFermion",
    )
    return hamiltonian, info


def encode_occupation(occupation: str, encoding: Encoding) -> str:
    """Occupation bitstring of the modes (qubit 0 first) -> bitstring in ``encoding``.

    >>> encode_occupation("1100", "parity"), encode_occupation("1100", "bravyi-kitaev")
    ('1000', '1000')
    """
    tag = _tag(encoding)
    bits = np.array([int(b) for b in occupation], dtype=np.int64)
    if tag == "parity":
        bits = np.cumsum(bits) % 2
    elif tag == "bk":
        bits = (_bravyi_kitaev_matrix(len(bits)) @ bits) % 2
    return "".join(map(str, bits.tolist()))


def fix_orbital_signs(orbitals: np.ndarray) -> np.ndarray:
    """Orbital coefficients ``(AOs, orbitals)`` with each orbital's first large AO coefficient
    made positive, so repeated builds agree.

    Orbitals of a degenerate level may still come out rotated, which leaves the spectrum alone.

    >>> fix_orbital_signs(np.array([[0.1, -0.9], [-0.8, 0.2]])).tolist()
    [[-0.1, 0.9], [0.8, -0.2]]
    """
    magnitude = np.abs(orbitals)
    pivot = np.argmax(magnitude > 0.5 * magnitude.max(axis=0), axis=0)
    return orbitals * np.sign(orbitals[pivot, np.arange(orbitals.shape[1])])


def _formula(atoms: Sequence[tuple[str, object]]) -> str:
    counts = Counter(symbol for symbol, _ in atoms)
    return "".join(symbol + (str(n) if n > 1 else "") for symbol, n in counts.items())


def _bravyi_kitaev_matrix(n: int) -> np.ndarray:
    """Seeley-Richard-Love encoding matrix, built for the next power of two and truncated."""
    matrix = np.ones((1, 1), dtype=np.int64)
    while len(matrix) < n:
        size = len(matrix)
        grown = np.zeros((2 * size, 2 * size), dtype=np.int64)
        grown[:size, :size] = grown[size:, size:] = matrix
        grown[-1, :size] = 1
        matrix = grown
    return matrix[:n, :n]


def encoding_name(encoding: str) -> str:
    """The full name of a fermion-to-qubit encoding given by name or short tag (case ignored).

    >>> encoding_name("JW"), encoding_name("bk"), encoding_name("parity")
    ('jordan-wigner', 'bravyi-kitaev', 'parity')

    Raises:
        MoleculeError: not one of the three encodings.
    """
    return _LONG[_tag(encoding)]


def _tag(encoding: str) -> str:
    try:
        return _TAGS[encoding.lower()]
    except (KeyError, AttributeError):
        raise MoleculeError(f"encoding must be one of {sorted(_LONG.values())}; got {encoding!r}") from None


def _key(name: str) -> str:
    """Normalised lookup key: case, '-', '_' and a trailing '_<n>qubits' ignored."""
    return re.sub(r"[-_]", "", re.sub(r"_\d+qubits$", "", name.strip(), flags=re.IGNORECASE)).lower()


def _data_dir():
    return resources.files("hybridq.operators").joinpath("data")


def _shipped_stems() -> list[str]:
    return sorted(p.name[: -len(".json")] for p in _data_dir().iterdir() if p.name.endswith(".json"))


def _find_stem(name: str, tag: str) -> str | None:
    """File stem of a shipped molecule in an encoding; None if that encoding is not shipped."""
    stems = [s for s in _shipped_stems() if _key(s.rsplit("_", 1)[0]) == _key(name)]
    if not stems:
        raise MoleculeError(f"unknown molecule {name!r}; shipped: {available_molecules()} (or pass a geometry)")
    return next((s for s in stems if s.rsplit("_", 1)[1] == tag), None)


def _shipped_encodings(name: str) -> list[str]:
    return [_LONG[s.rsplit("_", 1)[1]] for s in _shipped_stems() if _key(s.rsplit("_", 1)[0]) == _key(name)]


def _read_json(stem: str) -> dict:
    return json.loads(_data_dir().joinpath(stem + ".json").read_text())


def _info_from_json(data: dict) -> MoleculeInfo:
    geometry = data.get("geometry")
    return MoleculeInfo(
        name=data["name"],
        basis=data["basis"],
        encoding=data["encoding"],
        n_qubits=data["n_qubits"],
        n_terms=len(data["terms"]),
        n_electrons=data["n_electrons"],
        hf_bitstring=data["hf_bitstring"],
        e_hf=data["e_hf"],
        e_fci=data["e_fci"],
        static_energy=data["static_energy"],
        spin_order=data["spin_order"],
        geometry=None if geometry is None else tuple((a, tuple(p)) for a, p in geometry),
        source=data["source"],
    )
