"""One test per defect of issue 22: each crashed, answered wrongly or raised a raw error before.

Cases that used to kill the process (SIGSEGV, SIGABRT) run in a subprocess, so a regression
fails the test instead of ending the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq import checks
from hybridq.backends import JobStore, LocalBackend
from hybridq.circuits import Circuit, Input, Operation, Weight
from hybridq.errors import (DTypeError, HybridqError, NonFiniteError, ParameterError, QubitIndexError, ShapeError,
                            UnknownGateError)
from hybridq.estimators import ClassicalShadows, DecisionDiagram, LocallyBiasedShadows
from hybridq.nn import QuantumLayer
from hybridq.operators import PauliString, PauliSum
from hybridq.sim import native

ROOT = Path(__file__).resolve().parents[2]


def layered(n: int = 3) -> Circuit:
    """A circuit of layers reading inputs: the shape the fused native kernels take."""
    c = Circuit(n)
    for q in range(n):
        c.ry(Weight(f"w{q}") * Input(q), q)
    for q in range(n):
        c.cx(q, (q + 1) % n)
    for q in range(n):
        c.rx(Weight(f"v{q}"), q)
    return c


def run_isolated(body: str) -> subprocess.CompletedProcess:
    """Run ``body`` (after the imports of this module's circuits) in a fresh interpreter."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import torch, hybridq as hq
        from hybridq.errors import HybridqError
        from tests.robustness.test_defects import layered
        from hybridq.nn import QuantumLayer
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT)


