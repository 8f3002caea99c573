from __future__ import annotations

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import ansatz
from hybridq.qubit_order import bit_reversal_permutation


def test_zz_feature_map_matches_qiskit():
    pytest.importorskip("qiskit")
    from qiskit.circuit.library import zz_feature_map
    from qiskit.quantum_info import Statevector

    n, reps = 3, 2
    x = np.array([0.3, 1.7, 2.9])
    qc = zz_feature_map(n, reps=reps, entanglement="full")
    ref = Statevector(qc.assign_parameters(x)).data
    psi = hq.simulate(ansatz.zz_feature_map(n, reps), torch.from_numpy(x).unsqueeze(0), dtype=torch.complex128)[0].numpy()
    assert np.allclose(psi[bit_reversal_permutation(n)], ref, atol=1e-10)


def test_kernel_matrix_equals_direct_overlaps_of_qiskit_states():
    pytest.importorskip("qiskit")
    from qiskit.circuit.library import zz_feature_map
    from qiskit.quantum_info import Statevector

    fm = ansatz.zz_feature_map(2, reps=2, entanglement="linear")
    qc = zz_feature_map(2, reps=2, entanglement="linear")
    g = torch.Generator().manual_seed(0)
    x1 = torch.rand(4, 2, generator=g, dtype=torch.float64) * 2 * np.pi
    x2 = torch.rand(3, 2, generator=g, dtype=torch.float64) * 2 * np.pi
    k = ansatz.kernel_matrix(fm, x1, x2)
    assert k.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            a = Statevector(qc.assign_parameters(x1[i].numpy()))
            b = Statevector(qc.assign_parameters(x2[j].numpy()))
            assert abs(abs(b.inner(a)) ** 2 - k[i, j].item()) < 1e-10
    gram = ansatz.kernel_matrix(fm, x1)
    assert torch.allclose(gram, gram.T) and torch.allclose(gram.diagonal(), torch.ones(4, dtype=gram.dtype))
    assert torch.linalg.eigvalsh(gram).min() > -1e-10


def test_precomputed_kernel_svm_separates_a_simple_problem():
    svm = pytest.importorskip("sklearn.svm")
    g = torch.Generator().manual_seed(1)
    x = torch.rand(40, 2, generator=g, dtype=torch.float64) * np.pi
    y = (x[:, 0] > x[:, 1]).long().numpy()
    fm = ansatz.zz_feature_map(2, reps=1, alpha=1.0)
    clf = svm.SVC(kernel="precomputed").fit(ansatz.kernel_matrix(fm, x[:30]).numpy(), y[:30])
    assert clf.score(ansatz.kernel_matrix(fm, x[:30]).numpy(), y[:30]) >= 0.9
    pred = clf.predict(ansatz.kernel_matrix(fm, x[30:], x[:30]).numpy())
    assert pred.shape == (10,)
