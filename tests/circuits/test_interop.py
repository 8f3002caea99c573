"""Conversions to and from OpenQASM, Qiskit, Cirq and PennyLane: tables, symbols, errors, and
circuits written natively in each framework (states compared with that framework's simulator).

Random-circuit agreement and round trips are in tests/sim/test_crosscheck.py.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Operation, Weight
from hybridq.circuits.interop import (bind_parameters, from_cirq, from_pennylane, from_qasm, from_qiskit, to_cirq,
                                      to_pennylane, to_qasm, to_qiskit)
from hybridq.errors import MissingDependencyError, ParameterError, QubitIndexError, ShapeError, UnknownGateError
from hybridq.qubit_order import bit_reversal_permutation


def state(circuit: Circuit, inputs=None, weights=None) -> np.ndarray:
    w = None if weights is None else {k: torch.tensor(float(v), dtype=torch.float64) for k, v in weights.items()}
    x = None if inputs is None else torch.tensor(inputs, dtype=torch.float64)
    return hq.simulate(circuit, inputs=x, weights=w, dtype=torch.complex128).numpy()[0]


def qiskit_state(qc) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    return Statevector(qc).data[bit_reversal_permutation(qc.num_qubits)]


def cirq_state(circuit, n: int, resolver=None) -> np.ndarray:
    import cirq

    result = cirq.Simulator(dtype=np.complex128).simulate(circuit, resolver, qubit_order=cirq.LineQubit.range(n))
    return result.final_state_vector


def pennylane_state(qfunc, n: int, wires=None) -> np.ndarray:
    import pennylane as qml

    @qml.qnode(qml.device("default.qubit", wires=wires if wires is not None else n))
    def run():
        qfunc()
        return qml.state()

    return np.asarray(run())


def close(a, b, tol=1e-10) -> bool:
    return np.abs(np.asarray(a) - np.asarray(b)).max() < tol


# ----------------------------------------------------------------- Qiskit


def test_qiskit_parameters_are_named_and_expressions_survive():
    angle = Weight("w") * Input(1) + 0.5 * Weight("b") - Input(0)
    c = Circuit(2).rx(angle, 0).crz(Weight("w") * (Input(0) + 1.0), 0, 1)
    qc = to_qiskit(c)
    assert sorted(p.name for p in qc.parameters) == ["b", "w", "x[0]", "x[1]"]
    back = from_qiskit(qc)
    assert back.n_inputs == 2 and sorted(back.weight_names) == ["b", "w"]
    x, w = [[0.3, -1.2]], {"w": 0.7, "b": -0.4}
    assert close(state(back, x, w), state(c, x, w))


def test_qiskit_input_vector_name_and_clash():
    qc = to_qiskit(Circuit(1).ry(Input(0), 0), input_vector="data")
    assert [p.name for p in qc.parameters] == ["data[0]"]
    assert from_qiskit(qc, input_vector="data").n_inputs == 1
    assert from_qiskit(qc).weight_names == ["data[0]"]  # another vector name: a weight
    with pytest.raises(ParameterError, match="clashes"):
        to_qiskit(Circuit(1).ry(Weight("x[0]"), 0).rx(Input(0), 0))


def test_qiskit_matrices_are_reordered():
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8)))
    d = np.exp(1j * rng.uniform(0, 6, 4))
    c = Circuit(3).h(0).h(1).h(2).unitary(u, [2, 0, 1]).diagonal(d, [1, 2])
    c.append(Operation("Diagonal", (0,), (), (2,), d[:2]))
    qc = to_qiskit(c)
    assert [i.operation.name for i in qc.data][3:5] == ["unitary", "diagonal"]
    assert close(qiskit_state(qc), state(c))
    assert close(state(from_qiskit(qc)), state(c))


def test_qiskit_native_circuit_reads_exactly():
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import GlobalPhaseGate, PauliEvolutionGate, U2Gate, XGate, efficient_su2
    from qiskit.quantum_info import SparsePauliOp

    qc = QuantumCircuit(4, 4, global_phase=0.3)
    qc.h(range(4))
    qc.iswap(0, 1)
    qc.ecr(1, 2)
    qc.rzx(0.4, 2, 3)
    qc.dcx(3, 0)
    qc.cu(0.1, 0.2, 0.3, 0.4, 0, 2)  # gamma is a relative phase here
    qc.append(U2Gate(0.5, 0.6), [1])
    qc.r(0.7, 0.8, 2)
    qc.append(XGate().control(2, ctrl_state="01"), [0, 1, 3])
    qc.append(GlobalPhaseGate(0.9), [])
    qc.append(PauliEvolutionGate(SparsePauliOp(["XXI", "ZZI", "IIY"], [0.5, -0.25, 0.75]), time=0.6), [0, 1, 2])
    qc.rccx(0, 1, 2)
    qc.compose(efficient_su2(4, reps=1).assign_parameters(np.linspace(0, 1, 16)), inplace=True)
    qc.barrier()
    qc.measure(range(4), range(4))
    c = from_qiskit(qc)
    qc.remove_final_measurements()
    assert close(state(c), qiskit_state(qc))


def test_qiskit_unsupported_instructions_are_named():
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import PauliEvolutionGate
    from qiskit.quantum_info import SparsePauliOp

    qc = QuantumCircuit(1)
    qc.reset(0)
    with pytest.raises(UnknownGateError, match="reset"):
        from_qiskit(qc)
    qc = QuantumCircuit(2)
    qc.append(PauliEvolutionGate(SparsePauliOp(["XI", "ZI"]), time=0.1), [0, 1])
    with pytest.raises(UnknownGateError, match="non-commuting"):
        from_qiskit(qc)
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.x(0)
    with pytest.raises(QubitIndexError, match="measured"):
        from_qiskit(qc)


# ----------------------------------------------------------------- Cirq


def test_cirq_symbols_and_line_qubits():
    import cirq
    import sympy

    c = Circuit(3).rx(Weight("w") * Input(0), 0).cp(Input(1) - 0.5, 0, 2).pauli_rotation(Weight("w"), "XIY", [0, 1, 2])
    cc = to_cirq(c)
    assert {str(s) for s in cirq.parameter_symbols(cc)} == {"w", "x_0", "x_1"}
    assert all(isinstance(q, cirq.LineQubit) for q in cc.all_qubits())
    resolver = {"w": 0.4, "x_0": 1.3, "x_1": -0.2}
    expected = state(c, [[1.3, -0.2]], {"w": 0.4})
    assert close(cirq_state(cc, 3, resolver), expected)
    back = from_cirq(cc)
    assert back.n_inputs == 2 and back.weight_names == ["w"]
    assert close(state(back, [[1.3, -0.2]], {"w": 0.4}), expected)
    assert isinstance(from_cirq(cirq.Circuit(cirq.rx(sympy.Symbol("x_0") ** 2).on(cirq.LineQubit(0)))).ops[0].params[0],
                      type(Input(0) * Input(0)))


def test_cirq_native_gates_read_exactly():
    import cirq

    q = cirq.LineQubit.range(4)
    circuit = cirq.Circuit(
        cirq.H.on_each(*q),
        cirq.CZ(q[0], q[1]) ** 0.3,
        cirq.CNOT(q[1], q[2]) ** 0.5,
        cirq.XPowGate(exponent=0.3, global_shift=0.2).on(q[3]),
        cirq.YPowGate(exponent=-0.7, global_shift=-0.1).on(q[0]),
        cirq.ZZPowGate(exponent=0.4, global_shift=0.3).on(q[1], q[3]),
        cirq.ISWAP(q[0], q[2]) ** 0.3,
        cirq.FSimGate(0.2, 0.5).on(q[1], q[2]),
        cirq.PhasedXPowGate(phase_exponent=0.25, exponent=0.6).on(q[3]),
        cirq.ControlledGate(cirq.ry(0.8), control_values=[0, 1]).on(q[0], q[1], q[2]),
        cirq.CCZ(q[0], q[1], q[3]) ** 0.6,
        cirq.TOFFOLI(q[3], q[1], q[0]),
        cirq.FREDKIN(q[2], q[0], q[3]),
        cirq.GlobalPhaseGate(np.exp(0.4j)).on(),
        cirq.PauliStringPhasorGate(-cirq.DensePauliString("XZ"), exponent_neg=0.3, exponent_pos=0.1).on(q[0], q[3]),
        cirq.measure(*q, key="m"),
    )
    c = from_cirq(circuit)
    unmeasured = cirq.drop_terminal_measurements(circuit)
    assert close(state(c), cirq.final_state_vector(unmeasured, qubit_order=q, dtype=np.complex128))


def test_cirq_other_qubits_and_unknown_gates():
    import cirq
    import sympy

    a, b = cirq.GridQubit(0, 0), cirq.GridQubit(1, 0)
    c = from_cirq(cirq.Circuit(cirq.X(b)))
    assert c.n_qubits == 1
    c = from_cirq(cirq.Circuit(cirq.X(b)), qubit_order=[b, a])
    assert c.ops[0].qubits == (0,) and c.n_qubits == 2
    assert from_cirq(cirq.Circuit(cirq.X(cirq.LineQubit(1))), n_qubits=4).n_qubits == 4
    with pytest.raises(UnknownGateError, match="ISWAP"):
        from_cirq(cirq.Circuit(cirq.ISWAP(*cirq.LineQubit.range(2)) ** sympy.Symbol("t")))


# ----------------------------------------------------------------- PennyLane


def test_pennylane_qnode_batches_and_differentiates():
    import pennylane as qml

    c = Circuit(2).ry(Weight("w") * Input(0), 0).cx(0, 1).rz(Weight("b"), 1).u3(Input(1), 0.2, Weight("b"), 1)
    qfunc = to_pennylane(c)

    @qml.qnode(qml.device("default.qubit", wires=2), interface="torch")
    def node(x, w):
        qfunc(x, w)
        return qml.expval(qml.Z(1))

    x = torch.tensor([[0.1, 0.2], [0.5, -1.0], [1.5, 0.3]], dtype=torch.float64)
    w = torch.tensor([0.8, -0.3], dtype=torch.float64, requires_grad=True)  # weight_names order
    out = node(x, w)
    assert out.shape == (3,)
    expected = hq.sim.expval_z(hq.simulate(c, inputs=x, weights=w.detach(), dtype=torch.complex128), [1])[:, 0]
    assert torch.allclose(out, expected, atol=1e-10)
    out.sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    with pytest.raises(ParameterError, match="no inputs"):
        qml.tape.make_qscript(qfunc)(None, w)


def test_pennylane_native_operations_read_exactly():
    import pennylane as qml

    rng = np.random.default_rng(5)
    u, _ = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    layer = rng.uniform(0, 2, (1, 4, 3))

    def qfunc():
        for w in range(4):
            qml.Hadamard(w)
        qml.Rot(0.1, 0.2, 0.3, wires=1)
        qml.CRot(0.4, 0.5, 0.6, wires=[1, 2])
        qml.MultiRZ(0.7, wires=[0, 2, 3])
        qml.ctrl(qml.IsingXY(0.3, wires=[0, 1]), control=[2, 3], control_values=[0, 1])
        qml.adjoint(qml.CRY(0.9, wires=[3, 0]))
        qml.ControlledQubitUnitary(u, wires=[3, 0, 2])
        qml.StronglyEntanglingLayers(layer, wires=range(4))
        qml.QFT(wires=[1, 2, 3])
        qml.GlobalPhase(0.25)
        qml.ISWAP(wires=[0, 3])

    assert close(state(from_pennylane(qfunc)), pennylane_state(qfunc, 4))


def test_pennylane_wire_labels_and_errors():
    import pennylane as qml

    def labelled():
        qml.Hadamard("a")
        qml.CNOT(["a", "b"])

    c = from_pennylane(labelled)
    assert c.n_qubits == 2 and c.ops[1].controls == (0,)
    assert from_pennylane(labelled, wires=["b", "a"]).ops[1].controls == (1,)
    @qml.qnode(qml.device("default.qubit", wires=2))
    def node(theta):
        qml.RX(theta, 0)
        return qml.state()

    assert from_pennylane(node, 0.3).ops[0].params == (0.3,)
    tape = qml.tape.QuantumScript([qml.RX(np.array([0.1, 0.2]), wires=0)])
    with pytest.raises(ParameterError, match="broadcast"):
        from_pennylane(tape)
    with pytest.raises(ParameterError, match="QuantumScript"):
        from_pennylane(3)


# ----------------------------------------------------------------- OpenQASM


def test_qasm2_text_and_binding():
    c = Circuit(3).h(0).cx(0, 1).ccx(0, 1, 2).p(0.25, 2).add("CRZ", [2, 0], 1e-5).ryy(Weight("w") * Input(0), 0, 1)
    with pytest.raises(ParameterError, match="version=3"):
        to_qasm(c)
    text = to_qasm(c, inputs=[2.0], weights={"w": 0.5})
    assert text.startswith('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nh q[0];\ncx q[0], q[1];\n')
    assert "ccx q[0], q[1], q[2];\nu1(0.25) q[2];\ncrz(1.0e-05) q[2], q[0];\n" in text
    assert close(state(from_qasm(text)), state(c, [[2.0]], {"w": 0.5}))


def test_qasm3_inputs_and_modifiers():
    c = Circuit(4).h(0).mcx([0, 1, 2], 3).add("SXdg", [1], controls=[0]).u3(Input(0), Weight("phi"), 0.1, 2)
    c.pauli_rotation(2 * Weight("phi"), "YZX", [1, 2, 3])
    text = to_qasm(c, version=3)
    assert "input float[64] x_0;\ninput float[64] phi;\nqubit[4] q;" in text
    assert "ctrl(3) @ x q[0], q[1], q[2], q[3];" in text and "ctrl @ inv @ sx q[0], q[1];" in text
    back = from_qasm(text)
    assert back.n_inputs == 1 and back.weight_names == ["phi"]
    assert close(state(back, [[0.7]], {"phi": -0.3}), state(c, [[0.7]], {"phi": -0.3}))
    assert "input" not in to_qasm(c, version=3, weights={"phi": 1.0}, inputs=[0.0])


def test_qasm_errors():
    with pytest.raises(UnknownGateError, match="Unitary"):
        to_qasm(Circuit(1).unitary(np.eye(2), [0]), version=3)
    with pytest.raises(UnknownGateError, match="X with 5 control"):
        to_qasm(Circuit(6).mcx([0, 1, 2, 3, 4], 5))
    with pytest.raises(ParameterError, match="identifier"):
        to_qasm(Circuit(1).rx(Weight("my weight"), 0), version=3)
    with pytest.raises(ParameterError, match="clashes"):
        to_qasm(Circuit(1).rx(Weight("x_2"), 0), version=3)
    with pytest.raises(ShapeError, match="version"):
        to_qasm(Circuit(1), version=4)
    with pytest.raises(ShapeError, match="header"):
        from_qasm("qreg q[1];")


def test_qasm_written_elsewhere_reads_exactly():
    import qiskit.qasm2
    from qiskit import QuantumCircuit

    text = """OPENQASM 2.0;