def test_empty_batches_give_empty_outputs_in_a_subprocess():
    proc = run_isolated("""
        c = layered()
        assert hq.simulate(c, torch.zeros(0, 3), torch.ones(6)).shape == (0, 8)
        layer = QuantumLayer(c)
        out = layer(torch.zeros(0, 3))
        assert out.shape == (0, 3)
        out.sum().backward()
        assert layer.weight.grad is not None and not layer.weight.grad.any()
        assert QuantumLayer(c, output="probs")(torch.zeros(0, 3)).shape == (0, 8)
        assert hq.simulate(c, torch.zeros(0, 3), torch.ones(6), fusion=False).shape == (0, 8)
        from hybridq.circuits.compiled import CompiledCircuit  # the chain products of no sample (native on a CPU)
        w = torch.ones(6, requires_grad=True)
        program = CompiledCircuit.of(c).layered(torch.zeros(0, 3), w, batch=0, dtype=torch.complex64, device="cpu")
        assert program.one_qubit().shape[0] == 0
        program.one_qubit().abs().sum().backward()
        assert not w.grad.any()
        print("fine")
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fine" in proc.stdout


def test_unsupported_dtypes_are_refused_with_the_supported_list_in_a_subprocess():
    proc = run_isolated("""
        c = layered()
        for dtype in (torch.float16, torch.bfloat16, torch.complex32):
            for call in (lambda: hq.simulate(c, torch.ones(2, 3), torch.ones(6), dtype=dtype),
                         lambda: QuantumLayer(c)(torch.ones(2, 3), initial_state=torch.zeros(2, 8, dtype=dtype)),
                         lambda: hq.sim.probabilities(torch.zeros(2, 8, dtype=dtype))):
                try:
                    call()
                except hq.errors.DTypeError as error:
                    assert "complex64, complex128, float32, float64" in str(error), error
                else:
                    raise SystemExit(f"{dtype} not refused")
        print("fine")
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fine" in proc.stdout


def test_native_kernels_refuse_other_dtypes():
    from hybridq.sim import native

    if native.library() is None:
        pytest.skip("no native kernels here")
    with pytest.raises(DTypeError, match="float32, float64, complex64 or complex128"):
        native.kernel("expval_z", torch.complex32)


def test_expval_terms_follows_each_sums_own_term_order():
    a = PauliSum.from_list([("ZI", 1.0), ("IZ", 1.0)])
    b = PauliSum.from_list([("IZ", 1.0), ("ZI", 1.0)])
    split = PauliSum.from_list([("ZI", 0.5), ("IZ", 1.0), ("ZI", 0.5)])
    assert a == b and a == split  # equal operators...
    psi = hq.sim.basis_state(2, "01")
    assert hq.sim.expval_terms(psi, a).tolist() == [[1.0, -1.0]]
    assert hq.sim.expval_terms(psi, b).tolist() == [[-1.0, 1.0]]  # ...each in its own order
    assert hq.sim.expval_terms(psi, split).tolist() == [[1.0, -1.0, 1.0]]
    c = Circuit(2).x(1)
    first, second = QuantumLayer(c, observables=a), QuantumLayer(c, observables=b)
    assert first().tolist() == [[1.0, -1.0]] and second().tolist() == [[-1.0, 1.0]]


def test_complex_gates_on_real_dtypes_are_refused_on_every_path():
    for fusion in (True, False):
        with pytest.raises(DTypeError, match="RX has complex entries"):
            hq.simulate(layered(), torch.ones(2, 3), torch.ones(6), dtype=torch.float32, fusion=fusion)
    real = Circuit(2).ry(Input(0), 0).cx(0, 1).unitary(np.array([[0, 1], [1, 0]]), [1])
    state = hq.simulate(real, torch.ones(2, 1), dtype=torch.float64)
    assert state.dtype == torch.float64
    torch.testing.assert_close(state.square().sum(1), torch.ones(2, dtype=torch.float64))
    with pytest.raises(DTypeError):
        hq.simulate(Circuit(1).unitary(np.array([[1, 0], [0, 1j]]), [0]), dtype=torch.float32)


@pytest.mark.parametrize("where", ["inputs", "weights", "initial_state", "angle"])
def test_non_finite_values_are_refused_unless_allowed(where):
    c = layered()
    args = dict(inputs=torch.ones(2, 3), weights=torch.ones(6))
    nan = float("nan")
    if where == "inputs":
        args["inputs"] = torch.tensor([[0.1, nan, 0.2], [0.0, 0.0, 0.0]])
    elif where == "weights":
        args["weights"] = torch.tensor([1.0, 1.0, float("inf"), 1.0, 1.0, 1.0])
    elif where == "initial_state":
        args["initial_state"] = torch.full((2, 8), nan, dtype=torch.complex64)
    if where == "angle":
        with pytest.raises(NonFiniteError):
            Circuit(1).rx(nan, 0)
        with pytest.raises(NonFiniteError):
            Circuit(1).rx(Weight("w") * nan, 0)
        return
    with pytest.raises(NonFiniteError, match="nonfinite_allowed"):
        hq.simulate(c, **args)
    layer = QuantumLayer(c)
    with torch.no_grad():
        layer.weight.copy_(args["weights"])
    with pytest.raises(NonFiniteError):
        layer(args["inputs"], initial_state=args.get("initial_state"))
    with checks.nonfinite_allowed():
        assert torch.isnan(hq.simulate(c, **args)).any()


@pytest.mark.parametrize("scan", ["native", "sum"])
def test_finite_check_finds_every_bad_value_and_passes_huge_ones(scan, monkeypatch):
    if scan == "sum":  # no native kernels: the one-reduction path
        monkeypatch.setattr(checks, "_scanner", lambda dtype: None)
    elif native.library() is None:
        pytest.skip("native CPU kernels not built (no C compiler)")
    for dtype in (torch.float32, torch.float64, torch.complex64, torch.complex128):
        huge = torch.full((64, 5), torch.finfo(dtype).max, dtype=dtype)  # finite, its sum overflows
        checks.check_finite(huge, "x")
        checks.check_finite(huge[:, 1:4], "x")  # not contiguous
        for bad in (float("nan"), float("inf"), -float("inf"), complex(0, float("nan"))):
            if isinstance(bad, complex) and not dtype.is_complex:
                continue
            x = torch.zeros(64, 5, dtype=dtype)
            x[37, 2] = bad
            with pytest.raises(NonFiniteError, match=r"1 NaN or infinite value\(s\) \(first at index \(37, 2\)\)"):
                checks.check_finite(x, "x")


def test_huge_angles_keep_their_meaning_or_are_refused():
    reduced = hq.simulate(Circuit(1).rx(1e300, 0))
    exact = np.cos(np.remainder(1e300, 4 * np.pi) / 2)
    assert abs(float(reduced[0, 0].real) - exact) < 1e-5
    assert hq.simulate(Circuit(1).rx(5.0, 0), dtype=torch.complex128)[0, 0].real == pytest.approx(np.cos(2.5))
    big = torch.full((2, 3), 1e39, dtype=torch.float64)
    with pytest.raises(NonFiniteError, match="complex128"):
        hq.simulate(layered(), big, torch.ones(6))  # beyond float32
    state = hq.simulate(layered(), big, torch.ones(6, dtype=torch.float64), dtype=torch.complex128)
    assert torch.isfinite(state).all()


def test_counts_on_a_nan_state_is_an_error():
    with pytest.raises(NonFiniteError):
        LocalBackend(seed=1).counts(torch.full((4,), float("nan")), 10)
    with pytest.raises(NonFiniteError):
        hq.sim.sample(torch.full((1, 4), float("nan"), dtype=torch.complex64), 5)


def test_batch_zero_and_bad_counts_are_refused():
    with pytest.raises(ParameterError, match="batch"):
        hq.simulate(Circuit(1).h(0), batch=0)
    assert hq.simulate(Circuit(1).h(0), batch=3).shape == (3, 2)
    backend = LocalBackend(seed=1)
    for shots in (0, -3, 2.5, "10"):
        with pytest.raises(ParameterError, match="shots"):
            backend.counts(Circuit(2), shots)
    H = PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5)])
    psi = np.array([1.0, 0, 0, 0])
    for shots in (0, -5):
        with pytest.raises(ParameterError, match="shots"):
            ClassicalShadows(H).run(psi, shots, seed=1)
    with pytest.raises(ParameterError, match="no bases"):
        ClassicalShadows(H).estimate(np.zeros((0, 2), dtype=np.uint8), np.zeros(0, dtype=np.int64))
    for estimator in (LocallyBiasedShadows, DecisionDiagram):
        with pytest.raises(ParameterError, match="damping"):
            estimator(H, damping=-1)


