"""Property-based bad input at every public entry point: a library error, or a right answer.

Each test draws inputs with hypothesis (wrong shapes, dtypes, devices, NaN and inf, empty and
odd batches, strided and expanded tensors, wrong qubit counts, malformed labels and files) and
knows, for each, whether it must be refused, must work, or may do either. A call then ends in:

* ``"result"``: it returned, and the result is checked (against the gate-by-gate torch path in
  complex128 on contiguous copies, a dense matrix, or the input itself);
* ``"clear error"``: a :class:`~hybridq.errors.HybridqError`.

Anything else fails: a raw exception, a bad input accepted, a valid one refused, a wrong value.
Entry points that reach the native kernels (simulate, QuantumLayer, the read-outs) run in a
child process (:func:`test_native_entry_points_in_a_child_process`), so that a crash fails that
test instead of ending the run. With ``HYBRIDQ_FUZZ_STATS=<file>`` the counts of inputs and
outcomes per entry point are written there as JSON (the child's merged in).
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hybridq as hq
from hybridq.backends import JobStore, LocalBackend
from hybridq.circuits import Circuit, Input, Weight
from hybridq.errors import HybridqError
from hybridq.estimators import ClassicalShadows, LocallyBiasedShadows
from hybridq.nn import QuantumLayer
from hybridq.operators import PauliString, PauliSum

ROOT = Path(__file__).resolve().parents[2]
CHILD = os.environ.get("HYBRIDQ_FUZZ_CHILD") == "1"
#: A child under Triton's interpreter: the engine without its native executor, so that programs
#: go to the Triton executors (their entry points are named with :data:`ON`).
TRITON = CHILD and os.environ.get("TRITON_INTERPRET") == "1"
ON = " (Triton interpreter)" if TRITON else ""
if TRITON:
    from hybridq.sim import engine, fused, triton_layers

    engine.EXECUTORS[:] = [e for e in engine.EXECUTORS if e.name != "native"]

    def _counted(apply):
        def run(*args):
            OUTCOMES["Triton kernels", "runs"] += 1
            return apply(*args)
        return run

    for _function in (fused._FusedRun, triton_layers._Run):
        _function.apply = _counted(_function.apply)
FUZZ = settings(max_examples=int(os.environ.get("HYBRIDQ_FUZZ_EXAMPLES", "40")), deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
in_child = pytest.mark.skipif(not CHILD, reason="run in a child process by test_native_entry_points_in_a_child_process")

OUTCOMES: collections.Counter = collections.Counter()

MUST_FAIL, MUST_WORK, EITHER = "must fail", "must work", "either"
SUPPORTED = (torch.complex64, torch.complex128, torch.float32, torch.float64)
ALL_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex32, torch.complex64,
              torch.complex128, torch.int64, torch.bool]


@pytest.fixture(scope="module", autouse=True)
def _write_counts():
    yield
    path = os.environ.get("HYBRIDQ_FUZZ_STATS")
    if path:
        found = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        for (entry, outcome), count in OUTCOMES.items():
            found.setdefault(entry, {}).setdefault(outcome, 0)
            found[entry][outcome] += count
        Path(path).write_text(json.dumps(found, indent=1, sort_keys=True))


def attempt(entry: str, call, expect: str, check=None, why: str = ""):
    """Run ``call()`` and classify it (module docstring); ``check(result)`` asserts a right answer."""
    last = os.environ.get("HYBRIDQ_FUZZ_LAST")
    if last:
        Path(last).write_text(f"{entry}: {why}")
    try:
        result = call()
    except HybridqError as error:
        OUTCOMES[entry, "clear error"] += 1
        assert expect != MUST_WORK, f"{entry}: a valid input was refused ({why}): {type(error).__name__}: {error}"
        return None
    except Exception as error:  # noqa: BLE001 - what this suite exists to catch
        OUTCOMES[entry, "raw error"] += 1
        raise AssertionError(f"{entry}: raw {type(error).__name__} ({why}): {error}") from error
    OUTCOMES[entry, "result"] += 1
    assert expect != MUST_FAIL, f"{entry}: a bad input was accepted ({why})"
    if check is not None:
        check(result)
        OUTCOMES[entry, "result checked"] += 1
    return result


# ----------------------------------------------------------------- strategies


def layered(n: int) -> Circuit:
    """Layers of input-scaled RY, a CNOT ring and RX: the circuits of the fused native kernels."""
    c = Circuit(n)
    for q in range(n):
        c.ry(Weight(f"w{q}") * Input(q), q)
    for q in range(n):
        if n > 1:
            c.cx(q, (q + 1) % n)
    for q in range(n):
        c.rx(Weight(f"v{q}") + Input(q), q)
    return c


GATE_CHOICES = [("H", 1, 0), ("RX", 1, 1), ("RY", 1, 1), ("RZ", 1, 1), ("U3", 1, 3), ("CNOT", 2, 0), ("CZ", 2, 0),
                ("CRX", 2, 1), ("RZZ", 2, 1), ("SWAP", 2, 0), ("Toffoli", 3, 0)]
REAL_GATES = [("RY", 1, 1), ("CNOT", 2, 0), ("CZ", 2, 0), ("SWAP", 2, 0), ("X", 1, 0)]


@st.composite
def circuits(draw, real: bool = False) -> Circuit:
    """A layered circuit, or random gates on 1-4 qubits with numbers, inputs and weights as angles."""
    n = draw(st.integers(1, 4))
    if not real and draw(st.booleans()):
        return layered(n)
    c = Circuit(n)
    angles = st.one_of(st.floats(-7, 7), st.builds(Input, st.integers(0, 1)),
                       st.builds(lambda w, i: Weight(w) * Input(i) + Weight("b"), st.sampled_from("pq"), st.integers(0, 1)))
    for name, k, params in draw(st.lists(st.sampled_from(REAL_GATES if real else GATE_CHOICES), min_size=1, max_size=8)):
        if k > n:
            continue
        qubits = draw(st.permutations(range(n)))[:k]
        c.add(name, qubits, *(draw(angles) for _ in range(params)))
    return c


@st.composite
def tensors(draw, shape: tuple[int, ...], dtype: torch.dtype):
    """Values of ``shape``, contiguous or not: transposed, strided, expanded (a broadcast row)."""
    values = torch.as_tensor(draw(st.lists(st.floats(-3, 3), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                             dtype=torch.float64).reshape(shape)
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided", "expanded"])) if len(shape) == 2 else "contiguous"
    if layout == "transposed":
        values = values.T.contiguous().T
    elif layout == "strided":
        values = torch.repeat_interleave(values, 2, dim=0)[::2] if shape[0] else values
    elif layout == "expanded" and shape[0]:
        values = values[:1].expand(shape)
    return values.to(dtype)


def spoil(draw, value: torch.Tensor) -> torch.Tensor:
    """``value`` with one entry NaN or infinite."""
    value = value.clone()
    flat = value.view(-1) if value.is_contiguous() else value.reshape(-1)
    flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([float("nan"), float("inf"), -float("inf")]))
    return flat.reshape(value.shape)


@st.composite
def simulate_calls(draw):
    """``(circuit, kwargs, expectation, description)`` for :func:`hybridq.simulate`."""
    circuit = draw(circuits(real=draw(st.booleans())))
    need, names, n = circuit.n_inputs, circuit.weight_names, circuit.n_qubits
    reasons: list[tuple[str, str, str]] = []  # (what, verdict, which argument)
    scope = "inputs"

    def bad(reason: str, verdict: str = MUST_FAIL) -> None:
        reasons.append((reason, verdict, scope))

    B = draw(st.sampled_from([0, 1, 2, 3, 5]))
    kwargs: dict = {}
    kind = draw(st.sampled_from(["ok"] * 6 + ["none", "nan", "columns", "rank", "complex", "text"]))
    x = draw(tensors((B, max(need, 1)), draw(st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64]))))
    if kind == "none":
        x = None
        if need:
            bad("no inputs")
    elif kind == "nan" and B:
        x = spoil(draw, x.double())
        if need:
            bad("NaN inputs")
        else:
            bad("NaN in unread inputs", EITHER)
    elif kind == "columns" and need:
        x = x[:, : need - 1]
        bad("too few input columns")
    elif kind == "rank":
        x = x.reshape(1, *x.shape)
        bad("3-d inputs")
    elif kind == "complex":
        x = x.to(torch.complex64)
        bad("complex inputs")
    elif kind == "text":
        x = [["a"] * max(need, 1)]
        bad("text inputs")
    kwargs["inputs"] = x
    scope = "weights"
    wkind = draw(st.sampled_from(["ok"] * 5 + ["mapping", "nan", "length", "none"]))
    w = draw(tensors((len(names),), draw(st.sampled_from([torch.float32, torch.float64]))))
    if wkind == "mapping":
        w = {name: float(v) for name, v in zip(names, w)}
    elif wkind == "nan" and names:
        w = spoil(draw, w)
        bad("NaN weights")
    elif wkind == "length" and names:
        w = torch.ones(len(names) + 1)
        bad("weights of the wrong length")
    elif wkind == "none" and names:
        w = None
        bad("no weights")
    kwargs["weights"] = w
    scope = "dtype"
    dtype = draw(st.sampled_from([None] * 4 + [torch.complex64, torch.complex128] * 2 + [*ALL_DTYPES, "complex64"]))
    if dtype is not None:
        kwargs["dtype"] = dtype
    real_circuit = all(hq.sim.GATES[op.name].real for op in circuit.ops)
    if dtype is not None and dtype not in SUPPORTED:
        bad(f"dtype {dtype}")
    elif dtype in (torch.float32, torch.float64) and not real_circuit:
        bad("complex gates on a real dtype")
    scope = "batch"
    batch = draw(st.sampled_from([None] * 4 + [-1, 0, 1, 3, 2.5]))
    if batch is not None:
        kwargs["batch"] = batch
        rows = x.shape[0] if isinstance(x, torch.Tensor) and x.dim() == 2 else None
        if not (isinstance(batch, int) and batch >= 1):
            bad(f"batch={batch}")
        elif rows is not None and batch not in (1, rows) and rows != 1:
            bad("batch differs from the inputs' rows")
    scope = "state"
    if draw(st.integers(0, 5)) == 0:
        state_dtype = draw(st.sampled_from([torch.complex64, torch.complex128, torch.complex32, torch.float64]))
        rows = draw(st.sampled_from([1, B]))
        length = draw(st.sampled_from([2**n, 2**n, 2**n + 1]))
        s0 = torch.zeros(rows, length, dtype=torch.complex128)
        if rows:
            s0[:, 0] = 1
        if length != 2**n:
            bad("initial state of the wrong length")
        if draw(st.booleans()) and rows:
            s0 = spoil(draw, s0)
            bad("NaN initial state")
        s0 = s0.to(state_dtype) if state_dtype.is_complex else s0.real.to(state_dtype)
        if state_dtype not in SUPPORTED:
            bad(f"initial state in {state_dtype}", MUST_FAIL if dtype is None else EITHER)
        if not state_dtype.is_complex and not real_circuit:
            bad("complex gates on a real initial state", MUST_FAIL if dtype is None else EITHER)
        if rows not in (1, B) or (isinstance(x, torch.Tensor) and x.dim() == 2 and rows != x.shape[0] and rows > 1):
            bad("initial state rows differ")
        kwargs["initial_state"] = s0
    scope = "device"
    device = draw(st.sampled_from([None] * 6 + ["cpu", "cuda", "gpu"]))
    if device is not None:
        kwargs["device"] = device
        if device != "cpu" and not torch.cuda.is_available():
            bad(f"device {device}")
    kwargs["fusion"] = draw(st.booleans())
    return circuit, kwargs, reasons


def verdict(reasons, scopes=("inputs", "weights", "dtype", "batch", "state", "device")) -> tuple[str, str]:
    """The expectation for the reasons that concern ``scopes``, and why."""
    found = [(what, v) for what, v, scope in reasons if scope in scopes]
    if any(v == MUST_FAIL for _, v in found):
        expect = MUST_FAIL
    else:
        expect = EITHER if found else MUST_WORK
    return expect, "; ".join(what for what, _ in found) or "valid"


def reference(circuit: Circuit, kwargs: dict) -> torch.Tensor:
    """The same call, gate by gate on torch's kernels (no fused ones) in complex128 on contiguous
    float64 copies."""
    ref = dict(kwargs, fusion=False, dtype=torch.complex128, device="cpu")
    for key in ("inputs", "weights"):
        if isinstance(ref.get(key), torch.Tensor):
            ref[key] = ref[key].contiguous().double()
    if ref.get("initial_state") is not None:
        ref["initial_state"] = ref["initial_state"].to(torch.complex128)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HYBRIDQ_FUSED", "0")
        return hq.simulate(circuit, **ref)


def check_states(circuit: Circuit, kwargs: dict):
    def check(out: torch.Tensor) -> None:
        expected = reference(circuit, kwargs)
        assert out.shape == expected.shape
        assert kwargs.get("dtype") in (None, out.dtype)
        single = out.dtype in (torch.complex64, torch.float32)
        torch.testing.assert_close(out.to(torch.complex128), expected, atol=2e-4 if single else 1e-9, rtol=0)
    return check


# ----------------------------------------------------------------- native entry points (child process)


@in_child
@FUZZ
@given(simulate_calls())
def test_native_simulate(case):
    circuit, kwargs, reasons = case
    expect, why = verdict(reasons)
    attempt(f"simulate{ON}", lambda: hq.simulate(circuit, **kwargs), expect, check_states(circuit, kwargs), why)


@in_child
@FUZZ
@given(simulate_calls(), st.sampled_from(["expval", "probs", "state"]), st.sampled_from([None, (2,), (2, 1)]))
def test_native_quantum_layer(case, output, lead):
    circuit, kwargs, reasons = case
    reasons = [r for r in reasons if r[0] != "3-d inputs"]  # the layer takes (*, n_inputs)
    expect, why = verdict(reasons, ("inputs", "state"))  # the layer sets weights, dtype, batch, device itself
    x, state = kwargs.get("inputs"), kwargs.get("initial_state")
    layer = QuantumLayer(circuit, output=output, dtype=torch.float64)
    if isinstance(x, torch.Tensor) and x.dim() == 2 and lead is not None and x.shape[0] == int(np.prod(lead)):
        x = x.reshape(*lead, x.shape[-1])
    if isinstance(x, torch.Tensor) and x.dim() >= 1 and x.shape[-1] != circuit.n_inputs:
        expect, why = MUST_FAIL, why + "; columns differ from n_inputs"
    if x is None and state is None and circuit.n_inputs == 0:
        pass
    elif state is not None and not (isinstance(x, torch.Tensor) and x.dim() >= 1):
        expect = expect if expect == MUST_FAIL else EITHER

    def check(out: torch.Tensor) -> None:
        rows = x.reshape(-1, circuit.n_inputs).shape[0] if isinstance(x, torch.Tensor) else (
            state.shape[0] if state is not None else 1)
        assert out.shape[-1] == layer.n_outputs and out.reshape(-1, out.shape[-1]).shape[0] in (rows, 1)
        assert torch.isfinite(out).all()

    attempt(f"QuantumLayer.forward{ON}", lambda: layer(x, initial_state=state), expect, check, why)


@st.composite
def states(draw):
    """``(state, expectation, why)``: state batches of any dtype, shape and layout, maybe NaN."""
    n = draw(st.integers(1, 4))
    B = draw(st.sampled_from([0, 1, 2, 3]))
    dtype = draw(st.sampled_from(ALL_DTYPES))
    psi = torch.randn(B, 2**n, dtype=torch.complex128, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))))
    psi = psi / psi.abs().square().sum(1, keepdim=True).sqrt()
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided", "expanded", "1-d", "odd length"]))
    expect, why = MUST_WORK, [f"{layout} {tuple(psi.shape)} {dtype}"]
    if layout == "transposed":
        psi = psi.T.contiguous().T
    elif layout == "strided":
        psi = torch.repeat_interleave(psi, 2, dim=0)[::2]
    elif layout == "expanded" and B:
        psi = psi[:1].expand(B, -1)
    elif layout == "1-d":
        psi, expect = psi.reshape(-1), MUST_FAIL
    elif layout == "odd length":
        psi, expect = psi[:, :-1] if 2**n > 2 else torch.zeros(B, 3, dtype=psi.dtype), MUST_FAIL
    psi = psi.to(dtype) if dtype.is_complex else psi.real.to(dtype)
    if dtype not in SUPPORTED:
        expect = MUST_FAIL
    if draw(st.integers(0, 4)) == 0 and psi.numel() and (dtype.is_floating_point or dtype.is_complex):
        psi = spoil(draw, psi)
        why.append("NaN")
        expect = EITHER if expect == MUST_WORK else expect  # read-outs propagate NaN; sampling refuses it
    return psi, n, expect, "; ".join(why)


@in_child
@FUZZ
@given(states(), st.sampled_from([None, None, None, [0], [0, 0], [5], [-1], ["a"]]))
def test_native_read_outs(case, qubits):
    psi, n, expect, why = case
    bad_qubits = qubits is not None and (qubits == [0, 0] or any(not isinstance(q, int) or not 0 <= q < n for q in qubits))
    for name, call in [("sim.probabilities", lambda: hq.sim.probabilities(psi, qubits)),
                       ("sim.expval_z", lambda: hq.sim.expval_z(psi, qubits)),
                       ("sim.reduced_density_matrix", lambda: hq.sim.reduced_density_matrix(psi, qubits or [0]))]:
        verdict = MUST_FAIL if bad_qubits else expect

        def check(out, psi=psi):
            dense = psi.to(torch.complex128).abs().square()
            if name == "sim.probabilities" and qubits is None:
                torch.testing.assert_close(out.to(torch.float64), dense.to(torch.float64) if not psi.is_complex()
                                           else dense, atol=1e-3, rtol=0, equal_nan=True)

        attempt(name, call, verdict, check, f"{why}; qubits={qubits}")
    observable = PauliSum.from_list([("Z" * n, 1.0), ("X" + "I" * (n - 1), 0.5)])
    attempt("sim.expval_terms", lambda: hq.sim.expval_terms(psi, observable), expect, None, why)
    attempt("sim.expval", lambda: hq.sim.expval(psi, observable), expect, None, why)
    sample_verdict = MUST_FAIL if "NaN" in why and psi.shape[0] else expect
    attempt("sim.sample", lambda: hq.sim.sample(psi, 3, seed=1), sample_verdict, None, why)


def in_a_child(tmp_path: Path, tests: str, **env: str) -> None:
    """Run the ``tests`` (a ``-k`` expression) in a child process with ``env`` and count its
    outcomes here: a crash (SIGSEGV, SIGABRT, SIGBUS) fails the calling test."""
    if CHILD:
        pytest.skip("this is the child")
    stats, last = tmp_path / "stats.json", tmp_path / "last.txt"
    env = {**os.environ, "HYBRIDQ_FUZZ_CHILD": "1", "HYBRIDQ_FUZZ_STATS": str(stats), "HYBRIDQ_FUZZ_LAST": str(last),
           "OMP_NUM_THREADS": "1", **env}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-k", tests,
                           str(Path(__file__))], capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    detail = (last.read_text() if last.exists() else "") + "\n" + proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, f"child exited with {proc.returncode}; last input: {detail}"
    for entry, outcomes in json.loads(stats.read_text()).items():
        for outcome, count in outcomes.items():
            OUTCOMES[entry, outcome] += count


def test_native_entry_points_in_a_child_process(tmp_path):
    """The tests above, in a child process."""
    in_a_child(tmp_path, "test_native_")


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton not installed (it comes with CUDA builds of torch)")
@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU the Triton kernels run compiled (the native entry points' test)")
def test_triton_entry_points_in_the_interpreter(tmp_path):
    """simulate and QuantumLayer with their programs on the Triton executors, in Triton's
    interpreter (a child process: the interpreter is chosen when Triton is imported)."""
    in_a_child(tmp_path, "test_native_simulate or test_native_quantum_layer", TRITON_INTERPRET="1", HYBRIDQ_FUSED="1")
    assert OUTCOMES["Triton kernels", "runs"] > 0, "no input reached a Triton kernel"


# ----------------------------------------------------------------- Pauli operators

LETTERS = st.text(alphabet="IXYZxyzQ 1", min_size=0, max_size=5)
COEFFS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(max_magnitude=10), st.just("a"),
                   st.none())


def _good_label(label) -> bool:
    return isinstance(label, str) and label != "" and set(label) <= set("IXYZ")


def _good_coeff(c) -> bool:
    return isinstance(c, (int, float, complex)) and np.isfinite(complex(c))


@FUZZ
@given(st.lists(st.tuples(st.one_of(LETTERS, st.integers(), st.none()), COEFFS), max_size=4),
       st.one_of(st.none(), st.integers(-1, 6), st.just("2")))
def test_pauli_sum_from_list(terms, n_qubits):
    lengths = {len(t) for t, _ in terms if isinstance(t, str)}
    good = (all(_good_label(t) and _good_coeff(c) for t, c in terms) and len(lengths) <= 1
            and (n_qubits is None and terms or isinstance(n_qubits, int) and n_qubits >= 1 and lengths <= {n_qubits}))

    def check(h: PauliSum) -> None:
        assert h.labels() == [t for t, _ in terms] and np.allclose(h.coeffs, [complex(c) for _, c in terms])
        assert eval(repr(h), {"PauliSum": PauliSum}) == h

    attempt("PauliSum.from_list", lambda: PauliSum.from_list(terms, n_qubits=n_qubits), MUST_WORK if good else MUST_FAIL,
            check, repr(terms))


@FUZZ
@given(st.one_of(LETTERS, st.integers()), st.one_of(st.lists(st.integers(-1, 4), max_size=4), st.integers(-1, 4),
                                                     st.just(["a"])), st.integers(-1, 5), COEFFS)
def test_pauli_sparse_constructors(letters, qubits, n_qubits, coeff):
    qs = [qubits] if isinstance(qubits, int) else qubits
    good = (isinstance(letters, str) and set(letters) <= set("IXYZ") and n_qubits >= 1 and _good_coeff(coeff)
            and all(isinstance(q, int) and 0 <= q < n_qubits for q in qs) and len(set(qs)) == len(qs) == len(letters))
    expect = MUST_WORK if good else MUST_FAIL
    attempt("PauliSum.from_sparse_list", lambda: PauliSum.from_sparse_list([(letters, qubits, coeff)], n_qubits=n_qubits),
            expect, None, f"{letters!r} {qubits!r} {n_qubits}")
    attempt("PauliString.from_sparse", lambda: PauliString.from_sparse(letters, qubits, n_qubits=n_qubits, coeff=coeff),
            expect, None, f"{letters!r} {qubits!r} {n_qubits}")


@FUZZ
@given(st.integers(1, 70), st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=4))
def test_pauli_masks_keep_no_stray_bits(n, words):
    width = (n + 63) // 64
    x, z = np.array(words[:width] + [0] * (width - len(words[:width])), dtype=np.uint64), np.zeros(width, np.uint64)

    def check(h: PauliSum) -> None:
        assert PauliSum.from_list(h.to_list(), n_qubits=n) == h  # equality matches what it prints

    attempt("PauliSum(masks)", lambda: PauliSum(n_qubits=n, x_words=x[None], z_words=z[None], coeffs=[1.0]), MUST_WORK,
            check, f"n={n}")
    attempt("PauliString(masks)", lambda: PauliString(n_qubits=n, x_words=x, z_words=z), MUST_WORK,
            lambda p: PauliString.from_label(p.label) == p, f"n={n}")


# ----------------------------------------------------------------- estimators and backends

H2 = PauliSum.from_list([("ZZ", 1.0), ("XI", 0.5), ("IY", -0.25)])


@st.composite
def measured_states(draw):
    kind = draw(st.sampled_from(["ok", "ok", "nan", "length", "batch", "text", "circuit", "wide circuit"]))
    psi = np.array([0.6, 0, 0, 0.8])
    if kind == "nan":
        psi = psi.copy()
        psi[draw(st.integers(0, 3))] = np.nan
    elif kind == "length":
        psi = np.ones(8) / 8**0.5
    elif kind == "batch":
        psi = np.stack([psi, psi])
    elif kind == "text":
        psi = "0110"
    elif kind == "circuit":
        psi = Circuit(2).h(0).cx(0, 1)
    elif kind == "wide circuit":
        psi = Circuit(3).h(0)
    return psi, MUST_WORK if kind in ("ok", "circuit") else MUST_FAIL, kind


SHOTS = st.one_of(st.integers(-3, 40), st.sampled_from([2.5, 10.0, "10", None]))


def _good_shots(shots) -> bool:
    return (isinstance(shots, int) or isinstance(shots, float) and shots.is_integer()) and shots >= 1


@FUZZ
@given(measured_states(), SHOTS, st.sampled_from([ClassicalShadows, LocallyBiasedShadows]))
def test_estimator_run(case, shots, method):
    psi, expect, why = case
    if not _good_shots(shots):
        expect = MUST_FAIL
    exact = H2.expectation(np.array([0.6, 0, 0, 0.8]))

    def check(result) -> None:
        assert np.isfinite(result.value) and np.isfinite(result.stderr) and result.shots == int(shots)
        if why == "ok" and shots >= 30:
            assert abs(result.value - exact) < 6 * result.stderr + 1e-9

    attempt("Estimator.run", lambda: method(H2).run(psi, shots, seed=1), expect, check, f"{why}, shots={shots!r}")


@FUZZ
@given(st.integers(0, 6), st.integers(1, 3), st.sampled_from([np.uint8, np.int64, np.float64]), st.booleans(),
       st.booleans())
def test_estimator_estimate(rows, width, dtype, bits, spoil_codes):
    bases = np.full((rows, width), 3, dtype=dtype)
    if spoil_codes and rows:
        bases[0, 0] = 7
    outcomes = np.zeros((rows, width) if bits else rows, dtype=np.int64)
    good = rows >= 1 and width == 2 and not (spoil_codes and rows)
    attempt("Estimator.estimate", lambda: ClassicalShadows(H2).estimate(bases, outcomes), MUST_WORK if good else MUST_FAIL,
            lambda r: np.isfinite(r.value), f"{rows}x{width} {dtype.__name__}")


@FUZZ
@given(measured_states(), SHOTS, st.sampled_from([None, "ZZ", "XY", "XQ", "ZZZ", [1, 2], [9, 9]]))
def test_backend_counts(case, shots, basis):
    source, expect, why = case
    if isinstance(source, np.ndarray) and source.ndim == 2:
        expect = MUST_FAIL
    width = 3 if why in ("wide circuit", "length") else 2
    if not _good_shots(shots) or basis not in (None, "Z" * width, "XY"[:width], [1, 2][:width]) or (
            basis is not None and len(basis) != width):
        expect = MUST_FAIL
    elif why in ("wide circuit", "length"):
        expect = MUST_WORK  # three qubits: fine for counts

    def check(counts: dict) -> None:
        assert sum(counts.values()) == int(shots) and all(len(k) == len(next(iter(counts))) for k in counts)

    attempt("Backend.counts", lambda: LocalBackend(seed=1).counts(source, shots, basis=basis), expect, check,
            f"{why}, shots={shots!r}, basis={basis!r}")


# ----------------------------------------------------------------- circuits, conversions, files


@FUZZ
@given(st.one_of(st.sampled_from(["H", "RX", "CNOT", "Toffoli", "U3", "rx", "nope", ""]), st.none(), st.integers()),
       st.one_of(st.integers(-1, 3), st.lists(st.integers(-1, 3), max_size=3), st.just("0"), st.just([0.5])),
       st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just("a"), st.just(1e300)), max_size=3))
def test_circuit_add(name, qubits, params):
    arity = {"H": (1, 0), "RX": (1, 1), "rx": (1, 1), "CNOT": (2, 0), "Toffoli": (3, 0), "U3": (1, 3)}.get(name)
    qs = [qubits] if isinstance(qubits, int) else qubits
    good = (arity is not None and isinstance(qs, list) and len(qs) == arity[0] and len(params) == arity[1]
            and all(isinstance(q, int) and 0 <= q < 3 for q in qs) and len(set(qs)) == len(qs)
            and all(isinstance(p, float) and np.isfinite(p) for p in params))

    def check(c: Circuit) -> None:
        state = hq.simulate(c, dtype=torch.complex128)
        assert torch.isfinite(state).all() and abs(float(state.abs().square().sum()) - 1) < 1e-9

    attempt("Circuit.add", lambda: Circuit(3).add(name, qubits, *params), MUST_WORK if good else MUST_FAIL, check,
            f"{name!r} {qubits!r} {params!r}")


@FUZZ
@given(circuits(), st.sampled_from(["qasm", "qiskit", "cirq"]))
def test_conversions_round_trip(circuit, target):
    from hybridq.circuits import interop

    bound = circuit.bind(inputs=np.full(circuit.n_inputs, 0.3), weights={w: 0.7 for w in circuit.weight_names})
    pairs = {"qasm": (interop.to_qasm, interop.from_qasm), "qiskit": (interop.to_qiskit, interop.from_qiskit),
             "cirq": (interop.to_cirq, lambda c: interop.from_cirq(c, n_qubits=bound.n_qubits))}  # idle qubits
    to, back = pairs[target]
    if target != "qasm":
        pytest.importorskip(target)

    def check(c: Circuit) -> None:
        a, b = hq.simulate(bound, dtype=torch.complex128), hq.simulate(c, dtype=torch.complex128)
        overlap = abs(complex((a.conj() * b).sum()))
        assert abs(overlap - 1) < 1e-9  # equal up to a global phase

    attempt(f"interop {target}", lambda: back(to(bound)), MUST_WORK, check, repr(bound.ops))


@FUZZ
@given(st.text(max_size=60), st.sampled_from(["", "OPENQASM 2.0;\n", "OPENQASM 3.0;\n", "OPENQASM 7;\n"]))
def test_from_qasm_malformed(text, header):
    from hybridq.circuits.interop import from_qasm

    attempt("from_qasm", lambda: from_qasm(header + text), EITHER, None, repr(header + text))


RECORDS = st.one_of(st.text(max_size=30), st.builds(json.dumps, st.one_of(
    st.none(), st.integers(), st.lists(st.integers(), max_size=3),
    st.fixed_dictionaries({"key": st.one_of(st.text(max_size=5), st.integers())},
                          optional={"results": st.one_of(st.lists(st.lists(st.integers(0, 7), max_size=3), max_size=2),
                                                         st.lists(st.text(max_size=2), max_size=2), st.integers()),
                                    "job_id": st.one_of(st.text(max_size=5), st.none())}))))


@FUZZ
@given(st.lists(RECORDS, max_size=6), st.booleans())
def test_job_store_files(tmp_path_factory, lines, cut):
    path = tmp_path_factory.mktemp("store") / "jobs.jsonl"
    path.write_text("\n".join(lines) + ("" if cut else "\n"))

    def check(store: JobStore) -> None:
        store.record_done("fresh", [np.array([1, 2])])
        again = JobStore(path)
        assert again.done("fresh")[0].tolist() == [1, 2] and len(again) >= 1

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attempt("JobStore", lambda: JobStore(path), MUST_WORK, check, repr(lines)[:200])


@FUZZ
@given(st.lists(st.integers(0, 5), min_size=0, max_size=3), st.sampled_from(ALL_DTYPES), st.booleans(),
       st.sampled_from([None, 8]))
def test_quant_linear(lead, dtype, nan, act_bits):
    from hybridq.nn.quant import QuantLinear

    torch.manual_seed(0)
    layer = QuantLinear(4, 3, act_bits=act_bits)
    x = torch.rand(*lead, 4) if draw_width_ok(lead) else torch.rand(*lead, 5)
    expect = MUST_WORK if x.shape[-1] == 4 and dtype == torch.float32 else MUST_FAIL
    if x.shape[-1] == 4 and act_bits and (dtype in (torch.int64, torch.bool) or x.numel() == 0):
        expect = EITHER  # the input quantizer takes integers; an empty first batch cannot set its range
    x = x.to(dtype)
    if nan and x.numel() and (dtype.is_floating_point or dtype.is_complex):
        x.view(-1)[0] = float("nan")
        expect = MUST_FAIL

    def check(out: torch.Tensor) -> None:
        assert out.shape == (*x.shape[:-1], 3) and torch.isfinite(out).all()
        if dtype == torch.float32 and act_bits is None:
            torch.testing.assert_close(out, torch.nn.functional.linear(x, layer.weight_quant(layer.weight), layer.bias))

    attempt("QuantLinear.forward", lambda: layer(x), expect, check,
            f"{tuple(x.shape)} {dtype} nan={nan}")


def draw_width_ok(lead: list[int]) -> bool:
    """Whether a drawn case gets the right input width (most do)."""
    return sum(lead) % 4 != 3
