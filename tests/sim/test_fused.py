"""Fused whole-circuit kernels (hybridq.sim.fused) equal the general path, values and gradients.

On a GPU they run for real; on the CPU the native C kernels run where a C compiler built them,
and, when Triton is installed, its interpreter runs the Triton kernels in a subprocess (the
interpreter is chosen when Triton compiles, at import).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight
from hybridq.sim import fused, native, native_run
from hybridq.sim.engine import to_ops
from hybridq.sim.fusion import fuse


def layered(n: int, layers: int, extra: bool = False) -> Circuit:
    """Re-uploading layers (the W1 shape), optionally with Toffoli / SWAP in the permutation."""
    c = Circuit(n)
    for k in range(layers):
        for i in range(n):
            c.ry(Weight(f"w{k}_{i}") * Input(i) + Weight(f"b{k}_{i}"), i)
        for i in range(n):
            c.rz(Weight(f"t{k}_{i}"), i).ry(Weight(f"u{k}_{i}"), i)
        for i in range(n):
            c.cx(i, (i + 1) % n)
        if extra:
            c.swap(0, n - 1).ccx(0, 1, 2)
    for i in range(n):
        c.h(i)
    return c


@contextlib.contextmanager
def general_path():
    """Turn the fused kernels off (the reference)."""
    run, run_layers, run_program = fused.run, fused.run_layers, native_run.run_program
    fused.run = fused.run_layers = lambda *args: None
    native_run.run_program = lambda *args: None
    try:
        yield
    finally:
        fused.run, fused.run_layers, native_run.run_program = run, run_layers, run_program


def compare(device: str, n: int, layers: int, batch: int, dtype, extra: bool) -> list[float]:
    """Max differences (state, weight gradient, initial-state gradient): ``device`` vs the general path on CPU."""
    c = layered(n, layers, extra)
    g = torch.Generator().manual_seed(n)
    x = torch.randn(batch, n, dtype=torch.float64, generator=g)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=g)
    p0 = torch.randn(1, 2**n, dtype=dtype, generator=g)
    results = []
    for dev, context in ((device, contextlib.nullcontext()), ("cpu", general_path())):
        with context:
            wd = w.to(dev).requires_grad_(True)
            psi0 = (p0 / p0.norm()).to(dev).requires_grad_(True)
            psi = hq.simulate(c, x.to(dev), wd, dtype=dtype, initial_state=psi0)
            loss = hq.sim.expval_z(psi).square().sum() + (psi[:, 1] * psi[:, 2].conj()).real.sum()
            results.append([t.detach().cpu() for t in (psi, *torch.autograd.grad(loss, (wd, psi0)))])
    return [float((a - b).abs().max()) for a, b in zip(*results)]


CASES = [(3, 2, 5, torch.complex128, False), (5, 3, 4, torch.complex64, True), (6, 2, 1, torch.complex128, True)]


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
def test_layer_split_and_fallback():
    ops = to_ops(hq.circuits.compiled.CompiledCircuit.of(layered(4, 2)).layered(
        torch.zeros(2, 4), torch.zeros(len(layered(4, 2).weight_names)), batch=2, dtype=torch.complex64, device="cpu"))
    mats, perms = fused.layers(ops, 4)
    assert len(mats) == 3 and perms[-1] is None and all(m.shape[-3:] == (4, 2, 2) for m in mats)
    assert fused.layers(ops + [hq.sim.gate_op("CRX", [0, 1], [0.3], n_qubits=4)], 4) is None
    stacked = fused._slices_of_one(mats, 4, torch.complex64)  # a compiled circuit's layers: views of one tensor
    assert stacked is not None and all(torch.equal(stacked[:, i], m) for i, m in enumerate(mats))
    assert fused._slices_of_one([m.clone() for m in mats], 4, torch.complex64) is None
    fast = fused.run(hq.sim.zero_state(4), ops)  # a batch of 2 fills one of the CPU kernels' 16-sample blocks
    with general_path():
        slow = hq.sim.run(hq.sim.zero_state(4), ops)
    assert fast is not None and torch.allclose(fast, slow, atol=1e-6)


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
@pytest.mark.parametrize("case", [(3, 2, 8, torch.complex128, False), (5, 3, 20, torch.complex64, True),
                                  (10, 3, 37, torch.complex64, False), (14, 2, 17, torch.complex128, True),
                                  (15, 2, 9, torch.complex128, True),  # 15+: cache-blocked layers
                                  (15, 3, 20, torch.complex64, False)])  # ... and their two-gate AVX-512 passes
@pytest.mark.parametrize("keep", [True, False])
def test_native_kernels_equal_the_general_path(case, keep, monkeypatch):
    """With the forward's kept states and without (un-computing the state)."""
    if not keep:
        monkeypatch.setattr(fused, "MAX_KEPT_STATES", 0)
    calls = []
    apply = native_run._ProgramRun.apply
    monkeypatch.setattr(native_run._ProgramRun, "apply", lambda *a: calls.append(1) or apply(*a))
    tol = 1e-4 if case[3] == torch.complex64 else 1e-10
    assert max(compare("cpu", *case)) < tol
    assert calls, "the fused path was not taken"


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
@pytest.mark.parametrize("n, keep", [(5, True), (9, False), (15, True), (15, False)])
@pytest.mark.parametrize("input_grad", [False, True])
def test_native_kernels_from_the_zero_state(n, keep, input_grad, monkeypatch):
    """From |0...0> the first layer is a product state; without an input gradient its weight
    gradients come off the product (kept states, un-computation, cache-blocked layers)."""
    if not keep:
        monkeypatch.setattr(fused, "MAX_KEPT_STATES", 0)
    starts = []
    zero_start = fused.starts_at_zero
    monkeypatch.setattr(fused, "starts_at_zero", lambda state: starts.append(zero_start(state)) or starts[-1])
    c = layered(n, 3)
    g = torch.Generator().manual_seed(n)
    x = torch.randn(11, n, dtype=torch.float64, generator=g)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=g)
    results = []
    for context in (contextlib.nullcontext(), general_path()):
        with context:
            wd = w.clone().requires_grad_(True)
            psi0 = hq.sim.zero_state(n, dtype=torch.complex128).requires_grad_(input_grad)
            psi = hq.simulate(c, x, wd, dtype=torch.complex128, initial_state=psi0)
            loss = hq.sim.expval_z(psi).square().sum() + (psi[:, 1] * psi[:, 2].conj()).real.sum()
            wanted = (wd, psi0) if input_grad else (wd,)
            results.append([t.detach() for t in (psi, *torch.autograd.grad(loss, wanted))])
    assert starts == [True]
    assert max(float((a - b).abs().max()) for a, b in zip(*results)) < 1e-10


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
def test_native_backward_twice_and_kept_states_reused():
    """A retained graph's second backward (its kept states already handed on) equals the first;
    the next step of the same size takes the handed-on buffer."""
    c = layered(6, 3)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(20, 6, dtype=torch.float64, generator=g)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=g).requires_grad_(True)
    loss = hq.sim.expval_z(hq.simulate(c, x, w)).square().sum()
    first = torch.autograd.grad(loss, w, retain_graph=True)[0]
    spare = next(iter(fused._SPARE_KEPT.values()))
    second = torch.autograd.grad(loss, w)[0]
    assert torch.allclose(first, second, atol=1e-6)
    taken = []
    kept_states = fused._kept_states
    fused._kept_states = lambda *a: taken.append(kept_states(*a)) or taken[-1]
    try:
        hq.simulate(c, x, w)
    finally:
        fused._kept_states = kept_states
    assert taken[0] is spare


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
@pytest.mark.parametrize("n, batch, dtype", [(12, 1, torch.complex64), (13, 3, torch.complex128)])
def test_large_state_kernel_equals_the_general_path(n, batch, dtype, monkeypatch):
    c = layered(n, 3, extra=True)
    g = torch.Generator().manual_seed(n)
    x = torch.randn(1, n, dtype=torch.float64, generator=g)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=g)
    p0 = torch.randn(batch, 2**n, dtype=dtype, generator=g)
    p0 = p0 / p0.norm(dim=1, keepdim=True)
    calls = []
    run_large = fused.run_large_state
    monkeypatch.setattr(fused, "run_large_state", lambda *a: calls.append(1) or run_large(*a))
    with torch.no_grad():
        got = hq.simulate(c, x, w, dtype=dtype, initial_state=p0)
    with general_path(), torch.no_grad():
        want = hq.simulate(c, x, w, dtype=dtype, initial_state=p0)
    assert calls, "the single-state kernel was not taken"
    assert float((got - want).abs().max()) < (1e-5 if dtype == torch.complex64 else 1e-12)
    calls.clear()  # the kernel has no backward: with gradients wanted, the general path runs
    hq.simulate(c, x, w.requires_grad_(True), dtype=dtype, initial_state=p0)
    assert not calls


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
def test_large_state_kernel_layers_without_and_ending_with_permutations():
    n = 12  # kron, kron (no permutation between: updated in place), permutation last (folded into the output)
    g = torch.Generator().manual_seed(5)
    a = torch.linalg.qr(torch.randn(2, n, 2, 2, dtype=torch.complex128, generator=g))[0].to(torch.complex64)
    ring = fuse([hq.sim.gate_op("CNOT", [i, (i + 1) % n], n_qubits=n) for i in range(n)], n)
    ops = [hq.sim.Op("kron", tuple(range(n)), data=a[0]), hq.sim.Op("kron", tuple(range(n)), data=a[1]), *ring]
    psi = torch.randn(1, 2**n, dtype=torch.complex64, generator=g)
    with torch.no_grad():
        got = hq.sim.run(psi, ops)
        with general_path():
            want = hq.sim.run(psi, ops)
    assert [op.kind for op in ring] == ["permutation"] and float((got - want).abs().max()) < 1e-5


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("initial", ["zero", "real", "complex"])
def test_large_state_kernel_real_layers(dtype, initial):
    """RY + CNOT layers (real matrices) take the kernel's real path: on the real part alone while
    the state is real, on both parts of a complex state; a complex layer in between ends it."""
    n = 12
    g = torch.Generator().manual_seed(7)
    angles = torch.rand(4, n, dtype=torch.float64, generator=g) * 6.3
    c, s = torch.cos(angles / 2), torch.sin(angles / 2)
    ry = torch.stack([c, -s, s, c], -1).reshape(4, n, 2, 2).to(dtype)
    mixed = torch.linalg.qr(torch.randn(n, 2, 2, dtype=torch.complex128, generator=g))[0].to(dtype)
    ring = fuse([hq.sim.gate_op("CNOT", [i, (i + 1) % n], n_qubits=n) for i in range(n)], n)
    kron = [hq.sim.Op("kron", tuple(range(n)), data=m) for m in (ry[0], ry[1], mixed, ry[2], ry[3])]
    ops = [op for layer in kron for op in (layer, *ring)]
    psi = {"zero": hq.sim.zero_state(n, dtype=dtype),
           "real": torch.randn(1, 2**n, dtype=torch.float64, generator=g).to(dtype),
           "complex": torch.randn(1, 2**n, dtype=dtype, generator=g)}[initial]
    tol = 1e-5 if dtype == torch.complex64 else 1e-12
    for program in (ops[:4], ops):  # real layers only, then with the complex layer
        with torch.no_grad():
            got = fused.run(psi, program)
            with general_path():
                want = hq.sim.run(psi, program)
        assert got is not None and float((got - want).abs().max()) < tol * float(want.abs().max())


