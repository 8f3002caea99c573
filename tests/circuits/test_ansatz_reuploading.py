from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import ansatz
from hybridq.errors import ParameterError


def _rz(a):
    return np.diag([np.exp(-0.5j * a), np.exp(0.5j * a)])


def _ry(a):
    return np.array([[np.cos(a / 2), -np.sin(a / 2)], [np.sin(a / 2), np.cos(a / 2)]])


def test_single_qubit_circuit_matches_zyz_product():
    c = ansatz.data_reuploading(1, n_features=2, layers=3)
    names = c.weight_names
    g = torch.Generator().manual_seed(0)
    w = torch.rand(len(names), generator=g, dtype=torch.float64) * 3
    x = torch.tensor([0.4, -0.8], dtype=torch.float64)
    psi = hq.simulate(c, x.unsqueeze(0), w, dtype=torch.complex128)[0].numpy()
    val = dict(zip(names, w.tolist()))
    ref = np.array([1, 0], dtype=complex)
    for layer in range(3):
        ang = [val[f"theta[{layer},0,{k}]"] + (val[f"w[{layer},0,{k}]"] * x[k].item() if k < 2 else 0) for k in range(3)]
        ref = _rz(ang[2]) @ _ry(ang[1]) @ _rz(ang[0]) @ ref
    assert np.allclose(psi, ref)


def test_entanglers_follow_the_paper_pattern():
    ops = [op for op in ansatz.data_reuploading(4, 3, layers=3) if op.controls]
    assert [(op.controls[0], op.qubits[0]) for op in ops] == [(0, 1), (2, 3), (1, 2), (3, 0)]
    assert not [op for op in ansatz.data_reuploading(2, 3, 2, entangle=False) if op.controls]
    assert ansatz.data_reuploading(1, 5, 1).count_ops() == {"RZ": 4, "RY": 2}


def test_label_states_and_fidelity_costs():
    labels = ansatz.label_states(4)
    overlap = (labels.conj() @ labels.T).abs().square()
    assert torch.allclose(overlap, torch.full((4, 4), 1 / 3, dtype=torch.float64) + torch.eye(4, dtype=torch.float64) * 2 / 3)
    assert torch.allclose(ansatz.label_states(3)[1].abs().square().sum(), torch.tensor(1.0, dtype=torch.float64))
    with pytest.raises(ParameterError):
        ansatz.label_states(5)
    # two qubits, product state |0>|+>: qubit 0 has F=1 with |0>, qubit 1 has F=1/2
    psi = torch.tensor([[1, 1, 0, 0]], dtype=torch.complex128) / 2**0.5
    lab2 = ansatz.label_states(2)
    f = ansatz.fidelities(psi, lab2)
    assert torch.allclose(f, torch.tensor([[[1.0, 0.0], [0.5, 0.5]]], dtype=torch.float64))
    y = torch.tensor([0])
    assert torch.isclose(ansatz.fidelity_cost(psi, y, lab2), torch.tensor(0.25, dtype=torch.float64))
    alpha = torch.tensor([[1.0, 2.0], [0.5, 1.0]], dtype=torch.float64)
    # scores: class0 = 1*1 + 2*0.5 = 2, class1 = 0.5*0 + 1*0.5 = 0.5; targets Y = (1, 0)
    expected = 0.5 * ((2 - 1) ** 2 + 0.5**2)
    assert torch.isclose(ansatz.weighted_fidelity_cost(psi, y, lab2, alpha), torch.tensor(expected, dtype=torch.float64))
    assert ansatz.predict(psi, lab2, alpha).tolist() == [0]
