from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import ansatz
from hybridq.errors import ShapeError


def _ry(a) -> np.ndarray:
    a = float(a)
    return np.array([[np.cos(a / 2), -np.sin(a / 2)], [np.sin(a / 2), np.cos(a / 2)]])


def test_strongly_entangling_matches_pennylane():
    qml = pytest.importorskip("pennylane")
    n, layers = 4, 3
    c = ansatz.strongly_entangling(n, layers)
    w = torch.rand(layers, n, 3, dtype=torch.float64) * 6
    psi = hq.simulate(c, weights=w.reshape(-1), dtype=torch.complex128)[0].numpy()

    @qml.qnode(qml.device("default.qubit", wires=n))
    def ref():
        qml.StronglyEntanglingLayers(w.numpy(), wires=range(n))
        return qml.state()

    assert np.allclose(psi, ref(), atol=1e-10)


def test_hardware_efficient_structure_and_real_variant_runs_on_real_dtype():
    c = ansatz.hardware_efficient(3, 2, rotations=("RY",), entangler="CZ", topology="ring", final_rotations=True)
    assert c.count_ops() == {"RY": 9, "CZ": 6}
    assert c.weight_names[:2] == ["theta[0,0,0]", "theta[0,1,0]"]
    w = torch.rand(9, dtype=torch.float64)
    real = hq.simulate(c, weights=w, dtype=torch.float64)
    cplx = hq.simulate(c, weights=w, dtype=torch.complex128)
    assert torch.allclose(real.to(torch.complex128), cplx)
    with pytest.raises(ShapeError):
        ansatz.hardware_efficient(3, 1, topology="star")


def test_angle_embedding_is_a_product_of_rotations():
    x = torch.rand(2, 3, dtype=torch.float64)
    psi = hq.simulate(ansatz.angle_embedding(3, scale=2.0), x, dtype=torch.complex128)
    for b in range(2):
        ref = np.kron(np.kron(_ry(2 * x[b, 0]), _ry(2 * x[b, 1])), _ry(2 * x[b, 2]))[:, 0]
        assert np.allclose(psi[b].numpy(), ref)
    assert ansatz.angle_embedding(2, rotation="Z", hadamard=True).count_ops() == {"H": 2, "RZ": 2}


def test_amplitude_embedding_pads_normalises_and_is_differentiable():
    x = torch.tensor([[1.0, 2.0, 2.0], [0.0, 3.0, 4.0]], requires_grad=True)
    psi = ansatz.amplitude_embedding(x, pad_with=0.0)
    assert psi.shape == (2, 4)
    assert torch.allclose(psi.real, torch.tensor([[1 / 3, 2 / 3, 2 / 3, 0], [0, 0.6, 0.8, 0]]))
    psi.real[:, 0].sum().backward()
    assert x.grad is not None
    with pytest.raises(ShapeError):
        ansatz.amplitude_embedding(torch.rand(1, 5), 2)
