"""The engine on a CUDA GPU agrees with the CPU (skipped without a GPU)."""

from __future__ import annotations

import pytest
import scipy.stats
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight

pytestmark = pytest.mark.cuda


def layered(n: int, layers: int) -> Circuit:
    c = Circuit(n)
    for l in range(layers):
        for q in range(n):
            c.ry(Weight(f"w{l}{q}") * Input(q) + Weight(f"b{l}{q}"), q)
            c.rz(Weight(f"t{l}{q}"), q)
        for q in range(n):
            c.cx(q, (q + 1) % n)
        c.crx(Weight(f"c{l}"), 0, n - 1).pauli_rotation(0.3, "XYZ", [0, 1, 2])
    return c


@pytest.mark.parametrize("method", ["autograd", "adjoint"])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_simulation_and_gradients_match_cpu(method, dtype):
    c = layered(6, 3)
    x = torch.randn(32, 6, dtype=torch.float64)
    w = torch.randn(len(c.weight_names), dtype=torch.float64)
    results = {}
    for device in ("cpu", "cuda"):
        wd = w.to(device).requires_grad_(True)
        psi = hq.simulate(c, x.to(device), wd, dtype=dtype, method=method)
        loss = hq.sim.expval_z(psi).square().sum()
        (grad,) = torch.autograd.grad(loss, wd)
        assert psi.device.type == device
        results[device] = (psi.cpu(), grad.cpu())
    tol = 1e-4 if dtype == torch.complex64 else 1e-10
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], atol=tol, rtol=0)
    torch.testing.assert_close(results["cuda"][1], results["cpu"][1], atol=tol * 10, rtol=tol)


def test_pauli_sum_expectation_and_sampling_on_gpu():
    H = hq.PauliSum.from_molecule("LiH")
    g = torch.Generator().manual_seed(0)
    psi = torch.randn(4, 2**H.n_qubits, dtype=torch.complex128, generator=g)
    psi = psi / psi.norm(dim=1, keepdim=True)
    torch.testing.assert_close(hq.sim.expval(psi.cuda(), H).cpu(), hq.sim.expval(psi, H), atol=1e-9, rtol=0)
    qubits = [0, 3, 5, 7]
    samples = hq.sim.sample(psi.cuda(), 20000, qubits=qubits, seed=3)
    assert samples.device.type == "cuda" and samples.shape == (4, 20000)
    counts = torch.bincount(samples[0].cpu(), minlength=16).numpy()
    expected = hq.sim.probabilities(psi, qubits)[0].numpy() * 20000
    assert scipy.stats.chisquare(counts, expected).pvalue > 1e-3


def test_large_state_fused_layers_on_gpu():
    n = 20
    c = Circuit(n)
    for _ in range(2):
        for q in range(n):
            c.ry(0.1 * (q + 1), q)
        for q in range(n):
            c.cx(q, (q + 1) % n)
    with torch.no_grad():
        fused = hq.simulate(c, device="cuda")
        plain = hq.simulate(c, device="cuda", fusion=False)
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=0)
    assert abs(fused.abs().square().sum().item() - 1) < 1e-4


@pytest.mark.parametrize("method", ["autograd", "adjoint"])
def test_graphed_step_equals_eager(method):
    c = layered(8, 3)
    w = torch.randn(len(c.weight_names), device="cuda", requires_grad=True)

    def step(x):
        w.grad = None
        out = hq.sim.expval_z(hq.simulate(c, x, w, method=method))
        (out**2).sum().backward()
        return out.detach(), w.grad

    graphed = hq.GraphedStep(step)
    for seed in range(3):  # the first call captures, the next ones replay with new inputs
        x = torch.randn(64, 8, device="cuda", generator=torch.Generator("cuda").manual_seed(seed))
        out, grad = (t.clone() for t in graphed(x))
        ref_out, ref_grad = (t.clone() for t in step(x))
        torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=0)
        torch.testing.assert_close(grad, ref_grad, atol=1e-4, rtol=1e-4)


def test_graphed_training_with_quantum_layer_matches_eager():
    torch.manual_seed(0)
    c = layered(6, 2)
    observables = hq.PauliSum.from_list([("XZIIII", 1.0), ("IIZZII", 0.5)])
    models = [hq.nn.QuantumLayer(c, observables=observables).cuda() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    x = torch.rand(32, 6, device="cuda")

    def make_step(model):
        opt = torch.optim.Adam(model.parameters(), lr=0.05, capturable=True)

        def step(x):
            opt.zero_grad(set_to_none=True)
            loss = model(x).square().sum()
            loss.backward()
            opt.step()
            return loss

        return step

    graphed, eager = hq.GraphedStep(make_step(models[0]), warmup=3), make_step(models[1])
    for _ in range(5):
        graphed(x)
    for _ in range(3 + 5):  # the warm-up calls train too
        eager(x)
    torch.testing.assert_close(models[0].weight, models[1].weight, atol=1e-5, rtol=1e-5)


def test_make_graphed_callables_accepts_a_quantum_layer():
    layer = hq.nn.QuantumLayer(layered(6, 2)).cuda()
    x = torch.rand(16, 6, device="cuda")
    graphed = torch.cuda.make_graphed_callables(layer, (x,))
    out = graphed(x)
    out.square().sum().backward()
    grad = layer.weight.grad.clone()
    layer.weight.grad = None
    ref = layer(x)
    ref.square().sum().backward()
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(grad, layer.weight.grad, atol=1e-4, rtol=1e-4)
