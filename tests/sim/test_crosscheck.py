"""hybridq's simulator against Qiskit, Cirq and PennyLane on random circuits.

Random circuits use every gate kind (all base gates with 0-3 controls, Unitary, Diagonal,
PauliRot) and angles that are numbers, per-sample inputs and shared weights in affine and
product expressions. Final states must agree with each peer to 1e-5 (complex64) and 1e-10
(complex128); peers are run through :mod:`hybridq.circuits.interop`, so the conversions are
checked at the same time. Also: sampling (chi-squared), gradients (autograd, adjoint,
PennyLane backprop, finite differences) and molecular energies against Qiskit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Operation, Weight
from hybridq.circuits.interop import (bind_parameters, from_cirq, from_pennylane, from_qasm, from_qiskit, to_cirq,
                                      to_pennylane, to_qasm, to_qiskit)
from hybridq.qubit_order import bit_reversal_permutation, to_qiskit_label
from hybridq.sim import GATES

DATA = Path(hq.__file__).parent / "operators" / "data"  # the shipped copies of shared/data
WEIGHTS = ("a", "b", "c")
N_INPUTS = 3


# ----------------------------------------------------------------- random circuits


def random_unitary(rng: np.random.Generator, k: int) -> np.ndarray:
    z = rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_angle(rng: np.random.Generator):
    """A number, or an affine/product expression of inputs (per sample) and weights (shared)."""
    x, w, v = Input(int(rng.integers(N_INPUTS))), Weight(str(rng.choice(WEIGHTS))), Weight(str(rng.choice(WEIGHTS)))
    c = float(rng.uniform(-2, 2))
    return [c, w, c * x + 0.5, w * x + v, (x + c) * w, x][int(rng.integers(6))]


def random_circuit(rng: np.random.Generator, n: int, n_ops: int, *, matrices: bool = True,
                   max_controls: int = 3) -> Circuit:
    """``n_ops`` random operations on ``n`` qubits: every base gate, PauliRot and (if
    ``matrices``) Unitary and Diagonal, with up to ``max_controls`` controls."""
    names = list(GATES) + ["PauliRot", "PauliRot"] + (["Unitary", "Diagonal"] if matrices else [])
    c = Circuit(n)
    while len(c) < n_ops:
        name = str(rng.choice(names))
        k = {"Unitary": int(rng.integers(1, 4)), "Diagonal": int(rng.integers(1, 4)),
             "PauliRot": int(rng.integers(1, 5))}.get(name, GATES.get(name) and GATES[name].n_qubits)
        if k > n:
            continue
        n_controls = min(int(rng.choice([0, 0, 0, 1, 1, 2, 3])), max_controls, n - k)
        wires = [int(q) for q in rng.permutation(n)[: k + n_controls]]
        qubits, controls = tuple(wires[:k]), tuple(wires[k:])
        if name == "Unitary":
            c.append(Operation(name, qubits, (), controls, random_unitary(rng, k)))
        elif name == "Diagonal":
            c.append(Operation(name, qubits, (), controls, np.exp(1j * rng.uniform(-np.pi, np.pi, 2**k))))
        elif name == "PauliRot":
            pauli = "".join(rng.choice(list("IXYZ"), k))
            c.append(Operation(name, qubits, (random_angle(rng),), controls, pauli=pauli))
        else:
            params = tuple(random_angle(rng) for _ in range(GATES[name].n_params))
            c.append(Operation(name, qubits, params, controls))
    return c


def random_values(rng: np.random.Generator, batch: int) -> tuple[np.ndarray, dict[str, float]]:
    return rng.uniform(-np.pi, np.pi, (batch, N_INPUTS)), {w: float(rng.uniform(-2, 2)) for w in WEIGHTS}


def simulate(circuit: Circuit, x: np.ndarray, w: dict[str, float], dtype=torch.complex128, **kwargs) -> torch.Tensor:
    rdt = torch.float64 if dtype == torch.complex128 else torch.float32
    weights = {k: torch.tensor(w[k], dtype=rdt) for k in circuit.weight_names}
    return hq.simulate(circuit, inputs=torch.tensor(x), weights=weights, dtype=dtype, **kwargs)


# ----------------------------------------------------------------- peers (complex128 state vectors, hybridq order)


def qiskit_states(circuit: Circuit, x: np.ndarray, w: dict[str, float]) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    qc = to_qiskit(circuit)
    perm = bit_reversal_permutation(circuit.n_qubits)
    out = []
    for row in x:
        values = {p: row[p.index] if p.name.startswith("x[") else w[p.name] for p in qc.parameters}
        out.append(Statevector(qc.assign_parameters(values)).data[perm])
    return np.array(out)


def cirq_states(circuit: Circuit, x: np.ndarray, w: dict[str, float]) -> np.ndarray:
    import cirq

    cc, qubits = to_cirq(circuit), cirq.LineQubit.range(circuit.n_qubits)
    sim = cirq.Simulator(dtype=np.complex128)
    return np.array([sim.simulate(cc, {**w, **{f"x_{i}": v for i, v in enumerate(row)}}, qubit_order=qubits)
                     .final_state_vector for row in x])


def pennylane_states(circuit: Circuit, x: np.ndarray, w: dict[str, float]) -> np.ndarray:
    import pennylane as qml

    qfunc = to_pennylane(circuit)

    @qml.qnode(qml.device("default.qubit", wires=circuit.n_qubits), interface="torch")
    def state(inputs, weights):
        qfunc(inputs, weights)
        return qml.state()

    out = state(torch.tensor(x), {k: torch.tensor(w[k], dtype=torch.float64) for k in circuit.weight_names})
    return np.broadcast_to(out.detach().numpy(), (len(x), 2**circuit.n_qubits))


PEERS = {"qiskit": qiskit_states, "cirq": cirq_states, "pennylane": pennylane_states}
#: circuits per peer, in chunks of CHUNK (one test each): 540 circuits in all.
BUDGET = {"qiskit": 240, "cirq": 150, "pennylane": 150}
CHUNK = 30


def circuit_sizes(rng: np.random.Generator) -> tuple[int, int]:
    """Mostly small circuits, a few of 9-12 qubits."""
    n = int(rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 10, 12], p=[.08, .12, .16, .16, .14, .12, .08, .06, .05, .03]))
    return n, int(rng.integers(2, 5 * n + 6))


def describe(circuit: Circuit) -> str:
    return "\n".join(f"{op.name} q={op.qubits} c={op.controls} {op.params} {op.pauli or ''}" for op in circuit.ops)


@pytest.mark.parametrize("peer,chunk", [(p, i) for p, total in BUDGET.items() for i in range(total // CHUNK)])
def test_random_circuits_match_peer(peer, chunk):
    rng = np.random.default_rng(1000 * list(PEERS).index(peer) + chunk)
    for _ in range(CHUNK):
        n, n_ops = circuit_sizes(rng)
        circuit = random_circuit(rng, n, n_ops)
        x, w = random_values(rng, batch=2)
        expected = PEERS[peer](circuit, x, w)
        for dtype, tol in ((torch.complex128, 1e-10), (torch.complex64, 1e-5)):
            got = simulate(circuit, x, w, dtype).numpy()
            err = np.abs(got - expected).max()
            assert err < tol, f"{peer} {dtype}: max error {err:.3g} on\n{describe(circuit)}"


# ----------------------------------------------------------------- round trips


def _bound_states(circuit: Circuit, x: np.ndarray, w: dict[str, float], convert) -> np.ndarray:
    """States of ``convert(circuit with sample b bound)`` for each sample b."""
    out = []
    for row in x:
        bound = bind_parameters(circuit, row, {k: w[k] for k in circuit.weight_names})
        out.append(simulate(convert(bound), x[:1] * 0, {}).numpy()[0])
    return np.array(out)


ROUND_TRIPS = {
    # name: (convert hybridq -> peer -> hybridq, keeps symbols, circuit options)
    "qiskit": (lambda c: from_qiskit(to_qiskit(c)), True, {}),
    "cirq": (lambda c: from_cirq(to_cirq(c), n_qubits=c.n_qubits), True, {}),
    "qasm3": (lambda c: from_qasm(to_qasm(c, version=3)), True, {"matrices": False}),
    "qasm2": (lambda c: from_qasm(to_qasm(c, version=2)), False, {"matrices": False, "max_controls": 1}),
    "pennylane": (lambda c: from_pennylane(to_pennylane(c), wires=range(c.n_qubits)), False, {}),
}


@pytest.mark.parametrize("fmt", list(ROUND_TRIPS))
def test_round_trip_keeps_state(fmt):
    convert, symbolic, options = ROUND_TRIPS[fmt]
    rng = np.random.default_rng(7 + list(ROUND_TRIPS).index(fmt))
    for _ in range(25):
        n = int(rng.integers(1, 7))
        circuit = random_circuit(rng, n, int(rng.integers(1, 4 * n + 6)), **options)
        x, w = random_values(rng, batch=2)
        expected = simulate(circuit, x, w).numpy()
        if symbolic:
            back = convert(circuit)
            assert back.n_inputs <= N_INPUTS and set(back.weight_names) <= set(circuit.weight_names)
            got = simulate(back, x, w, batch=len(x)).numpy()
        else:
            got = _bound_states(circuit, x, w, convert)
        err = np.abs(got - expected).max()
        assert err < 1e-10, f"{fmt}: max error {err:.3g} on\n{describe(circuit)}"


# ----------------------------------------------------------------- sampling


def _chi_squared_pvalue(samples: np.ndarray, probs: np.ndarray) -> float:
    from scipy.stats import chisquare

    shots = len(samples)
    observed = np.bincount(samples, minlength=len(probs)).astype(float)
    expected = probs * shots
    big = expected >= 5  # pool the rare outcomes into one bin
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    if exp[-1] < 5:
        obs, exp = np.append(obs[:-2], obs[-2:].sum()), np.append(exp[:-2], exp[-2:].sum())
    return float(chisquare(obs, exp * obs.sum() / exp.sum()).pvalue)


@pytest.mark.parametrize("seed", range(4))
def test_sampling_passes_chi_squared(seed):
    from qiskit.quantum_info import Statevector

    rng = np.random.default_rng(50 + seed)
    n = int(rng.integers(2, 7))
    circuit = random_circuit(rng, n, 4 * n)
    x, w = random_values(rng, batch=2)
    state = simulate(circuit, x, w)
    qc = to_qiskit(circuit)
    measured = [int(q) for q in rng.permutation(n)[: int(rng.integers(1, n + 1))]]
    samples = hq.sim.sample(state, 20_000, qubits=measured, seed=seed).numpy()
    for b, row in enumerate(x):
        values = {p: row[p.index] if p.name.startswith("x[") else w[p.name] for p in qc.parameters}
        # Qiskit's first qarg is the least significant bit of an outcome: reverse hybridq's list
        exact = Statevector(qc.assign_parameters(values)).probabilities(measured[::-1])
        assert _chi_squared_pvalue(samples[b], exact) > 1e-3


# ----------------------------------------------------------------- gradients


def _loss(states: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    return (hq.sim.expval_z(states) * coeffs).sum()


def _hybridq_grads(circuit, x, w, coeffs, *, method, dtype=torch.complex128):
    rdt = torch.float64 if dtype == torch.complex128 else torch.float32
    xt = torch.tensor(x, dtype=rdt, requires_grad=True)
    wt = torch.tensor([w[k] for k in circuit.weight_names], dtype=rdt, requires_grad=True)
    loss = _loss(hq.simulate(circuit, inputs=xt, weights=wt, dtype=dtype, method=method), coeffs.to(rdt))
    gx, gw = torch.autograd.grad(loss, [xt, wt], allow_unused=True)
    return (np.zeros(x.shape) if gx is None else gx.double().numpy(),
            np.zeros(len(circuit.weight_names)) if gw is None else gw.double().numpy())


def _pennylane_grads(circuit, x, w, coeffs):
    import pennylane as qml

    qfunc = to_pennylane(circuit)

    @qml.qnode(qml.device("default.qubit", wires=circuit.n_qubits), interface="torch", diff_method="backprop")
    def z_values(inputs, weights):
        qfunc(inputs, weights)
        return [qml.expval(qml.Z(q)) for q in range(circuit.n_qubits)]

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor([w[k] for k in circuit.weight_names], dtype=torch.float64, requires_grad=True)
    z = torch.stack(list(z_values(xt, wt)), dim=-1).expand(len(x), -1)
    gx, gw = torch.autograd.grad((z * coeffs).sum(), [xt, wt], allow_unused=True)
    return (np.zeros(x.shape) if gx is None else gx.numpy(),
            np.zeros(len(circuit.weight_names)) if gw is None else gw.numpy())


def _finite_difference_grads(circuit, x, w, coeffs, eps=1e-5):
    def loss(xv, wv):
        return float(_loss(simulate(circuit, xv, wv), coeffs))

    gx = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        gx[idx] = (loss(up, w) - loss(down, w)) / (2 * eps)
    gw = np.array([(loss(x, {**w, k: w[k] + eps}) - loss(x, {**w, k: w[k] - eps})) / (2 * eps)
                   for k in circuit.weight_names])
    return gx, gw


@pytest.mark.parametrize("seed", range(5))
def test_gradients_agree_with_pennylane_and_finite_differences(seed):
    rng = np.random.default_rng(80 + seed)
    n = int(rng.integers(2, 6))
    circuit = random_circuit(rng, n, 3 * n + 4)
    x, w = random_values(rng, batch=3)
    coeffs = torch.tensor(rng.normal(size=n))
    autograd = _hybridq_grads(circuit, x, w, coeffs, method="autograd")
    references = {
        "adjoint": (_hybridq_grads(circuit, x, w, coeffs, method="adjoint"), 1e-10),
        "pennylane": (_pennylane_grads(circuit, x, w, coeffs), 1e-8),
        "finite differences": (_finite_difference_grads(circuit, x, w, coeffs), 1e-6),
        "adjoint complex64": (_hybridq_grads(circuit, x, w, coeffs, method="adjoint", dtype=torch.complex64), 1e-4),
        "autograd complex64": (_hybridq_grads(circuit, x, w, coeffs, method="autograd", dtype=torch.complex64), 1e-4),
    }
    for name, ((gx, gw), tol) in references.items():
        scale = max(1.0, np.abs(autograd[0]).max(initial=0), np.abs(autograd[1]).max(initial=0))
        err = max(np.abs(gx - autograd[0]).max(initial=0), np.abs(gw - autograd[1]).max(initial=0)) / scale
        assert err < tol, f"{name}: gradient error {err:.3g} on\n{describe(circuit)}"
    c64 = [references[f"{m} complex64"][0] for m in ("adjoint", "autograd")]
    assert max(np.abs(a - b).max(initial=0) for a, b in zip(*c64)) < 1e-5


# ----------------------------------------------------------------- molecular energies


@pytest.mark.parametrize("name", ["H2", "LiH", "H2O"])
def test_molecular_expectation_matches_qiskit(name):
    from qiskit.quantum_info import SparsePauliOp, Statevector

    from hybridq.operators import PauliSum

    path = DATA / f"{name}_jw.json"
    terms = json.loads(path.read_text())["terms"]
    reference = SparsePauliOp([to_qiskit_label(label) for label, _ in terms], [c for _, c in terms])
    hamiltonian = PauliSum.from_file(path)
    n = hamiltonian.n_qubits
    g = torch.Generator().manual_seed(len(name))
    states = torch.randn(2, 2**n, dtype=torch.complex128, generator=g)
    states = states / states.norm(dim=1, keepdim=True)
    perm = bit_reversal_permutation(n)
    expected = np.array([Statevector(s.numpy()[perm]).expectation_value(reference).real for s in states])
    got = hq.sim.expval(states, hamiltonian).numpy()
    assert np.abs(got - expected).max() < 1e-10 * max(1.0, np.abs(expected).max())
    got64 = hq.sim.expval(states.to(torch.complex64), hamiltonian).double().numpy()
    assert np.abs(got64 - expected).max() < 1e-5 * max(1.0, np.abs(expected).max())


# ----------------------------------------------------------------- engine issues found by the cross-checks


def test_number_weights_keep_complex128_precision():
    """Weights given as numbers must not be rounded to float32 in a complex128 simulation."""
    circuit = Circuit(1).rx(Weight("w"), 0)
    state = hq.simulate(circuit, weights={"w": 0.1}, dtype=torch.complex128)
    assert abs(state[0, 0].real.item() - math.cos(0.05)) < 1e-15
    state = hq.simulate(circuit, weights=[0.1], dtype=torch.complex128)
    assert abs(state[0, 0].real.item() - math.cos(0.05)) < 1e-15