def test_operations_need_their_angles_and_a_known_name():
    with pytest.raises(ShapeError, match="RX takes"):
        Operation("RX", (0,))
    with pytest.raises(UnknownGateError, match="base gate names"):
        Operation("CNOT", (0, 1))
    with pytest.raises(UnknownGateError, match="must be a string"):
        Circuit(2).add(None, [0])
    with pytest.raises(ShapeError):
        Operation("PauliRot", (0,), (0.1,))


def test_circuit_add_takes_one_int_as_a_qubit():
    assert Circuit(2).add("H", 1).ops[0].qubits == (1,)
    assert Circuit(2).add("RX", 0, 0.5).ops[0].params == (0.5,)
    with pytest.raises(QubitIndexError):
        Circuit(2).add("H", "0")


def test_bad_matrices_get_library_errors():
    with pytest.raises(ShapeError, match="array of numbers"):
        Circuit(1).unitary("abc", [0])
    grad = torch.eye(2, dtype=torch.complex128, requires_grad=True)
    with pytest.raises(ParameterError, match="requires grad"):
        Circuit(1).unitary(grad, [0])
    assert len(Circuit(1).unitary(grad.detach(), [0])) == 1
    with pytest.raises(NonFiniteError):
        Circuit(1).unitary(np.array([[np.nan, 0], [0, 1]]), [0])


def test_pauli_labels_must_be_strings():
    with pytest.raises(HybridqError):
        PauliSum.from_sparse_list([(5, [0], 1.0)], n_qubits=2)
    with pytest.raises(HybridqError):
        PauliString.from_sparse(5, [0], n_qubits=2)
    with pytest.raises(HybridqError):
        PauliSum.from_list([(1, 1.0)])


def test_stray_bits_above_n_qubits_are_cleared():
    stray = PauliSum(n_qubits=2, x_words=[[4]], z_words=[[0]], coeffs=[1.0])
    assert stray == PauliSum.from_list([("II", 1.0)]) and stray.labels() == ["II"]
    string = PauliString(n_qubits=2, x_words=[4 | 1], z_words=[0])
    assert string == PauliString.from_label("XI")


def test_empty_batch_on_the_torch_path():
    c = layered()
    state = hq.simulate(c, torch.zeros(0, 3), torch.ones(6), fusion=False)
    assert state.shape == (0, 8)
    assert hq.sim.probabilities(state).shape == (0, 8) and hq.sim.expval_z(state).shape == (0, 3)
    assert hq.sim.probabilities(state, [2, 0]).shape == (0, 4)
    assert hq.sim.reduced_density_matrix(state, [1]).shape == (0, 2, 2)
    empty = hq.sim.zero_state(3, 0)
    assert hq.sim.apply_gate(empty, "H", [0]).shape == (0, 8)
    assert hq.sim.apply_matrix(empty, torch.eye(4), [0, 2]).shape == (0, 8)
    ops = [hq.sim.gate_op("RY", [q], [0.3], n_qubits=3) for q in range(3)] + [hq.sim.gate_op("CNOT", [0, 1], n_qubits=3)]
    assert hq.sim.run(empty, ops).shape == (0, 8)
    per_sample = lambda b: hq.sim.gate_op("RY", [1], [torch.linspace(0, 1, b)], n_qubits=3, batch=b)  # noqa: E731
    assert hq.sim.run(hq.sim.zero_state(3), [per_sample(0)]).shape == (0, 8)  # data of no sample, one state
    psi = hq.sim.run(hq.sim.zero_state(3), [per_sample(4)])
    torch.testing.assert_close(psi[:, 2].abs(), torch.sin(torch.linspace(0, 1, 4) / 2))
    with pytest.raises(ShapeError, match=r"batches \[3, 4\]"):  # once a raw RuntimeError (or, on a GPU, a read past the data)
        hq.sim.run(hq.sim.zero_state(3, 3), [per_sample(4)])
    with pytest.raises(DTypeError):
        hq.sim.apply_gate(torch.zeros(2, 4, dtype=torch.complex32), "H", [0])


