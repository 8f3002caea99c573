"""Molecules: energies against PySCF, active spaces, encodings, and bad input caught before PySCF."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyscf")
pytest.importorskip("openfermion")

from hybridq.chem import Encoding, Molecule  # noqa: E402
from hybridq.chem import molecule as molecule_module  # noqa: E402
from hybridq.errors import MoleculeError  # noqa: E402

H2_XYZ = "H 0 0 0; H 0 0 0.735"


def _ground(paulis, n_electrons=None):
    return float(np.linalg.eigvalsh(paulis.to_matrix())[0])


def test_h2_energies_match_pyscf_hf_and_fci():
    from pyscf import fci, gto, scf

    mol = Molecule.from_xyz(H2_XYZ)
    ref = gto.M(atom=H2_XYZ, basis="sto-3g", verbose=0)
    mf = scf.RHF(ref).run()
    assert mol.e_hf == pytest.approx(mf.e_tot, abs=1e-9)
    assert mol.e_fci == pytest.approx(fci.FCI(mf).kernel()[0], abs=1e-9)
    hamiltonian = mol.hamiltonian()
    assert hamiltonian.basis_state_expectation(mol.hf_bitstring()) == pytest.approx(mol.e_hf, abs=1e-9)
    assert _ground(hamiltonian) == pytest.approx(mol.e_fci, abs=1e-9)


def test_geometry_forms_agree(tmp_path):
    path = tmp_path / "h2.xyz"
    path.write_text("2\nhydrogen molecule\nH 0.0 0.0 0.0\nH 0.0 0.0 0.735\n")
    from_list = Molecule([("H", (0, 0, 0)), ("H", (0, 0, 0.735))])
    assert Molecule.from_file(path).geometry == Molecule.from_xyz(H2_XYZ).geometry == from_list.geometry
    assert Molecule.from_name("H2").hamiltonian() == from_list.hamiltonian()


def test_lih_active_space_energy_is_casci_and_hamiltonian_spectrum():
    from pyscf import gto, mcscf, scf

    mol = Molecule.from_name("LiH", active_electrons=2, active_orbitals=3)
    assert (mol.n_core_orbitals, mol.n_qubits()) == (1, 6)
    ref = gto.M(atom=[list(a) for a in mol.geometry], basis="sto-3g", verbose=0)
    cas = mcscf.CASCI(scf.RHF(ref).run(), 3, 2)
    cas.verbose = 0
    assert mol.e_fci == pytest.approx(cas.kernel()[0], abs=1e-8)
    hamiltonian = mol.hamiltonian()
    assert hamiltonian.basis_state_expectation(mol.hf_bitstring()) == pytest.approx(mol.e_hf, abs=1e-8)
    # the lowest 2-electron, Sz=0 state of the qubit Hamiltonian is the CASCI energy
    matrix = hamiltonian.to_matrix()
    sector = [i for i in range(64) if bin(i).count("1") == 2 and bin(i & 0b101010).count("1") == 1]
    assert np.linalg.eigvalsh(matrix[np.ix_(sector, sector)])[0] == pytest.approx(mol.e_fci, abs=1e-8)


def test_frozen_core_equals_explicit_active_space():
    frozen = Molecule.from_name("LiH", frozen_core=True)
    explicit = Molecule.from_name("LiH", active_electrons=2, active_orbitals=5)
    assert frozen.n_qubits() == explicit.n_qubits() == 10
    assert frozen.e_fci == pytest.approx(explicit.e_fci, abs=1e-10)


@pytest.mark.parametrize("encoding", ["bravyi-kitaev", "parity", Encoding("parity", two_qubit_reduction=True)])
def test_encodings_have_the_jordan_wigner_spectrum_and_hf_energy(encoding):
    mol = Molecule.from_xyz(H2_XYZ)
    jw = np.linalg.eigvalsh(mol.hamiltonian().to_matrix())
    other = mol.hamiltonian(encoding)
    assert other.basis_state_expectation(mol.hf_bitstring(encoding)) == pytest.approx(mol.e_hf, abs=1e-10)
    values = np.linalg.eigvalsh(other.to_matrix())
    if isinstance(encoding, Encoding):  # two qubits fewer: the sector of H2's parities
        assert other.n_qubits == 2
        assert values[0] == pytest.approx(mol.e_fci, abs=1e-10)
        assert all(np.min(np.abs(jw - v)) < 1e-9 for v in values)
    else:
        assert np.allclose(values, jw, atol=1e-9)


def test_parity_reduction_on_an_open_shell_keeps_the_sector_ground_state():
    mol = Molecule.from_xyz("H 0 0 0; H 0 0 0.9; H 0 0 1.8", multiplicity=2)
    reduced = mol.hamiltonian(Encoding("parity", two_qubit_reduction=True))
    assert reduced.n_qubits == mol.n_qubits() - 2 == 4
    assert np.linalg.eigvalsh(reduced.to_matrix())[0] <= mol.e_fci + 1e-9


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Molecule.from_xyz("Xx 0 0 0; H 0 0 1"), "unknown element 'Xx'"),
        (lambda: Molecule.from_xyz("li 0 0 0; H 0 0 1.6"), "did you mean 'Li'"),
        (lambda: Molecule.from_xyz("H 0 0 0; H 0 0 0.7", multiplicity=2), "cannot have multiplicity 2"),
        (lambda: Molecule.from_xyz("H 0 0 0; H 0 0 0.7", charge=1), "cannot have multiplicity 1"),
        (lambda: Molecule.from_xyz("H 0 0 0; H 0 0 0.01"), "0.010 Angstrom apart"),
        (lambda: Molecule.from_xyz("H 0 0; H 0 0 0.7"), "three finite coordinates"),
        (lambda: Molecule.from_name("LiH", active_electrons=3, active_orbitals=3), "core must hold electron pairs"),
        (lambda: Molecule.from_name("LiH", active_electrons=2, active_orbitals=6), "larger than the 'sto-3g' basis"),
        (lambda: Molecule.from_name("LiH", active_electrons=2), "give both"),
        (lambda: Molecule.from_xyz("H 0 0 0; H 0 0 0.7", basis="no-such-basis").n_basis, "cannot build"),
        (lambda: Encoding("bk", two_qubit_reduction=True), "parity encoding only"),
        (lambda: Molecule("H 0 0 0"), "Molecule.from_xyz"),
    ],
)
def test_bad_input_is_a_molecule_error(make, message):
    with pytest.raises(MoleculeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_bad_input_fails_before_any_scf(monkeypatch):
    def no_scf(*_):
        raise AssertionError("PySCF SCF must not run for bad input")

    monkeypatch.setattr(molecule_module, "_electronic_structure", no_scf)
    with pytest.raises(MoleculeError):
        Molecule.from_name("LiH", active_electrons=2, active_orbitals=9).hamiltonian()
    with pytest.raises(MoleculeError):
        Molecule.from_xyz("H 0 0 0; Q 0 0 1").hamiltonian()


def test_shipped_hamiltonians_need_no_chemistry_extra(monkeypatch):
    import builtins

    from hybridq.operators import PauliSum

    real_import = builtins.__import__

    def guarded(name, *args, **kwargs):
        if name.split(".")[0] in ("pyscf", "openfermion"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded)
    assert PauliSum.from_molecule("H2O").n_qubits == 14