include "qelib1.inc";
gate mygate(theta) a, b { h a; cx a, b; rz(theta / 2) b; cx a, b; u2(0, pi) a; }
qreg q[2];
qreg r[1];
creg m[3];
h q[0];
mygate(pi / 3) q[0], r[0];
cu3(0.1, 0.2, 0.3) r[0], q[1];
barrier q;
measure q -> m[0:1];
"""
    text = text.replace("measure q -> m[0:1];", "measure q[0] -> m[0];\nmeasure q[1] -> m[1];")
    qc = qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    qc.remove_final_measurements()
    assert close(state(from_qasm(text)), qiskit_state(qc))
    ghz = QuantumCircuit(3)
    ghz.h(0)
    ghz.cx(0, [1, 2])
    assert close(state(from_qasm(qiskit.qasm2.dumps(ghz))), qiskit_state(ghz))


# ----------------------------------------------------------------- shared pieces


def test_bind_parameters_partially():
    c = Circuit(1).rx(Weight("w") * Input(0) + Weight("b"), 0)
    assert bind_parameters(c, weights={"w": 2.0}).ops[0].params[0].weight_names() == ["b"]
    assert bind_parameters(c, [0.5], [2.0, 0.25]).ops[0].params == (1.25,)
    with pytest.raises(ParameterError, match="unknown weight"):
        bind_parameters(c, weights={"v": 1.0})
    with pytest.raises(ParameterError, match="input"):
        bind_parameters(c, [], {})


@pytest.mark.parametrize("module,convert", [("cirq", to_cirq), ("pennylane", to_pennylane), ("qiskit", to_qiskit)])
def test_missing_framework_names_the_extra(monkeypatch, module, convert):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=rf"pip install .hybridq-torch\[{module}\]"):
        convert(Circuit(1).h(0))
