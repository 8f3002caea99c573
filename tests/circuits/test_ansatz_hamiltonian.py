from __future__ import annotations

import numpy as np
import torch

from hybridq.circuits import ansatz
from tests.conftest import pauli_matrix


def test_image_hamiltonians_pad_centred_and_symmetrise():
    img = torch.arange(9.0).reshape(1, 3, 3)
    h = ansatz.image_hamiltonians(img)
    assert h.shape == (1, 4, 4)
    m = torch.zeros(4, 4)
    m[:3, :3] = img[0]  # 1 pixel of padding: 0 before, 1 after
    assert torch.equal(h[0], (m + m.T) / 2)
    assert ansatz.image_hamiltonians(torch.rand(2, 28, 28)).shape == (2, 32, 32)
    assert torch.equal(ansatz.image_hamiltonians(torch.ones(1, 6, 6))[0, 1:7, 1:7], torch.ones(6, 6))


def test_evolution_from_eigendecomposition_matches_matrix_exp():
    g = torch.Generator().manual_seed(0)
    h = ansatz.image_hamiltonians(torch.rand(3, 8, 8, generator=g, dtype=torch.float64))
    lam, v = torch.linalg.eigh(h)
    t = torch.tensor(0.7, dtype=torch.float64)
    w = ansatz.hamiltonian_evolution(lam, v, t)
    ref = torch.linalg.matrix_exp(-0.5j * t * h.to(torch.complex128))
    assert torch.allclose(w, ref, atol=1e-12)
    psi = torch.randn(3, 8, dtype=torch.complex128, generator=g)
    out = ansatz.apply_hamiltonian_evolution(psi, lam, v, t)
    assert torch.allclose(out, (ref @ psi.unsqueeze(-1)).squeeze(-1), atol=1e-12)


def test_special_unitary_uses_the_pauli_basis_and_is_in_su():
    basis = ansatz.pauli_basis(2)
    assert basis.shape == (15, 4, 4)
    assert np.allclose(basis[0].numpy(), pauli_matrix("IX")) and np.allclose(basis[3].numpy(), pauli_matrix("XI"))
    theta = torch.randn(15, dtype=torch.float64)
    u = ansatz.special_unitary(theta, 2)
    gen = sum(theta[k].item() * basis[k].numpy() for k in range(15))
    w, v = np.linalg.eigh(gen)
    assert np.allclose(u.numpy(), v @ np.diag(np.exp(1j * w)) @ v.conj().T)
    assert torch.isclose(torch.linalg.det(u), torch.tensor(1.0, dtype=u.dtype))
    assert ansatz.brickwall_pairs(5) == [(0, 1), (2, 3), (1, 2), (3, 4)]
