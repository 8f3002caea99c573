from __future__ import annotations

import torch

import hybridq as hq
from hybridq.circuits import ansatz


def test_batched_daruan_matches_the_circuit_per_edge():
    reps = 3
    c = ansatz.daruan(reps, encoding="Y")
    g = torch.Generator().manual_seed(0)
    n = 5
    theta = torch.randn(n, reps + 1, 2, generator=g, dtype=torch.float64)
    w = torch.randn(n, reps, generator=g, dtype=torch.float64)
    b = torch.randn(n, reps, generator=g, dtype=torch.float64)
    x = torch.randn(n, generator=g, dtype=torch.float64)
    got = ansatz.daruan_expval(x, theta, w, b, encoding="Y")
    for i in range(n):
        vals = {f"theta[{l},{k}]": theta[i, l, k] for l in range(reps + 1) for k in range(2)}
        vals |= {f"w[{l}]": w[i, l] for l in range(reps)} | {f"b[{l}]": b[i, l] for l in range(reps)}
        psi = hq.simulate(c, x[i].reshape(1, 1), vals, dtype=torch.complex128)
        assert torch.isclose(hq.sim.expval_z(psi)[0, 0], got[i], atol=1e-12)


def test_daruan_frequencies_grow_with_trainable_scales():
    # with w = (1, 3) the activation contains frequency 4 = 1 + 3, absent with w = (1, 1)
    x = torch.linspace(0, 2 * torch.pi, 64, dtype=torch.float64)[:-1]
    theta = torch.full((63, 3, 2), 0.7, dtype=torch.float64)
    b = torch.zeros(63, 2, dtype=torch.float64)
    spectrum = lambda w: torch.fft.rfft(ansatz.daruan_expval(x, theta, w.expand(63, 2), b)).abs()  # noqa: E731
    assert spectrum(torch.tensor([1.0, 3.0], dtype=torch.float64))[4] > 1e-3
    assert spectrum(torch.tensor([1.0, 1.0], dtype=torch.float64))[3:].max() < 1e-10


def test_gibbs_amplitudes_are_normalised_non_negative_boltzmann_weights():
    e = torch.randn(6, 16, dtype=torch.float64) * 50
    a = ansatz.gibbs_amplitudes(e, beta=0.5)
    assert (a >= 0).all() and torch.allclose(a.square().sum(1), torch.ones(6, dtype=torch.float64))
    assert torch.allclose(a.square(), torch.softmax(-0.5 * e, dim=1))


def test_identity_initialised_qvf_ansatz_is_the_identity_when_tied():
    c = ansatz.qvf_ansatz(3, 2, identity_init=True)
    names = c.weight_names
    a = {n: torch.rand((), dtype=torch.float64) * 6 for n in names if n.startswith("a")}
    vals = a | {"b" + n[1:]: v for n, v in a.items()}
    psi0 = torch.randn(2, 8, dtype=torch.float64)
    psi0 = psi0 / psi0.norm(dim=1, keepdim=True)
    out = hq.simulate(c, weights=vals, initial_state=psi0)
    assert out.dtype == torch.float64 and torch.allclose(out, psi0, atol=1e-12)
