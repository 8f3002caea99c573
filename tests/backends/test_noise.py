"""Noise on the engine: density matrices vs trajectories vs Qiskit Aer with the same model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridq.backends import AerBackend, LocalBackend
from hybridq.circuits import Circuit, Input, Weight
from hybridq.circuits.execute import compile_ops, simulate
from hybridq.circuits.trajectories import NoisyPlan, simulate_trajectories
from hybridq.errors import ShapeError
from hybridq.sim.noise import (NoiseModel, amplitude_damping_kraus, apply_readout, depolarizing_kraus,
                               phase_damping_kraus, readout_probabilities, run_density, zero_density)

NOISE = NoiseModel(depolarizing=0.04, depolarizing_2q=0.08, amplitude_damping=0.05, phase_damping=0.07,
                   readout=(0.02, 0.06))


def circuit() -> Circuit:
    return (Circuit(3).h(0).cx(0, 1).ry(0.7, 2).crx(0.4, 2, 1).rzz(0.3, 0, 2).u3(0.3, 0.2, -0.4, 1)
            .pauli_rotation(0.5, "XY", [0, 2]).ccx(0, 1, 2).sdg(1).h(1))


def within(counts: np.ndarray, probs: np.ndarray, sigmas: float = 4.0) -> bool:
    """Every outcome count within ``sigmas`` binomial standard deviations (plus one count)."""
    total = counts.sum()
    return bool(np.all(np.abs(counts - total * probs) <= sigmas * np.sqrt(total * probs * (1 - probs)) + 1))


def test_kraus_operators_are_trace_preserving():
    for kraus in (depolarizing_kraus(0.3, 1), depolarizing_kraus(0.2, 2), amplitude_damping_kraus(0.4),
                  phase_damping_kraus(0.6)):
        total = np.einsum("kji,kjl->il", kraus.conj(), kraus)
        assert np.allclose(total, np.eye(kraus.shape[1]))


def test_density_matrix_matches_a_dense_reference_of_one_noisy_gate():
    # H then amplitude damping gamma on |0>: rho = [[1/2 + g/2, sqrt(1-g)/2], [sqrt(1-g)/2, (1-g)/2]]
    g = 0.3
    ops = compile_ops(Circuit(1).h(0), None, {}, batch=1, dtype=torch.complex128, device="cpu")
    rho = run_density(zero_density(1), ops, NoiseModel(amplitude_damping=g)).reshape(2, 2).numpy()
    expected = np.array([[0.5 + g / 2, np.sqrt(1 - g) / 2], [np.sqrt(1 - g) / 2, (1 - g) / 2]])
    assert np.allclose(rho, expected)


def test_noisy_probabilities_equal_aers_density_matrix():
    c = circuit()
    local = LocalBackend(NOISE).probabilities(c)
    aer = AerBackend(NOISE).probabilities(c)
    ideal = LocalBackend().probabilities(c)
    assert np.abs(local - ideal).max() > 0.02  # the noise matters
    assert np.allclose(local, aer, atol=1e-10)


def _density(c: Circuit, noise: NoiseModel, x=None, w=None) -> np.ndarray:
    """The exact noisy density matrix ``(2**n, 2**n)`` of ``c`` on one input row."""
    weights = {} if w is None else dict(zip(c.weight_names, w))
    ops = compile_ops(c, x, weights, batch=1, dtype=torch.complex128, device="cpu")
    rho = run_density(zero_density(c.n_qubits), ops, noise)[0].numpy()
    return rho.reshape(2**c.n_qubits, 2**c.n_qubits)


def _agree(states: torch.Tensor, rho: np.ndarray, sigmas: float = 4.5) -> bool:
    """The mean of |psi><psi| over the rows within ``sigmas`` standard errors of ``rho``, entry by entry."""
    outer = torch.einsum("bi,bj->bij", states, states.conj()).numpy()
    mean, count = outer.mean(0), outer.shape[0]
    err = np.sqrt(outer.real.var(0) / count) + 1j * np.sqrt(outer.imag.var(0) / count)
    return bool(np.all(np.abs(mean.real - rho.real) <= sigmas * err.real + 1e-9)
                and np.all(np.abs(mean.imag - rho.imag) <= sigmas * err.imag + 1e-9))


def test_trajectories_average_to_the_density_matrix():
    c = circuit()
    states = simulate_trajectories(c, NOISE, trajectories=4000, generator=torch.Generator().manual_seed(3))
    assert states.shape == (4000, 8)
    assert torch.allclose(states.abs().square().sum(1), torch.ones(4000, dtype=torch.float64))
    assert _agree(states, _density(c, NOISE))


@pytest.mark.parametrize("noise", [NoiseModel(depolarizing=0.2, depolarizing_2q=0.3), NoiseModel(amplitude_damping=0.3),
                                   NoiseModel(phase_damping=0.4), NOISE])
def test_trajectories_with_inputs_and_weights_average_to_each_rows_density_matrix(noise):
    c = Circuit(3)
    for q in range(3):
        c.ry(Weight(f"w{q}") * Input(q) + Weight(f"b{q}"), q)
    c.cz(0, 1).crx(Weight("c"), 1, 2).rzz(Input(0), 2, 0).h(1).cx(1, 0).rx(Weight("c"), 2)
    g = torch.Generator().manual_seed(11)
    x = torch.rand(3, 3, generator=g, dtype=torch.float64) * np.pi
    w = torch.randn(len(c.weight_names), generator=g, dtype=torch.float64)
    per_row = 2500
    states = simulate_trajectories(c, noise, x.repeat_interleave(per_row, 0), w, generator=g)
    for row in range(3):
        rho = _density(c, noise, x[row : row + 1], w)
        assert _agree(states[row * per_row : (row + 1) * per_row], rho)
    ideal = simulate(c, x[:1], w, dtype=torch.complex128)[0].numpy()
    assert np.abs(np.outer(ideal, ideal.conj()) - _density(c, noise, x[:1], w)).max() > 0.02  # the noise matters


def test_noise_runs_as_one_engine_segment_unless_amplitude_damping_cuts_it():
    c = circuit()
    assert len(NoisyPlan.of(c, NoiseModel(depolarizing=0.1, depolarizing_2q=0.1, phase_damping=0.1)).segments) == 1
    plan = NoisyPlan.of(Circuit(3).h(0).h(1).h(2).cx(0, 1).h(2), NoiseModel(amplitude_damping=0.1))
    assert [len(s.ops) for s in plan.segments] == [3, 2] and plan.damped == ((0, 1, 2), (0, 1, 2))
    first = simulate_trajectories(c, NOISE, trajectories=50, generator=torch.Generator().manual_seed(5))
    again = simulate_trajectories(c, NOISE, trajectories=50, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first, again)
    with pytest.raises(ShapeError, match="one trajectory per row"):
        simulate_trajectories(Circuit(1).rx(Input(0), 0), NOISE, torch.zeros(3, 1), trajectories=5)


def test_noisy_samples_agree_with_aer_and_the_exact_distribution():
    c = circuit()
    exact = readout_probabilities(torch.as_tensor(LocalBackend(NOISE).probabilities(c)), NOISE)[0].numpy()
    shots = 20000
    for backend in (LocalBackend(NOISE, seed=1), LocalBackend(NOISE, seed=2, density_max_qubits=0),
                    AerBackend(NOISE, seed=3)):
        (bits,) = backend.sample(c, shots)
        index = bits.astype(np.int64) @ (1 << np.arange(2, -1, -1))
        assert within(np.bincount(index, minlength=8), exact), backend


def test_readout_error_flips_bits_at_the_given_rates():
    noise = NoiseModel(readout=(0.1, 0.3))
    outcomes = torch.tensor([0b01] * 20000)
    flipped = apply_readout(outcomes, 2, noise, generator=torch.Generator().manual_seed(0))
    counts = np.bincount(flipped.numpy(), minlength=4)
    probs = readout_probabilities(torch.tensor([[0.0, 1.0, 0.0, 0.0]], dtype=torch.float64), noise)[0].numpy()
    assert np.allclose(probs, [0.9 * 0.3, 0.9 * 0.7, 0.1 * 0.3, 0.1 * 0.7])
    assert within(counts, probs)


def test_noise_model_validates_its_parameters():
    with pytest.raises(ShapeError, match="depolarizing"):
        NoiseModel(depolarizing=2.0)
    with pytest.raises(ShapeError, match="readout"):
        NoiseModel(readout=(0.1, 1.5))
    assert NoiseModel().is_ideal
