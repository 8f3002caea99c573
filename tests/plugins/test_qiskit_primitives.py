"""hybridq's Qiskit V2 primitives against Qiskit's StatevectorEstimator / StatevectorSampler."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit")
from qiskit.circuit import ClassicalRegister, Parameter, ParameterVector, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.primitives import StatevectorEstimator, StatevectorSampler  # noqa: E402
from qiskit.quantum_info import Pauli, SparsePauliOp  # noqa: E402

from hybridq.errors import PauliError  # noqa: E402
from hybridq.plugins.qiskit import EstimatorV2, SamplerV2  # noqa: E402


def random_circuit(n: int, depth: int, rng: np.random.Generator) -> QuantumCircuit:
    """Random gates with angles from a ParameterVector, a named Parameter and expressions."""
    theta = ParameterVector("t", 3)
    phi = Parameter("phi")
    angles = [theta[0], theta[1], 2 * theta[2] + 0.3, phi, theta[0] * phi]
    qc = QuantumCircuit(n)
    for _ in range(depth):
        for q in range(n):
            gate = rng.choice(["rx", "ry", "rz", "h", "sx", "u", "p"])
            a = angles[rng.integers(len(angles))]
            if gate == "u":
                qc.u(a, float(rng.uniform(0, 6)), theta[1], q)
            elif gate in ("h", "sx"):
                getattr(qc, gate)(q)
            else:
                getattr(qc, gate)(a, q)
        a, b = rng.choice(n, 2, replace=False)
        kind = rng.choice(["cx", "cz", "crx", "rzz", "swap"])
        if kind in ("crx", "rzz"):
            getattr(qc, kind)(angles[rng.integers(len(angles))], int(a), int(b))
        else:
            getattr(qc, kind)(int(a), int(b))
    qc.global_phase = 0.2
    return qc


def random_observable(n: int, rng: np.random.Generator) -> SparsePauliOp:
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(rng.integers(1, 5))]
    return SparsePauliOp(labels, rng.normal(size=len(labels)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimator_matches_statevector_estimator_with_broadcasting(seed):
    rng = np.random.default_rng(seed)
    n = 3 + seed
    qc = random_circuit(n, 3, rng)
    observables = [[random_observable(n, rng)] for _ in range(3)]  # shape (3, 1)
    values = rng.uniform(-np.pi, np.pi, size=(4, qc.num_parameters))  # shape (4,)
    pubs = [(qc, observables, values), (qc, random_observable(n, rng), values[0]),
            (qc, [Pauli("Z" * n), "X" + "I" * (n - 1)], values[:2])]
    ours = EstimatorV2().run(pubs).result()
    ref = StatevectorEstimator().run(pubs).result()
    assert ours.metadata == ref.metadata
    for a, b in zip(ours, ref):
        assert a.data.evs.shape == b.data.evs.shape
        np.testing.assert_allclose(a.data.evs, b.data.evs, atol=1e-10)
        np.testing.assert_array_equal(a.data.stds, b.data.stds)
        assert a.metadata == b.metadata
    assert ours[0].data.evs.shape == (3, 4)


def test_estimator_precision_draws_the_same_noise_as_qiskit():
    rng = np.random.default_rng(5)
    qc = random_circuit(3, 2, rng)
    pub = (qc, [random_observable(3, rng) for _ in range(2)], rng.uniform(size=(5, 1, qc.num_parameters)))
    ours = EstimatorV2(seed=11).run([pub], precision=0.05).result()[0]
    ref = StatevectorEstimator(seed=11).run([pub], precision=0.05).result()[0]
    exact = EstimatorV2().run([pub]).result()[0]
    np.testing.assert_allclose(ours.data.evs, ref.data.evs, atol=1e-10)
    assert ours.metadata["target_precision"] == 0.05
    assert 0.01 < np.std(ours.data.evs - exact.data.evs) < 0.1


def test_estimator_without_parameters_and_metadata():
    qc = QuantumCircuit(2, metadata={"name": "bell"})
    qc.h(0)
    qc.cx(0, 1)
    result = EstimatorV2().run([(qc, ["ZZ", "XX", "ZI"])]).result()[0]
    np.testing.assert_allclose(result.data.evs, [1, 1, 0], atol=1e-12)
    assert result.metadata == {"target_precision": 0.0, "circuit_metadata": {"name": "bell"}}


def test_estimator_rejects_non_pauli_observables():
    from qiskit.quantum_info import SparseObservable

    qc = QuantumCircuit(1)
    with pytest.raises(PauliError, match="not a Pauli word"):
        EstimatorV2().run([(qc, SparseObservable("0"))]).result()


def measured_circuit(rng: np.random.Generator) -> QuantumCircuit:
    """Two classical registers, one wider than its measured bits, measurements out of order."""
    qr = QuantumRegister(4)
    alpha, beta = ClassicalRegister(2, "alpha"), ClassicalRegister(9, "beta")
    qc = QuantumCircuit(qr, alpha, beta)
    body = random_circuit(4, 2, rng)
    qc.compose(body, qubits=range(4), inplace=True)
    qc.measure([2, 0], alpha)
    qc.measure([3, 1], [beta[0], beta[7]])
    return qc


@pytest.mark.parametrize("seed", [3, 4])
def test_sampler_matches_statevector_sampler_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    qc = measured_circuit(rng)
    values = rng.uniform(-np.pi, np.pi, size=(2, 3, qc.num_parameters))
    pubs = [(qc, values), (qc, values[0, 0], 17)]
    ours = SamplerV2(seed=seed).run(pubs, shots=50).result()
    ref = StatevectorSampler(seed=seed).run(pubs, shots=50).result()
    assert ours.metadata == ref.metadata
    for a, b in zip(ours, ref):
        assert a.metadata == b.metadata
        assert sorted(a.data.keys()) == sorted(b.data.keys())
        for name in ("alpha", "beta"):
            x, y = a.data[name], b.data[name]
            assert (x.shape, x.num_bits, x.num_shots) == (y.shape, y.num_bits, y.num_shots)
            np.testing.assert_array_equal(x.array, y.array)
    assert ours[0].data.alpha.shape == (2, 3)


def test_sampler_statistics_follow_the_state():
    qc = QuantumCircuit(1)
    qc.ry(2 * np.arcsin(np.sqrt(0.3)), 0)
    qc.measure_all()
    counts = SamplerV2(seed=np.random.default_rng(0)).run([qc], shots=20000).result()[0].data.meas.get_counts()
    assert abs(counts["1"] / 20000 - 0.3) < 0.015


def test_sampler_warns_without_classical_registers():
    with pytest.warns(UserWarning, match="no classical register"):
        SamplerV2().run([QuantumCircuit(1)])


def test_estimator_qnn_with_torch_connector_matches_qiskit():
    torch = pytest.importorskip("torch")
    pytest.importorskip("qiskit_machine_learning")
    from qiskit.circuit.library import real_amplitudes, zz_feature_map
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    features, ansatz = zz_feature_map(3), real_amplitudes(3, reps=2)
    qc = features.compose(ansatz)
    x = torch.tensor([[0.1, 0.5, -0.3], [0.7, -0.2, 1.1], [0.0, 0.4, 0.9]])
    outputs, grads = [], []
    for estimator in (EstimatorV2(), StatevectorEstimator()):
        qnn = EstimatorQNN(circuit=qc, observables=[SparsePauliOp("ZZI"), SparsePauliOp(["XIX", "IYY"], [0.5, 0.2])],
                           input_params=features.parameters, weight_params=ansatz.parameters,
                           estimator=estimator, default_precision=0.0, input_gradients=True)
        model = TorchConnector(qnn, initial_weights=np.linspace(-1, 1, ansatz.num_parameters))
        inputs = x.clone().requires_grad_(True)
        y = model(inputs)
        (y * torch.tensor([1.0, -2.0])).sum().backward()
        outputs.append(y.detach().numpy())
        grads.append((model.weight.grad.numpy(), inputs.grad.numpy()))
    assert outputs[0].shape == (3, 2)
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-10)
    for ours, ref in zip(*grads):
        np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_vqe_reaches_the_ground_energy_as_with_qiskit():
    pytest.importorskip("qiskit_algorithms")
    from qiskit.circuit.library import real_amplitudes
    from qiskit_algorithms import VQE, NumPyMinimumEigensolver
    from qiskit_algorithms.optimizers import SLSQP

    h2 = SparsePauliOp.from_list([("II", -1.0524), ("IZ", 0.3979), ("ZI", -0.3979), ("ZZ", -0.0113), ("XX", 0.1809)])
    exact = NumPyMinimumEigensolver().compute_minimum_eigenvalue(h2).eigenvalue.real
    results = [VQE(estimator, real_amplitudes(2, reps=2), SLSQP(maxiter=200), initial_point=np.full(6, 0.1))
               .compute_minimum_eigenvalue(h2) for estimator in (EstimatorV2(), StatevectorEstimator())]
    assert abs(results[0].eigenvalue - exact) < 1e-6
    assert abs(results[0].eigenvalue - results[1].eigenvalue) < 1e-8
    assert results[0].cost_function_evals == results[1].cost_function_evals
