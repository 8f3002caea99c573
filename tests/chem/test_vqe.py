"""VQE: exact convergence to FCI, the shift rule, shots, resuming, plotting and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pyscf")
pytest.importorskip("openfermion")
pytest.importorskip("scipy")

from hybridq import estimators  # noqa: E402
from hybridq.chem import VQE, Molecule, hardware_efficient, uccsd  # noqa: E402
from hybridq.errors import ParameterError, ShapeError  # noqa: E402


@pytest.fixture(scope="module")
def h2():
    return Molecule.from_name("H2")


@pytest.fixture(scope="module")
def lih():
    return Molecule.from_name("LiH", active_electrons=2, active_orbitals=3)


@pytest.mark.parametrize("spin_adapted", [True, False])
def test_exact_vqe_reaches_fci_on_h2(h2, spin_adapted):
    result = VQE(h2.hamiltonian(), uccsd(h2, spin_adapted=spin_adapted), progress=False).run()
    assert abs(result.energy - h2.e_fci) < 1e-6
    assert result.exact_energy == pytest.approx(result.energy, abs=1e-12)
    assert result.history[-1]["energy"] == result.energy and result.total_shots == 0


def test_exact_vqe_reaches_fci_on_lih_active_space_in_parity_with_reduction(lih):
    from hybridq.chem import Encoding

    encoding = Encoding("parity", two_qubit_reduction=True)
    result = VQE(lih.hamiltonian(encoding), uccsd(lih, encoding), progress=False).run()
    assert abs(result.energy - lih.e_fci) < 1e-6


@pytest.mark.parametrize("encoding, spin_adapted", [("jordan-wigner", False), ("bravyi-kitaev", False),
                                                    ("jordan-wigner", True)])
def test_pair_path_equals_the_engine_with_autograd(lih, encoding, spin_adapted):
    """UCCSD runs as planned pair rotations (the engine's adjoint backward); the same energies,
    gradients (spin-adapted: one weight read by several excitations) and batched states as
    simulate + expval + autograd through the engine."""
    from hybridq.circuits import simulate
    from hybridq.sim import expval

    hamiltonian, circuit = lih.hamiltonian(encoding), uccsd(lih, encoding, spin_adapted=spin_adapted)
    vqe = VQE(hamiltonian, circuit, progress=False)
    assert vqe._pairs is not None
    rows = np.random.default_rng(0).normal(scale=0.3, size=(3, len(circuit.weight_names)))
    energy, grad = vqe.energy_and_gradient(rows[0])
    w = torch.tensor(rows[0], requires_grad=True)
    reference = expval(simulate(circuit, weights=w, dtype=torch.complex128), hamiltonian)
    reference.sum().backward()
    assert energy == pytest.approx(float(reference.detach()), abs=1e-12)
    assert np.allclose(grad, w.grad.numpy(), atol=1e-12)
    assert vqe.exact_energy(rows[0]) == pytest.approx(energy, abs=1e-12)
    states = vqe._pairs.states(rows)
    for row, state in zip(rows, states):
        want = simulate(circuit, weights=torch.tensor(row), dtype=torch.complex128)[0]
        assert torch.allclose(state, want, atol=1e-12)


def test_other_ansatze_take_the_engine(h2):
    assert VQE(h2.hamiltonian(), hardware_efficient(h2, 1), progress=False)._pairs is None


def test_adam_descends(lih):
    vqe = VQE(lih.hamiltonian(), uccsd(lih), optimizer="adam", lr=0.05, progress=False)
    result = vqe.run(60)
    assert result.energy < lih.e_hf - 0.5 * (lih.e_hf - lih.e_fci)


def test_parameter_shift_gradient_equals_adjoint_gradient(lih):
    circuit = uccsd(lih)
    vqe = VQE(lih.hamiltonian(), circuit, estimator=estimators.Grouping(lih.hamiltonian()), progress=False)
    vqe.measured_energies = lambda rows, shots: [vqe.exact_energy(w) for w in rows]  # infinitely many shots
    weights = np.linspace(-0.3, 0.2, len(circuit.weight_names))
    energy, exact = vqe.energy_and_gradient(weights)
    assert np.allclose(vqe.measured_gradient(weights, 1), exact, atol=1e-10)
    grad, curvature = vqe.measured_derivatives(weights, 1, center=energy)
    step = 1e-4  # the Hessian's diagonal by central differences of the adjoint gradient
    finite = [(vqe.energy_and_gradient(weights + step * e)[1][j] - vqe.energy_and_gradient(weights - step * e)[1][j])
              / (2 * step) for j, e in enumerate(np.eye(len(weights)))]
    assert np.allclose(grad, exact, atol=1e-10) and np.allclose(curvature, finite, atol=1e-6)


def test_shot_vqe_on_h2_gets_close_to_fci_and_counts_shots(h2):
    hamiltonian = h2.hamiltonian()
    vqe = VQE(hamiltonian, uccsd(h2), estimator=estimators.DerandomizedDecisionDiagram(hamiltonian),
              precision=4e-3, lr=0.03, seed=3, progress=False)
    result = vqe.run(12)
    assert abs(result.exact_energy - h2.e_fci) < 5e-3
    per_iteration = np.diff([0] + [h["shots"] for h in result.history])
    assert result.total_shots == sum(per_iteration) > 0 and (per_iteration > 0).all()
    again = VQE(hamiltonian, uccsd(h2), estimator=estimators.DerandomizedDecisionDiagram(hamiltonian),
                precision=4e-3, lr=0.03, seed=3, progress=False).run(12)
    assert again.energy == result.energy  # seeded


def test_newton_shot_vqe_reaches_chemical_accuracy_from_hartree_fock(h2):
    mol = h2  # Hartree-Fock is 20 mHa above FCI (LiH's 2e/3o active space: 1 mHa, too close to test)
    hamiltonian, circuit = mol.hamiltonian(), uccsd(mol)
    vqe = VQE(hamiltonian, circuit, estimator=estimators.CliffordGrouping(hamiltonian), optimizer="newton",
              precision=1e-3, seed=7, progress=False)
    result = vqe.run(3)
    assert abs(result.exact_energy - mol.e_fci) < 1.6e-3 < mol.e_hf - mol.e_fci  # HF is further than 1.6 mHa
    assert abs(result.energy - mol.e_fci) < 5e-3  # the last estimate: within a few standard errors
    estimates_per_iteration = 1 + sum(2 * r for r in vqe.frequencies)
    assert result.evaluations == 3 * estimates_per_iteration and result.total_shots == result.history[-1]["shots"] > 0


def test_spsa_runs_with_two_estimates_per_gradient(h2):
    hamiltonian = h2.hamiltonian()
    vqe = VQE(hamiltonian, uccsd(h2), estimator=estimators.Grouping(hamiltonian), gradient="spsa",
              precision=1e-2, seed=0, progress=False)
    result = vqe.run(3)
    assert result.evaluations == 3 * 3  # one energy and two for the gradient per iteration


def test_save_and_load_continue_the_run(h2, tmp_path):
    circuit = hardware_efficient(h2, 1)
    start = np.linspace(0.1, 0.8, len(circuit.weight_names))  # HF is a stationary point of this ansatz
    first = VQE(h2.hamiltonian(), circuit, optimizer="adam", lr=0.05, initial_weights=start, progress=False)
    first.run(5)
    path = first.save(tmp_path / "state.pt")
    first.run(5)
    resumed = VQE(h2.hamiltonian(), circuit, optimizer="adam", lr=0.05, progress=False).load(path)
    assert np.allclose(resumed.weights.numpy(), start, atol=0.3)
    assert len(resumed.history) == 5
    resumed.run(5)
    assert np.allclose(resumed.weights.numpy(), first.weights.numpy(), atol=1e-12)
    assert [h["energy"] for h in resumed.history] == pytest.approx([h["energy"] for h in first.history], abs=1e-12)
    with pytest.raises(ParameterError, match="another ansatz"):
        VQE(h2.hamiltonian(), uccsd(h2), progress=False).load(path)


def test_plot_writes_a_figure(h2, tmp_path):
    pytest.importorskip("matplotlib")
    vqe = VQE(h2.hamiltonian(), uccsd(h2), reference=h2.e_fci, progress=False)
    vqe.run()
    figure = vqe.plot(tmp_path / "h2.png")
    assert (tmp_path / "h2.png").stat().st_size > 1000 and len(figure.axes) == 2


def test_bad_input(h2, lih):
    with pytest.raises(ShapeError, match="4 qubits but the Hamiltonian 6"):
        VQE(lih.hamiltonian(), uccsd(h2))
    with pytest.raises(ParameterError, match="needs exact energies"):
        VQE(h2.hamiltonian(), uccsd(h2), optimizer="lbfgs", estimator=estimators.Grouping(h2.hamiltonian()))
    with pytest.raises(ParameterError, match="initial_weights must have 2"):
        VQE(h2.hamiltonian(), uccsd(h2), initial_weights=[0.0])
    with pytest.raises(ParameterError, match="newton"):
        VQE(h2.hamiltonian(), uccsd(h2), optimizer="newton")
    with pytest.raises(ParameterError, match="gradient must be"):
        VQE(h2.hamiltonian(), uccsd(h2), gradient="finite")
    with pytest.raises(ShapeError, match="PauliSum"):
        VQE(torch.zeros(4), uccsd(h2))
