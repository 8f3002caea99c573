"""Noise on the engine: density matrices vs trajectories vs Qiskit Aer with the same model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hybridq.backends import AerBackend, LocalBackend
from hybridq.circuits import Circuit
from hybridq.circuits.execute import compile_ops
from hybridq.errors import ShapeError
from hybridq.sim.noise import (NoiseModel, amplitude_damping_kraus, apply_readout, density_probabilities,
                               depolarizing_kraus, phase_damping_kraus, readout_probabilities, run_density,
                               run_trajectories, zero_density)
from hybridq.sim.state import zero_state

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


def test_trajectories_average_to_the_density_matrix():
    c = circuit()
    ops = compile_ops(c, None, {}, batch=1, dtype=torch.complex128, device="cpu")
    exact = density_probabilities(run_density(zero_density(3), ops, NOISE))[0].numpy()
    states = run_trajectories(zero_state(3, 4000, dtype=torch.complex128), ops, NOISE,
                              generator=torch.Generator().manual_seed(3))
    mean = (states.abs() ** 2).mean(0).numpy()
    stderr = (states.abs() ** 2).std(0).numpy() / np.sqrt(4000)
    assert np.all(np.abs(mean - exact) <= 4 * stderr + 1e-9)


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