# ----------------------------------------------------------------- the job store


def test_a_record_after_a_cut_line_is_kept(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"key": "a", "results": [[1, 2]]}\n{"key": "b", "resul')  # a crash mid-write
    with pytest.warns(UserWarning, match=r"jobs.jsonl:2"):
        store = JobStore(path)
    store.record_done("c", [np.array([3])])
    with pytest.warns(UserWarning, match=r"jobs.jsonl:2"):
        again = JobStore(path)
    assert again.done("a")[0].tolist() == [1, 2] and again.done("c")[0].tolist() == [3]
    assert again.done("b") is None


def test_records_of_the_wrong_shape_are_named_and_skipped(tmp_path):
    path = tmp_path / "jobs.jsonl"
    lines = ['[1, 2]', '{"results": [[1]]}', '{"key": 3, "results": [[1]]}', '{"key": "x", "results": [["a"]]}',
             '{"key": "y"}', '{"key": "ok", "results": [[0, 1]]}', '"text"']
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning) as caught:
        store = JobStore(path)
    named = sorted(int(str(w.message).split(":")[1]) for w in caught)
    assert named == [1, 2, 3, 4, 5, 7]
    assert len(store) == 1 and store.done("ok")[0].tolist() == [0, 1]


def test_stored_results_that_do_not_fit_the_job_are_run_again(tmp_path):
    circuits = [Circuit(2).ry(0.3 * i, 0).cx(0, 1) for i in range(3)]
    path = tmp_path / "jobs.jsonl"
    reference = LocalBackend(seed=3, store=path).sample(circuits, 20)
    entry = json.loads(path.read_text().splitlines()[-1])
    entry["results"] = entry["results"][:-1]  # one array too few
    path.write_text(json.dumps(entry) + "\n")
    with pytest.warns(UserWarning, match="do not fit"):
        again = LocalBackend(seed=3, store=path).sample(circuits, 20)
    assert all(np.array_equal(a, b) for a, b in zip(again, reference))
    entry["results"] = [r[:5] for r in json.loads(path.read_text().splitlines()[-1])["results"]]  # too few shots
    path.write_text(json.dumps(entry) + "\n")
    with pytest.warns(UserWarning, match="do not fit"):
        again = LocalBackend(seed=3, store=path).sample(circuits, 20)
    assert all(np.array_equal(a, b) for a, b in zip(again, reference))


def test_a_full_disk_keeps_the_results_in_memory(tmp_path, monkeypatch):
    store = JobStore(tmp_path / "jobs.jsonl")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("builtins.open", full)
    with pytest.warns(UserWarning, match="kept in memory"):
        store.record_done("k", [np.array([1, 2])])
    monkeypatch.undo()
    assert store.done("k")[0].tolist() == [1, 2]
    backend = LocalBackend(seed=2, store=store)
    monkeypatch.setattr("builtins.open", full)
    with pytest.warns(UserWarning, match="kept in memory"):
        counts = backend.counts(Circuit(1).x(0), 7)
    assert counts == {"1": 7}


def test_noisy_aer_matches_the_local_model_on_controlled_pauli_rotations():
    pytest.importorskip("qiskit_aer")
    from hybridq.backends.qiskit import AerBackend
    from hybridq.sim.noise import NoiseModel

    noise = NoiseModel(depolarizing=0.02, depolarizing_2q=0.04, amplitude_damping=0.01, phase_damping=0.01)
    c = Circuit(3).h(0).h(1).append(Operation("PauliRot", (1, 2), (0.7,), (0,), pauli="XY")).crx(0.4, 0, 2)
    c.append(Operation("PauliRot", (2,), (0.3,), (1,), pauli="Y"))
    local = LocalBackend(noise).probabilities(c)
    np.testing.assert_allclose(AerBackend(noise).probabilities(c), local, atol=1e-10)
