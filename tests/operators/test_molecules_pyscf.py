import numpy as np
import pytest

from hybridq.operators import PauliSum
from hybridq.operators.molecules import build_molecule, molecule_info

pytest.importorskip("pyscf")
pytest.importorskip("openfermion")

H2_GEOMETRY = [("H", (0.0, 0.0, 0.0)), ("H", (0.0, 0.0, 0.735))]


def test_pyscf_h2_matches_the_shipped_h2():
    built, info = build_molecule(H2_GEOMETRY)
    shipped = PauliSum.from_molecule("H2")
    assert np.allclose(np.linalg.eigvalsh(built.to_matrix()), np.linalg.eigvalsh(shipped.to_matrix()), atol=1e-8)
    assert built.labels() == shipped.labels() and np.allclose(built.coeffs, shipped.coeffs, atol=1e-10)
    reference = molecule_info("H2")
    assert info.hf_bitstring == reference.hf_bitstring == "1100"
    assert info.e_hf == pytest.approx(reference.e_hf, abs=1e-8)
    assert info.e_fci == pytest.approx(reference.e_fci, abs=1e-8)
    assert (info.name, info.n_qubits, info.n_electrons, info.static_energy) == ("H2", 4, 2, 0.0)


@pytest.mark.parametrize("encoding", ["parity", "bravyi-kitaev"])
def test_other_encodings_are_built_from_the_shipped_geometry(encoding):
    built = PauliSum.from_molecule("H2", encoding=encoding)
    _, info = build_molecule(H2_GEOMETRY, encoding=encoding)
    jw = PauliSum.from_molecule("H2")
    assert np.allclose(np.linalg.eigvalsh(built.to_matrix()), np.linalg.eigvalsh(jw.to_matrix()), atol=1e-8)
    assert built.basis_state_expectation(info.hf_bitstring) == pytest.approx(molecule_info("H2").e_hf, abs=1e-8)


def test_a_geometry_and_another_basis_are_built():
    built = PauliSum.from_molecule(H2_GEOMETRY, basis="6-31g")
    assert built.n_qubits == 8
    lowest = np.linalg.eigvalsh(built.to_matrix())[0]
    # Same molecule as the benchmark's H2/6-31G up to geometry: total ground energies close.
    benchmark = molecule_info("H2_6-31G")
    assert lowest == pytest.approx(benchmark.e_fci + benchmark.static_energy, abs=5e-3)
    rebuilt = PauliSum.from_molecule("H2", basis="6-31G")  # orbital signs are fixed: same terms
    assert len((rebuilt - built).simplify(atol=1e-9)) == 0
