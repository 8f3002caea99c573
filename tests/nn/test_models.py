from __future__ import annotations

import io

import numpy as np
import torch

from hybridq.circuits import ansatz
from hybridq.nn import QVF, DaruanActivation, HamiltonianEmbeddingClassifier, QKANLayer, ReuploadingClassifier
from tests.conftest import embed


def test_qkan_layer_equals_an_explicit_sum_over_edges():
    torch.manual_seed(0)
    layer = QKANLayer(3, 2, reps=2, dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64)
    y = layer(x)
    for j in range(2):
        for b in range(4):
            total = layer.bias[j] + sum(layer.base_weight[j, i] * torch.nn.functional.silu(x[b, i]) for i in range(3))
            for i in range(3):
                phi = ansatz.daruan_expval(x[b, i].reshape(1), layer.theta[j, i][None], layer.preact_weight[j, i][None],
                                           layer.preact_bias[j, i][None])
                total = total + layer.weight[j, i] * phi[0]
            assert torch.isclose(y[b, j], total, atol=1e-12)
    y.sum().backward()
    assert layer.theta.grad.abs().sum() > 0 and layer.preact_weight.grad.abs().sum() > 0


def test_qkan_as_mlp_drop_in_learns_a_1d_function():
    torch.manual_seed(1)
    model = torch.nn.Sequential(QKANLayer(1, 4, reps=2), QKANLayer(4, 1, reps=2))
    x = torch.linspace(-1, 1, 64).unsqueeze(1)
    y = torch.sin(3 * x)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    first = None
    for _ in range(60):
        loss = torch.nn.functional.mse_loss(model(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first


def test_daruan_activation_is_elementwise_and_fixed_preact_is_a_buffer():
    act = DaruanActivation(3, reps=1, preact_trainable=False)
    x = torch.randn(2, 4, 3)
    out = act(x)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert [n for n, _ in act.named_parameters()] == ["theta"]
    single = ansatz.daruan_expval(x[1, 2, 0:1], act.theta[0:1], act.preact_weight[0:1], act.preact_bias[0:1])
    assert torch.isclose(out[1, 2, 0], single[0])


def _dense_hamiltonian_model(model: HamiltonianEmbeddingClassifier, image: torch.Tensor) -> np.ndarray:
    n = model.n_qubits
    h = ansatz.image_hamiltonians(image.unsqueeze(0).double(), n)[0].numpy()
    psi = np.full(2**n, 2 ** (-n / 2), dtype=complex)
    for layer in range(model.layers):
        w, v = np.linalg.eigh(h)
        psi = v @ np.diag(np.exp(-0.5j * model.times[layer].item() * w)) @ v.T @ psi
        for j, qubits in enumerate(model.pairs):
            u = ansatz.special_unitary(model.angles[layer, j].detach().double(), len(qubits)).numpy()
            psi = embed(u, list(qubits), n) @ psi
    return np.abs(psi) ** 2


def test_hamiltonian_classifier_matches_a_dense_reference():
    torch.manual_seed(2)
    images = torch.rand(2, 6, 7, dtype=torch.float64)
    for block in ("su4", "su"):
        model = HamiltonianEmbeddingClassifier(3, layers=2, n_classes=5, block=block, dtype=torch.float64)
        p = model(images)
        assert p.shape == (2, 5)
        for b in range(2):
            probs = _dense_hamiltonian_model(model, images[b])
            assert np.allclose(p[b].detach().numpy(), probs[:5], atol=1e-10)
    p.sum().backward()
    assert model.times.grad.abs().sum() > 0 and model.angles.grad.abs().sum() > 0


def test_qvf_amplitudes_real_run_and_identity_init():
    torch.manual_seed(3)
    field = QVF(2, out_channels=2, n_qubits=3, layers=2, hidden=8, depth=1, init="identity")
    coords = torch.rand(5, 2)
    amps = field.amplitudes(coords)
    assert amps.dtype == torch.float32 and (amps >= 0).all()
    assert torch.allclose(amps.square().sum(1), torch.ones(5), atol=1e-6)
    # identity init: the ansatz does nothing, so <Z_q> is read straight from the amplitudes
    probs = amps.square().reshape(5, 2, 2, 2)
    z0 = probs[:, 0].sum((1, 2)) - probs[:, 1].sum((1, 2))
    z1 = probs[:, :, 0].sum((1, 2)) - probs[:, :, 1].sum((1, 2))
    assert torch.allclose(field(coords), torch.stack([z0, z1], 1), atol=1e-5)
    field(coords).sum().backward()
    assert field.energy[0].weight.grad is not None and field.quantum.weight.grad.abs().sum() > 0
    buf = io.BytesIO()
    torch.save(field.state_dict(), buf)
    buf.seek(0)
    other = QVF(2, out_channels=2, n_qubits=3, layers=2, hidden=8, depth=1, init="identity")
    other.load_state_dict(torch.load(buf))
    assert torch.equal(other(coords), field(coords))


def test_reuploading_classifier_scores_are_label_fidelities():
    torch.manual_seed(4)
    clf = ReuploadingClassifier(1, 2, layers=2, n_classes=3, cost="weighted_fidelity")
    x = torch.rand(6, 2)
    states = clf.circuit(x)
    fid = (states.to(torch.complex128) @ ansatz.label_states(3).conj().T).abs().square()
    assert torch.allclose(clf(x).double(), fid, atol=1e-5)
    loss = clf.loss(x, torch.tensor([0, 1, 2, 0, 1, 2]))
    loss.backward()
    assert clf.alpha.grad is not None and clf.circuit.weight.grad.abs().sum() > 0
    assert clf.predict(x).shape == (6,)
