"""Read-outs: marginals, sampling statistics, Pauli expectations, reduced density matrices."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.stats
import torch

import hybridq.sim as sim
from hybridq.sim import measure
from tests.conftest import pauli_matrix, random_state


def test_marginal_probabilities_follow_qubit_order():
    psi = random_state(2, 4)
    p = sim.probabilities(psi).numpy().reshape(2, 2, 2, 2, 2)
    np.testing.assert_allclose(sim.probabilities(psi, [2, 0]).numpy(), p.sum(axis=(2, 4)).transpose(0, 2, 1).reshape(2, 4), atol=1e-12)


def test_sampling_passes_chi_squared_and_is_seeded():
    psi = random_state(1, 3, seed=7)
    shots = 20000
    samples = sim.sample(psi, shots, seed=11)
    assert torch.equal(samples, sim.sample(psi, shots, seed=11))
    counts = np.bincount(samples[0].numpy(), minlength=8)
    expected = sim.probabilities(psi)[0].numpy() * shots
    assert scipy.stats.chisquare(counts, expected).pvalue > 1e-3


def random_paulis(n: int, terms: int, rng) -> SimpleNamespace:
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)]
    x = np.array([[c in "XY" for c in lab] for lab in labels])
    z = np.array([[c in "YZ" for c in lab] for lab in labels])
    return SimpleNamespace(n_qubits=n, x=x, z=z, coeffs=rng.normal(size=terms).astype(complex), labels=labels)


def test_grouped_expectations_match_dense(rng):
    for n in (1, 2, 5, 7):
        obs = random_paulis(n, 40, rng)
        psi = random_state(3, n, seed=n)
        h = sum(c.real * pauli_matrix(lab) for c, lab in zip(obs.coeffs, obs.labels))
        ref = np.einsum("bi,ij,bj->b", psi.numpy().conj(), h, psi.numpy()).real
        np.testing.assert_allclose(sim.expval(psi, obs).numpy(), ref, atol=1e-12)
        per_term = sim.expval_terms(psi, obs)
        assert per_term.shape == (3, 40)


def test_expval_z_and_reduced_density_matrix():
    psi = random_state(2, 3, seed=3)
    rho = sim.reduced_density_matrix(psi, [1])
    z = sim.expval_z(psi)
    np.testing.assert_allclose((rho[:, 0, 0] - rho[:, 1, 1]).real.numpy(), z[:, 1].numpy(), atol=1e-12)
    full = torch.einsum("bi,bj->bij", psi, psi.conj())
    np.testing.assert_allclose(sim.reduced_density_matrix(psi, [0, 1, 2]).numpy(), full.numpy(), atol=1e-12)
    assert torch.allclose(rho.diagonal(dim1=1, dim2=2).sum(-1).real, torch.ones(2, dtype=torch.float64))


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("n", [1, 4, 7])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_expval_z_equals_the_sign_table(n, dtype, native, monkeypatch):
    """Every qubit's <Z> and its gradient, against probabilities times the table of signs: by the
    native kernels, and by torch's ops (two each way, as on a GPU)."""
    if not native:
        monkeypatch.setattr(measure, "_native_readout", lambda state, name: None)
    elif measure._native_readout(torch.zeros(1, 2, dtype=dtype), "expval_z") is None:
        pytest.skip("native CPU kernels not built (no C compiler)")
    g = torch.Generator().manual_seed(n)
    psi = torch.randn(5, 2**n, dtype=torch.complex128, generator=g)
    psi = (psi / psi.norm(dim=1, keepdim=True)).to(dtype).requires_grad_(True)
    weights = torch.randn(5, n, dtype=psi.real.dtype, generator=g)
    signs = measure.z_sign_table(np.eye(n, dtype=bool), dtype=psi.real.dtype)
    wanted = psi.abs().square() @ signs
    got = sim.expval_z(psi)
    tol = 1e-5 if dtype == torch.complex64 else 1e-12
    assert (got - wanted).abs().max() < tol
    (grad_wanted,) = torch.autograd.grad((wanted * weights).sum(), psi)
    (grad_got,) = torch.autograd.grad((got * weights).sum(), psi)
    assert (grad_got - grad_wanted).abs().max() < tol


@pytest.mark.parametrize("native", [True, False])
def test_probability_gradients_pass_gradcheck(native, monkeypatch):
    """With the native |psi|**2 kernels (where they built) and with torch's ops."""
    if not native:
        monkeypatch.setattr(measure, "_native_readout", lambda state, name: None)
    elif measure._native_readout(torch.zeros(1, 2, dtype=torch.complex128), "squared_modulus") is None:
        pytest.skip("native CPU kernels not built (no C compiler)")
    g = torch.Generator().manual_seed(3)
    psi = torch.randn(3, 8, dtype=torch.complex128, generator=g).requires_grad_(True)
    assert torch.allclose(sim.probabilities(psi), psi.detach().abs().square())
    assert torch.autograd.gradcheck(lambda s: sim.probabilities(s), (psi,))
    assert torch.autograd.gradcheck(lambda s: sim.expval_z(s, [2, 0]), (psi,))
    psi32 = psi.detach().to(torch.complex64)
    assert torch.allclose(sim.probabilities(psi32), psi32.abs().square())
