"""One consistency test over every gate record of ``hybridq.sim.GATES``.

For each gate, at random angles: the engine's matrix against the matrix Qiskit, Cirq, PennyLane
and OpenQASM 2/3 (read by Qiskit) give for each of the record's names; inverse times gate is
the identity; ``gate(t) = exp(-i t G)`` for the recorded generator; every shift rule, with and
without a control, reproduces the derivative of an expectation.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from hybridq.circuits import Circuit, simulate
from hybridq.qubit_order import bit_reversal_permutation
from hybridq.sim.gates import GATES

NAMES = sorted(GATES)
PAULI = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1, -1])}


def angles(name: str, seed: int = 0) -> list[float]:
    return [float(a) for a in np.random.default_rng(seed + len(name)).uniform(-np.pi, np.pi, GATES[name].n_params)]


def matrix(name: str, params, controls: int = 0) -> np.ndarray:
    """The engine's matrix of ``name`` (controls first, then targets; qubit 0 = MSB)."""
    k = GATES[name].n_qubits + controls
    c = Circuit(k).add(name, list(range(controls, k)), *params, controls=list(range(controls)))
    basis = torch.eye(2**k, dtype=torch.complex128)
    return simulate(c, initial_state=basis, dtype=torch.complex128, fusion=False).T.numpy()


def from_qiskit_matrix(u: np.ndarray) -> np.ndarray:
    perm = bit_reversal_permutation(int(u.shape[0]).bit_length() - 1)
    return u[np.ix_(perm, perm)]


@pytest.mark.parametrize("name", NAMES)
def test_matrix_matches_qiskit_cirq_and_pennylane(name):
    from qiskit.circuit import library
    from qiskit.quantum_info import Operator

    spec, params = GATES[name], angles(name)
    ours = matrix(name, params)
    for cls in spec.names.qiskit:
        theirs = from_qiskit_matrix(Operator(getattr(library, cls)(*params)).data)
        np.testing.assert_allclose(ours, theirs, atol=1e-12, err_msg=f"qiskit {cls}")
    if spec.names.cirq is not None:
        import cirq

        from hybridq.circuits.interop.cirq import cirq_gate

        np.testing.assert_allclose(ours, cirq.unitary(cirq_gate(name, *params)), atol=1e-12, err_msg="cirq")
    import pennylane as qml

    wires = list(range(spec.n_qubits))
    for op_name in spec.names.pennylane:
        if op_name.startswith("Adjoint("):
            op = qml.adjoint(getattr(qml, op_name[8:-1])(wires=wires))
        else:
            op = getattr(qml, op_name)(*params, wires=wires)
        np.testing.assert_allclose(ours, qml.matrix(op, wire_order=wires), atol=1e-12, err_msg=f"pennylane {op_name}")


@pytest.mark.parametrize("name", NAMES)
def test_openqasm_names_with_their_controls(name):
    from qiskit import qasm2, qasm3
    from qiskit.quantum_info import Operator

    spec, params = GATES[name], angles(name, 1)
    args = f"({', '.join(repr(p) for p in params)})" if params else ""
    for version, names in ((2, spec.names.qasm2), (3, spec.names.qasm3)):
        for controls, gate in enumerate(names):
            if gate is None:
                continue
            k = spec.n_qubits + controls
            text = (f"OPENQASM {version}.0;\ninclude \"{'qelib1.inc' if version == 2 else 'stdgates.inc'}\";\n"
                    + (f"qreg q[{k}];\n" if version == 2 else f"qubit[{k}] q;\n")
                    + f"{gate}{args} {', '.join(f'q[{i}]' for i in range(k))};\n")
            if version == 2:
                qc = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
            else:
                pytest.importorskip("qiskit_qasm3_import")
                qc = qasm3.loads(text)
            theirs = from_qiskit_matrix(Operator(qc).data)
            np.testing.assert_allclose(matrix(name, params, controls), theirs, atol=1e-10, err_msg=f"qasm{version} {gate}")


@pytest.mark.parametrize("name", NAMES)
def test_inverse_times_gate_is_the_identity(name):
    params = angles(name, 2)
    inverse, inverse_params = GATES[name].inverse_of(tuple(params))
    product = matrix(inverse, inverse_params) @ matrix(name, params)
    np.testing.assert_allclose(product, np.eye(len(product)), atol=1e-12)


def generator_matrix(terms) -> np.ndarray:
    out = 0
    for label, coeff in terms:
        term = np.eye(1)
        for letter in label:
            term = np.kron(term, PAULI[letter])
        out = out + coeff * term
    return out


@pytest.mark.parametrize("name", [n for n in NAMES if GATES[n].n_params == 1])
def test_generator_gives_the_gate_and_its_derivative(name):
    g = generator_matrix(GATES[name].generator)
    (t,) = angles(name, 3)
    np.testing.assert_allclose(matrix(name, [t]), scipy.linalg.expm(-1j * t * g), atol=1e-12)
    h = 1e-6
    derivative = (matrix(name, [t + h]) - matrix(name, [t - h])) / (2 * h)
    np.testing.assert_allclose(derivative, -1j * g @ matrix(name, [t]), atol=1e-8)


@pytest.mark.parametrize("controls", [0, 1])
@pytest.mark.parametrize("name", [n for n in NAMES if GATES[n].n_params])
def test_shift_rules_reproduce_the_derivative(name, controls):
    spec = GATES[name]
    rules = spec.controlled_shift if controls else spec.shift
    assert len(rules) == spec.n_params
    rng = np.random.default_rng(4)
    k = spec.n_qubits + controls
    psi = rng.normal(size=2**k) + 1j * rng.normal(size=2**k)
    psi /= np.linalg.norm(psi)
    a = rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k))
    observable = a + a.conj().T
    params = angles(name, 5)

    def f(p) -> float:
        phi = matrix(name, p, controls) @ psi
        return float(np.real(phi.conj() @ observable @ phi))

    for i, rule in enumerate(rules):
        def at(shift: float) -> float:
            p = list(params)
            p[i] += shift
            return f(p)

        finite = (at(1e-6) - at(-1e-6)) / 2e-6
        shifted = sum(c * at(s) for s, c in zip(rule.shifts, rule.coeffs))
        assert shifted == pytest.approx(finite, abs=1e-6), (name, controls, i)


@pytest.mark.parametrize("name", [n for n in NAMES if GATES[n].kind == "dense"])
def test_zero_parts_hold_at_every_angle_and_in_the_derivatives(name):
    """``zero_parts`` is the pattern of the parts that are zero in the simulated matrix at six
    random angles and in its derivatives by every angle (the native kernels leave out those
    parts of the gradient sums): ``"cross"`` all but the diagonal's real and the anti-diagonal's
    imaginary parts (RX, Y; RXX, RYY on two targets)."""
    values = []
    for seed in range(6):
        params = angles(name, 100 + seed)
        values.append(matrix(name, params))
        for j in range(len(params)):
            shifted = [[p + (eps if i == j else 0.0) for i, p in enumerate(params)] for eps in (1e-5, -1e-5)]
            values.append((matrix(name, shifted[0]) - matrix(name, shifted[1])) / 2e-5)
    zero = np.all(np.abs(np.stack([np.stack([v.real, v.imag], -1) for v in values])) < 1e-9, axis=0)
    diagonal = np.eye(2 ** GATES[name].n_qubits, dtype=bool)
    anti = diagonal[::-1]
    cross = zero[..., 1][diagonal].all() and zero[..., 0][anti].all() and zero[~(diagonal | anti)].all()
    found = "real" if zero[..., 1].all() else "cross" if cross else None
    assert GATES[name].zero_parts == found