def test_native_build_failure_falls_back_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.delenv("HYBRIDQ_NATIVE", raising=False)
    monkeypatch.setenv("HYBRIDQ_CACHE", str(tmp_path))
    monkeypatch.setattr(native, "INSTALLED", tmp_path / "absent.so")
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    with pytest.warns(UserWarning, match="could not build the native CPU kernels"):
        assert native.library.__wrapped__() is None
    monkeypatch.setenv("HYBRIDQ_NATIVE", "0")
    assert native.library.__wrapped__() is None


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_native_builds_without_openmp(monkeypatch, tmp_path):
    monkeypatch.delenv("HYBRIDQ_NATIVE", raising=False)
    cc = tmp_path / "cc"  # a compiler that rejects -fopenmp, as Apple's clang does
    cc.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = "-fopenmp" ] && exit 1; done\nexec gcc "$@"\n')
    cc.chmod(0o755)
    monkeypatch.setenv("HYBRIDQ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(native, "INSTALLED", tmp_path / "absent.so")
    monkeypatch.setenv("CC", str(cc))
    lib = native.library.__wrapped__()
    assert lib is not None and hasattr(lib, "state_forward_f64")
    assert "-fopenmp" not in native.status() and "compiled on first use" in native.status()


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_native_compiler_may_be_a_command_and_an_install_build_for_another_cpu_is_skipped(monkeypatch, tmp_path):
    monkeypatch.delenv("HYBRIDQ_NATIVE", raising=False)
    monkeypatch.setenv("HYBRIDQ_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(native, "INSTALLED", tmp_path / "pkg" / "_native.so")
    monkeypatch.setenv("CC", "env gcc")  # a launcher and a compiler, as `ccache gcc`
    record = native.build(native.INSTALLED)
    assert record["compiler"] == "env gcc"
    assert native.library.__wrapped__() is not None and "built at install by env gcc" in native.status()
    info = native.INSTALLED.with_suffix(".json")
    info.write_text(json.dumps({**record, "cpu": "another"}))  # as if built on another machine
    assert native.library.__wrapped__() is not None
    assert "compiled on first use" in native.status() and "for another CPU" in native.status()


@pytest.mark.cuda
@pytest.mark.parametrize("case", CASES + [(12, 3, 64, torch.complex64, False), (13, 2, 8, torch.complex128, False),
                                  (14, 2, 16, torch.complex64, True), (16, 2, 4, torch.complex128, False)])
def test_fused_kernels_equal_the_general_path_on_gpu(case):
    assert fused.available(torch.device("cuda"))
    n, layers, batch, dtype, extra = case
    tol = 1e-4 if dtype == torch.complex64 else 1e-10
    assert max(compare("cuda", *case)) < tol


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton not installed")
def test_fused_kernels_equal_the_general_path_in_the_interpreter():
    code = textwrap.dedent(f"""
        import torch, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_fused import CASES, compare, fused
        assert fused.available(torch.device("cpu"))
        import hybridq.sim.fused as f
        from hybridq.sim import engine, state

        class Interpreted:  # the engine sends CPU programs to the native executor: route them to fused.run
            name = "fused-interpreted"

            def run(self, program, psi, method):
                psi = state.zero_state(program.n_qubits, 1, dtype=program.dtype) if psi is None else psi
                return f.run(psi, engine.to_ops(program))

        engine.EXECUTORS[:] = [Interpreted(), *engine.EXECUTORS]
        calls = []
        apply = f._FusedRun.apply
        f._FusedRun.apply = lambda *a: calls.append(1) or apply(*a)
        for case in CASES:
            tol = 1e-4 if case[3] == torch.complex64 else 1e-10
            diffs = compare("cpu", *case)
            assert max(diffs) < tol, (case, diffs)
        assert calls, "the fused path was not taken"
        # the chunked kernels of larger states, scaled down: chunks of 8 amplitudes from 5 qubits on
        f.MAX_WHOLE_QUBITS, f.CHUNK_BITS = 4, 3
        chunked = f._chunked_forward
        f._chunked_forward = lambda *a: calls.append("chunked") or chunked(*a)
        for case in [(5, 2, 3, torch.complex128, True), (6, 3, 2, torch.complex64, False)]:
            tol = 1e-4 if case[3] == torch.complex64 else 1e-10
            diffs = compare("cpu", *case)
            assert max(diffs) < tol, (case, diffs)
        assert calls.count("chunked") == 2
        print("ok")
    """)
    env = dict(os.environ, TRITON_INTERPRET="1", HYBRIDQ_FUSED="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
@pytest.mark.parametrize("n, keep, zero", [(4, True, True), (9, False, False), (15, True, True), (15, False, True)])
def test_native_z_read_out_and_its_backward(n, keep, zero, monkeypatch):
    """The fused run reads every qubit's <Z> off its states; a loss of those alone (all qubits
    or some) starts the backward from dL/d<Z>: values and gradients equal the general path."""
    if not keep:
        monkeypatch.setattr(fused, "MAX_KEPT_STATES", 0)
    c = layered(n, 2)
    g = torch.Generator().manual_seed(n)
    x = torch.randn(19, n, dtype=torch.float64, generator=g)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=g)
    p0 = hq.sim.zero_state(n, dtype=torch.complex128) if zero else torch.randn(1, 2**n, dtype=torch.complex128, generator=g)
    results = []
    for fast, context in ((True, contextlib.nullcontext()), (False, general_path())):
        with context:
            wd, xd = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
            psi0 = (p0 / p0.norm()).requires_grad_(not zero)
            psi = hq.simulate(c, xd, wd, dtype=torch.complex128, initial_state=psi0)
            assert (fused.attached_z(psi) is not None) == fast
            z, some = hq.sim.expval_z(psi), hq.sim.expval_z(psi, [n - 1, 0])
            loss = (z * torch.arange(1.0, n + 1, dtype=torch.float64)).sum() + some.square().sum()
            wanted = (wd, xd) if zero else (wd, xd, psi0)
            results.append([t.detach() for t in (z, some, *torch.autograd.grad(loss, wanted))])
    assert max(float((a - b).abs().max()) for a, b in zip(*results)) < 1e-10


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
def test_z_read_out_is_dropped_once_the_state_changes():
    c = layered(4, 2)
    x = torch.randn(10, 4, dtype=torch.float64)
    w = torch.randn(len(c.weight_names), dtype=torch.float64)
    psi = hq.simulate(c, x, w, dtype=torch.complex128)
    assert fused.attached_z(psi) is not None
    psi[:, 0] = 0  # in place: the attached read-out is stale
    assert fused.attached_z(psi) is None
    signs = hq.sim.measure.z_sign_table(np.eye(4, dtype=bool))
    assert torch.allclose(hq.sim.expval_z(psi), psi.abs().square() @ signs)


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
def test_large_outputs_reuse_memory_no_tensor_holds(monkeypatch):
    monkeypatch.setattr(fused, "POOLED_OUTPUT_BYTES", 1)
    c = layered(4, 2)
    x = torch.randn(12, 4, dtype=torch.float64)
    w = torch.randn(len(c.weight_names), dtype=torch.float64)
    first = hq.simulate(c, x, w)
    view = first[:, 1:].detach()
    held = first.data_ptr()
    del first
    second = hq.simulate(c, x, w)  # the first's memory is still held by its view
    assert second.data_ptr() != held and torch.equal(view, second[:, 1:])
    address = second.data_ptr()
    del second, view
    third = hq.simulate(c, 2 * x, w)
    assert third.data_ptr() in (held, address)  # memory no tensor holds, taken again
    with general_path():
        assert torch.allclose(third, hq.simulate(c, 2 * x, w), atol=1e-6)


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
@pytest.mark.parametrize("n, layers, batch, dtype, keep", [(3, 2, 8, torch.complex128, True),
                                                           (7, 3, 37, torch.complex64, True),
                                                           (10, 3, 19, torch.complex128, False),
                                                           (15, 2, 9, torch.complex128, True)])
def test_layered_run_equals_the_general_path(n, layers, batch, dtype, keep, monkeypatch):
    """From |0...0>, a circuit of layers runs as chain products and fused kernels in one autograd
    node: states, <Z> and the gradients of weights and inputs (through <Z> and the states) equal
    the general path's."""
    if not keep:
        monkeypatch.setattr(fused, "MAX_KEPT_STATES", 0)
    calls = []
    apply = native_run._ProgramRun.apply
    monkeypatch.setattr(native_run._ProgramRun, "apply", lambda *a: calls.append(1) or apply(*a))
    c = layered(n, layers)  # ends with a layer without a permutation
    g = torch.Generator().manual_seed(n)
    x = torch.randn(batch, n, dtype=torch.float64, generator=g)
    w = torch.randn(len(c.weight_names), dtype=torch.float64, generator=g)
    results = []
    for fast, context in ((True, contextlib.nullcontext()), (False, general_path())):
        with context:
            wd, xd = w.clone().requires_grad_(True), x.clone().requires_grad_(True)
            psi = hq.simulate(c, xd, wd, dtype=dtype)
            assert (fused.attached_z(psi) is not None) == fast
            z = hq.sim.expval_z(psi)
            loss = (z * torch.arange(1.0, n + 1, dtype=z.dtype)).square().sum() + (psi[:, 1] * psi[:, 2].conj()).real.sum()
            results.append([t.detach().to(torch.complex128) for t in (psi, z, *torch.autograd.grad(loss, (wd, xd)))])
    assert calls == [1]
    tol = 1e-4 if dtype == torch.complex64 else 1e-10
    assert max(float((a - b).abs().max()) for a, b in zip(*results)) < tol


@pytest.mark.skipif(not fused.available(torch.device("cpu")), reason="native CPU kernels not built (no C compiler)")
def test_native_program_runs_where_it_applies(monkeypatch):
    """A given initial state, no inputs, a permutation first and a controlled rotation all run
    on the native executor, and so does a small batch (4); results equal the general path."""
    calls = []
    apply = native_run._ProgramRun.apply
    monkeypatch.setattr(native_run._ProgramRun, "apply", lambda *a: calls.append(1) or apply(*a))
    c = layered(4, 2)
    w = torch.randn(len(c.weight_names), dtype=torch.float64)
    x = torch.randn(12, 4, dtype=torch.float64)
    first_permutation = Circuit(4).cx(0, 1)
    first_permutation.ops += c.ops
    controlled = Circuit(4)
    controlled.ops += c.ops
    controlled.crx(Weight("b0_0") * Input(0), 0, 1)
    no_inputs = Circuit(3).ry(Weight("a"), 0).ry(Weight("b"), 1).ry(Weight("c"), 2).cx(0, 1)
    runs = [(c, x[:4], {}, True), (c, x, {"initial_state": hq.sim.zero_state(4, dtype=torch.complex128)}, True),
            (first_permutation, x, {}, True), (controlled, x, {}, True), (no_inputs, None, {"batch": 10}, True)]
    for circuit, inputs, options, taken in runs:
        calls.clear()
        weights = w[: len(circuit.weight_names)]
        fast = hq.simulate(circuit, inputs, weights, dtype=torch.complex128, **options)
        assert bool(calls) == taken
        with general_path():
            slow = hq.simulate(circuit, inputs, weights, dtype=torch.complex128, **options)
        torch.testing.assert_close(fast, slow, atol=1e-10, rtol=0)
