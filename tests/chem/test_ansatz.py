"""Chemistry ansätze: Hartree-Fock energies, UCCSD at zero, the engine's pair rotations, backends."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pyscf")
pytest.importorskip("openfermion")

import hybridq as hq  # noqa: E402
from hybridq.chem import Encoding, Molecule, excitations, hardware_efficient, hartree_fock, uccsd  # noqa: E402

ENCODINGS = ["jordan-wigner", "bravyi-kitaev", "parity", Encoding("parity", two_qubit_reduction=True)]


@pytest.fixture(scope="module")
def lih():
    return Molecule.from_name("LiH", active_electrons=2, active_orbitals=3)


def _energy(circuit, hamiltonian, weights=None, **kwargs):
    state = hq.simulate(circuit, weights=weights, dtype=torch.complex128, **kwargs)
    return float(hq.sim.expval(state, hamiltonian))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_hartree_fock_state_has_the_hf_energy(lih, encoding):
    assert _energy(hartree_fock(lih, encoding), lih.hamiltonian(encoding)) == pytest.approx(lih.e_hf, abs=1e-9)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_uccsd_at_zero_is_hartree_fock_and_encodings_agree_elsewhere(lih, encoding):
    circuit = uccsd(lih, encoding)
    n = len(circuit.weight_names)
    assert _energy(circuit, lih.hamiltonian(encoding), torch.zeros(n, dtype=torch.float64)) == pytest.approx(lih.e_hf, abs=1e-9)
    weights = torch.linspace(-0.3, 0.4, n, dtype=torch.float64)
    reference = _energy(uccsd(lih), lih.hamiltonian(), weights)
    assert _energy(circuit, lih.hamiltonian(encoding), weights) == pytest.approx(reference, abs=1e-9)


def test_uccsd_keeps_the_particle_number_and_spin(lih):
    circuit = uccsd(lih, spin_adapted=False)
    weights = torch.linspace(-0.5, 0.5, len(circuit.weight_names), dtype=torch.float64)
    probs = hq.sim.probabilities(hq.simulate(circuit, weights=weights, dtype=torch.complex128))[0]
    for index in torch.nonzero(probs > 1e-12).flatten().tolist():
        bits = f"{index:06b}"
        assert bits[0::2].count("1") == 1 and bits[1::2].count("1") == 1


def test_pair_rotations_match_gate_by_gate_simulation_and_finite_differences(lih):
    circuit = uccsd(lih, "bravyi-kitaev")
    hamiltonian = lih.hamiltonian("bravyi-kitaev")
    weights = torch.linspace(-0.4, 0.3, len(circuit.weight_names), dtype=torch.float64)
    fused = hq.simulate(circuit, weights=weights, dtype=torch.complex128)
    plain = hq.simulate(circuit, weights=weights, dtype=torch.complex128, fusion=False)
    assert torch.allclose(fused, plain, atol=1e-12)
    w = weights.clone().requires_grad_(True)
    hq.sim.expval(hq.simulate(circuit, weights=w, dtype=torch.complex128, method="adjoint"), hamiltonian).sum().backward()
    step = 1e-6
    for j in range(len(weights)):
        shift = torch.zeros_like(weights)
        shift[j] = step
        fd = (_energy(circuit, hamiltonian, weights + shift) - _energy(circuit, hamiltonian, weights - shift)) / (2 * step)
        assert w.grad[j].item() == pytest.approx(fd, abs=1e-7)


@pytest.mark.parametrize("method", ["adjoint", "autograd"])
def test_uccsd_program_has_pair_rotations_with_gate_by_gate_states_and_gradients(lih, method):
    from hybridq.circuits.compiled import CompiledCircuit
    from hybridq.sim.layers import PairRotation

    circuit, hamiltonian = uccsd(lih), lih.hamiltonian()
    weights = torch.linspace(-0.3, 0.5, len(circuit.weight_names), dtype=torch.float64)
    program = CompiledCircuit.of(circuit).layered(None, weights, batch=1, dtype=torch.complex128, device="cpu")
    assert any(isinstance(s, PairRotation) for layer in program.layers for s in layer.steps)
    states, grads = [], []
    for fusion in (True, False):
        w = weights.clone().requires_grad_(True)
        state = hq.simulate(circuit, weights=w, dtype=torch.complex128, method=method, fusion=fusion)
        hq.sim.expval(state, hamiltonian).sum().backward()
        states.append(state.detach())
        grads.append(w.grad)
    assert torch.allclose(states[0], states[1], atol=1e-12)
    assert torch.allclose(grads[0], grads[1], atol=1e-10) and grads[1].abs().max() > 1e-3


def test_spin_adaptation_shares_mirror_excitations():
    h2o = Molecule.from_name("H2O")
    adapted, plain = excitations(h2o), excitations(h2o, spin_adapted=False)
    assert sum(len(g) for g in adapted.values()) == len(plain)
    assert len(adapted) < len(plain)
    assert all(len(g) in (1, 2) for g in adapted.values())


def test_uccsd_runs_on_qiskit_with_the_same_energy(lih):
    pytest.importorskip("qiskit")
    from qiskit.quantum_info import Statevector

    from hybridq.qubit_order import bit_reversal_permutation

    circuit = uccsd(lih)
    weights = np.linspace(-0.2, 0.3, len(circuit.weight_names))
    ours = hq.simulate(circuit, weights=torch.tensor(weights), dtype=torch.complex128)[0].numpy()
    theirs = Statevector(circuit.bind(weights=weights).to_qiskit()).data[bit_reversal_permutation(lih.n_qubits())]
    assert abs(np.vdot(ours, theirs)) == pytest.approx(1.0, abs=1e-9)


def test_hardware_efficient_starts_from_hartree_fock(lih):
    circuit = hardware_efficient(lih, 2)
    n = len(circuit.weight_names)
    assert n == 3 * lih.n_qubits()
    assert _energy(circuit, lih.hamiltonian(), torch.zeros(n, dtype=torch.float64)) == pytest.approx(lih.e_hf, abs=1e-9)
