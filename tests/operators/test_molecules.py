import numpy as np
import pytest

from hybridq.errors import MoleculeError
from hybridq.operators import PauliSum
from hybridq.operators.molecules import available_molecules, encode_occupation, molecule_info

BENCHMARK = [
    "H2_STO-3G", "H2_6-31G", "LiH_STO-3G", "BeH2_STO-3G", "H2O_STO-3G", "NH3_STO-3G", "C2_STO-3G", "HCl_STO-3G"
]
SHIPPED = [(name, "jordan-wigner") for name in ["H2", "LiH", "BeH2", "H2O", "NH3"]] + [
    (name, encoding) for name in BENCHMARK for encoding in ["jordan-wigner", "parity", "bravyi-kitaev"]
]


def test_every_shipped_name_is_listed():
    assert set(available_molecules()) == {name for name, _ in SHIPPED}


@pytest.mark.parametrize(("name", "encoding"), SHIPPED)
def test_hartree_fock_bitstring_reproduces_the_shipped_energy(name, encoding):
    info = molecule_info(name, encoding=encoding)
    hamiltonian = PauliSum.from_molecule(name, encoding=encoding)
    assert (hamiltonian.n_qubits, len(hamiltonian)) == (info.n_qubits, info.n_terms)
    assert info.hf_bitstring.count("1") == info.n_electrons or encoding != "jordan-wigner"
    assert hamiltonian.basis_state_expectation(info.hf_bitstring) == pytest.approx(info.e_hf, abs=1e-8)
    assert hamiltonian.is_hermitian()


@pytest.mark.parametrize(
    ("name", "e_hf", "e_fci"),
    [("H2", -1.116999, -1.137306), ("LiH", -7.862024, -7.882402), ("BeH2", -15.560335, -15.595182),
     ("H2O", -74.962947, -75.012437), ("NH3", -55.454541, None)],
)
def test_total_energies_of_the_shared_data_table(name, e_hf, e_fci):
    info = molecule_info(name)
    assert info.e_hf == pytest.approx(e_hf, abs=1e-6) and info.static_energy == 0.0
    if e_fci is not None:
        assert info.e_fci == pytest.approx(e_fci, abs=1e-6)


@pytest.mark.parametrize(
    ("name", "electronic_hf", "static"),
    [("H2_STO-3G", -1.836968, 0.719969), ("H2O_STO-3G", -83.538686, 8.576139), ("LiH_STO-3G", -8.888642, 1.025537),
     ("H2_6-31G", -1.835803, 0.709163), ("C2_STO-3G", -89.430766, 15.010937), ("HCl_STO-3G", -461.833825, 6.698446)],
)
def test_benchmark_energies_are_electronic(name, electronic_hf, static):
    info = molecule_info(name)
    hamiltonian = PauliSum.from_molecule(name)
    assert hamiltonian.basis_state_expectation(info.hf_bitstring) == pytest.approx(electronic_hf, abs=1e-6)
    assert info.static_energy == pytest.approx(static, abs=1e-6)


@pytest.mark.parametrize("name", ["H2", "H2_STO-3G", "H2_6-31G", "LiH"])
def test_ground_energy_of_the_operator_is_the_fci_energy(name):
    scipy_linalg = pytest.importorskip("scipy.sparse.linalg")
    hamiltonian = PauliSum.from_molecule(name)
    matrix = hamiltonian.to_matrix(sparse=True)
    lowest = scipy_linalg.eigsh(matrix, k=1, which="SA", v0=np.ones(matrix.shape[0]))[0][0]
    assert lowest == pytest.approx(molecule_info(name).e_fci, abs=1e-8)


@pytest.mark.parametrize("name", ["H2_STO-3G", "H2_6-31G"])
def test_benchmark_encodings_have_the_same_spectrum(name):
    spectra = [
        np.linalg.eigvalsh(PauliSum.from_molecule(name, encoding=e).to_matrix())
        for e in ("jordan-wigner", "parity", "bravyi-kitaev")
    ]
    assert np.allclose(spectra[0], spectra[1]) and np.allclose(spectra[0], spectra[2])


def test_names_are_case_and_separator_insensitive_and_encodings_have_aliases():
    reference = PauliSum.from_molecule("H2_STO-3G", encoding="bravyi-kitaev")
    assert PauliSum.from_molecule("h2_sto3g_4qubits", encoding="bk") == reference
    assert PauliSum.from_molecule("H2_STO-3G", basis="STO3G", encoding="BK") == reference
    assert molecule_info("lih").name == "LiH"


def test_unknown_names_encodings_and_unbuildable_requests_are_refused():
    with pytest.raises(MoleculeError, match="unknown molecule 'CH4'.*H2O"):
        PauliSum.from_molecule("CH4")
    with pytest.raises(ValueError, match="encoding must be one of"):
        PauliSum.from_molecule("H2", encoding="ternary")
    with pytest.raises(MoleculeError, match="without a geometry"):
        PauliSum.from_molecule("H2_6-31G", basis="sto-3g")
    with pytest.raises(MoleculeError, match="shipped only in"):
        molecule_info("H2O", encoding="parity")


def test_encode_occupation_parity_and_bravyi_kitaev():
    assert encode_occupation("1010", "jordan-wigner") == "1010"
    assert encode_occupation("1010", "parity") == "1100"
    # Seeley-Richard-Love: qubit 1 holds modes 0-1, qubit 3 holds modes 0-3.
    assert encode_occupation("1010", "bravyi-kitaev") == "1110"
    assert encode_occupation("11111100001111110000", "bk") == molecule_info("C2_STO-3G", encoding="bk").hf_bitstring
