"""The Triton executor of layered programs equals the torch reference: states and gradients, on
random programs of every step kind and on every entangler family of ``test_engine.py``.

Without a GPU the kernels run in Triton's interpreter (a subprocess, when Triton is installed);
on a GPU they run as built (``cuda`` marker).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from hybridq.circuits import Circuit, Input, Weight
from hybridq.circuits.compiled import CompiledCircuit
from hybridq.sim.engine import ReferenceExecutor
from hybridq.sim.layers import Dense, Layer, Layered
from hybridq.sim.triton_layers import TritonExecutor

from test_engine import FAMILIES, _values, family_circuit
from test_shared_steps import BATCHES, loss, shared_circuit

Tensor = torch.Tensor

def random_circuit(n: int, seed: int, permutations: bool = True) -> Circuit:
    """Every step kind on random qubits: rotations reading inputs, diagonals (CZ, CP, RZZ, CRZ,
    CCZ, multi-Z rotations), controlled and two-qubit matrices, permutations (CNOT and SWAP,
    replaced by CZ where ``permutations`` is False)."""
    g = torch.Generator().manual_seed(seed)
    pick = lambda k: torch.randperm(n, generator=g)[:k].tolist()  # noqa: E731
    c = Circuit(n)
    for layer in range(2):
        for q in range(n):
            c.ry(Weight(f"w{layer}_{q}") * Input(q) + Weight(f"b{layer}_{q}"), q).rz(Weight(f"t{layer}_{q}"), q)
        for k in range(10):
            a, b, t = pick(3)
            angle = Weight(f"e{layer}_{k}") * Input(t) if k % 2 else Weight(f"e{layer}_{k}")
            cx = c.cx if permutations else c.cz
            swap = c.swap if permutations else c.cz
            [lambda: c.cz(a, b), lambda: c.crx(angle, a, b), lambda: c.rzz(angle, a, b), lambda: cx(a, b),
             lambda: c.rxx(angle, a, t), lambda: c.add("CRY", [b, a], angle), lambda: c.add("CCZ", [a, b, t]),
             lambda: c.ch(t, a), lambda: c.add("CPhase", [a, t], angle), lambda: c.add("CRZ", [t, b], angle),
             lambda: c.pauli_rotation(angle, "ZZZ", [a, b, t]), lambda: c.pauli_rotation(angle, "XY", [b, t]),
             lambda: swap(a, b), lambda: c.u3(angle, 0.3, Weight(f"v{layer}_{k}"), t)][(k * 3 + layer) % 14]()
    return c


def compare(device: str, n: int, batch: int, dtype: torch.dtype, seed: int, permutations: bool = True) -> list[float]:
    """Largest differences (states, weight, input and initial-state gradients) between the Triton
    executor and the reference on one random program, relative to the reference's largest
    entry where that exceeds 1 (gradients from unnormalised start states grow with ``2**n``)."""
    c = random_circuit(n, seed, permutations)
    g = torch.Generator().manual_seed(seed)
    real = dtype.to_real()
    x = torch.rand(batch, n, generator=g, dtype=real).to(device).requires_grad_(True)
    w = torch.randn(len(c.weight_names), generator=g, dtype=real).to(device).requires_grad_(True)
    psi0 = torch.randn(batch, 2**n, generator=g, dtype=dtype).to(device).requires_grad_(True)
    probe = torch.randn(batch, 2**n, generator=g, dtype=real).to(device)
    results = []
    for executor in (TritonExecutor(), ReferenceExecutor()):
        program = CompiledCircuit.of(c).layered(x, w, batch=batch, dtype=dtype, device=device)
        for state in (None, psi0):
            out = executor.run(program, state, "adjoint")
            assert out is not None, f"{executor.name} declined the program"
            inputs = (w, x) if state is None else (w, x, psi0)
            grads = torch.autograd.grad((out.abs().square() * probe).sum(), inputs, retain_graph=True)
            results.append([out, *grads])
    half = len(results) // 2
    return [float((a - b).detach().abs().max() / max(1.0, float(b.detach().abs().max())))
            for got, ref in zip(results[:half], results[half:]) for a, b in zip(got, ref)]


def open_control_program(device: str, dtype: torch.dtype) -> tuple[Layered, Tensor]:
    """A controlled RY whose control is open (acts where qubit 2 is 0), per-sample angles."""
    theta = torch.tensor([0.3, 1.1, -0.7], dtype=dtype.to_real(), device=device, requires_grad=True)
    c, s = torch.cos(theta / 2).to(dtype), torch.sin(theta / 2).to(dtype)
    ry = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    layer = Layer((), (Dense((0,), ry, (2,), (0,)),))
    return Layered(3, 3, dtype, torch.device(device), (layer,)), theta


CASES = [(3, 1, torch.complex128, 0), (4, 3, torch.complex64, 1), (5, 2, torch.complex128, 2), (6, 5, torch.complex64, 3)]


def check(device: str) -> None:
    for n, batch, dtype, seed in CASES:
        tol = 2e-4 if dtype == torch.complex64 else 1e-10
        diffs = compare(device, n, batch, dtype, seed)
        assert max(diffs) < tol, (n, batch, dtype, diffs)
    for dtype in (torch.complex64, torch.complex128):
        program, theta = open_control_program(device, dtype)
        psi0 = torch.randn(3, 8, dtype=dtype, device=device)
        outs = [e.run(program, psi0, "adjoint") for e in (TritonExecutor(), ReferenceExecutor())]
        grads = [torch.autograd.grad(o.real.sum(), theta, retain_graph=True)[0] for o in outs]
        assert torch.allclose(outs[0], outs[1], atol=1e-5) and torch.allclose(grads[0], grads[1], atol=1e-5)
    check_families(device)
    check_merged_diagonals(device)
    check_shared_steps(device)


def check_merged_diagonals(device: str) -> None:
    """Runs of constant diagonals (user diagonals, CZ, CCZ) are merged once per structure: two
    circuits of one structure but other diagonal values each equal the reference; runs of
    trainable diagonals shared by the batch (RZZ, CRZ, CPhase with weights) are merged per call,
    their gradients through the merged diagonal equal the reference's."""
    from hybridq.sim import triton_layers

    for phases in ([1, 1j, -1, -1j], [1j, 1, 1, -1]):
        c = Circuit(4)
        for q in range(4):
            c.ry(Weight(f"a{q}") * Input(q), q)
        c.diagonal(torch.tensor(phases), [2, 0]).cz(0, 1).add("CPhase", [3, 1], 0.7).add("CCZ", [1, 2, 3])
        for q in range(4):
            c.rx(Weight(f"b{q}"), q)
        c.cz(3, 0).diagonal(torch.tensor(phases).conj(), [1, 3])
        c.rzz(Weight("z0"), 0, 1).crz(Weight("z1"), 2, 3).cp(Weight("z2"), 1, 3).rzz(Weight("z3") * Input(0), 2, 0)
        for q in range(4):
            c.ry(Weight(f"c{q}"), q)
        c.rzz(Weight("z4"), 3, 2)
        x, w = _values(c, 3, seed=1)
        x, w = x.to(device).requires_grad_(True), w.to(device).requires_grad_(True)
        results = []
        for executor in (TritonExecutor(), ReferenceExecutor()):
            program = CompiledCircuit.of(c).layered(x, w, batch=3, dtype=torch.complex128, device=device)
            out = executor.run(program, None, "adjoint")
            results.append([out, *torch.autograd.grad(out.real.sum() + out.imag[:, 1].sum(), (w, x))])
        kinds = triton_layers._plan(program).segments[0].table[:, 0].tolist()
        # [diagonal, CZ], [CCZ], [CZ, diagonal]; [RZZ, CRZ, CPhase] (the per-sample RZZ apart), [RZZ]
        assert kinds.count(triton_layers.FIXED) == 3 and kinds.count(triton_layers.SHARED) == 3, kinds
        for got, ref in zip(*results):
            assert float((got - ref).detach().abs().max()) < 1e-10, phases


def check_shared_steps(device: str) -> None:
    """``test_shared_steps.py``'s circuit (angles read from the inputs, runs of trainable
    diagonals shared by the batch around a CZ) as the GPU builds it (the one-qubit chains in the
    packed data, which then has a row per sample): states, weight and input gradients equal the
    reference's at every batch size, and the shared runs are merged (SHARED rows)."""
    from hybridq.sim import chains, triton_layers

    circuit, available = shared_circuit(), chains.available
    chains.available = lambda device: False  # as on a GPU: no native chains, the packed data holds them
    try:
        for batch in BATCHES:
            x, w = _values(circuit, batch, seed=batch)
            x, w = x.to(device).requires_grad_(True), w.to(device).requires_grad_(True)
            results = []
            for executor in (TritonExecutor(), ReferenceExecutor()):
                program = CompiledCircuit.of(circuit).layered(x, w, batch=batch, dtype=torch.complex128, device=device)
                out = executor.run(program, None, "adjoint")
                results.append([out, *torch.autograd.grad(loss(out), (w, x))])
            assert program.packed is not None and program.packed.shape[0] == batch
            for got, ref in zip(*results):
                assert float((got - ref).detach().abs().max()) < 1e-10, batch
            kinds = triton_layers._plan(program).segments[0].table[:, 0].tolist()
            # [RZZ, CRZ], [CZ], [CPhase]; [RZZ(x)] per sample (shared too in a batch of 1), [CPhase, RZZ]
            assert kinds.count(triton_layers.SHARED) == 3 and kinds.count(triton_layers.DIAG) == (batch > 1), kinds
            psi0 = torch.randn(batch, 16, dtype=torch.complex128, generator=torch.Generator().manual_seed(batch))
            psi0 = psi0.to(device).requires_grad_(True)  # the start states' gradient alone (the data wants none)
            grads = []
            for executor in (TritonExecutor(), ReferenceExecutor()):
                program = CompiledCircuit.of(circuit).layered(x.detach(), w.detach(), batch=batch, dtype=torch.complex128,
                                                              device=device)
                grads.append(torch.autograd.grad(loss(executor.run(program, psi0, "adjoint")), psi0)[0])
            assert float((grads[0] - grads[1]).abs().max()) < 1e-10, batch
    finally:
        chains.available = available


def check_families(device: str) -> None:
    """The executor against the reference on every entangler family of ``test_engine.py`` (angles per
    sample and shared, batch 1 and odd): states, weight and input gradients."""
    for family in FAMILIES:
        for batch, dtype, tol in ((1, torch.complex128, 1e-10), (3, torch.complex64, 2e-4)):
            circuit = family_circuit(family, 4, 1, seed=batch)
            x, w = _values(circuit, batch, seed=2)
            x, w = x.to(device, dtype.to_real()).requires_grad_(True), w.to(device, dtype.to_real()).requires_grad_(True)
            probe = torch.randn(batch, 16, dtype=dtype.to_real(), generator=torch.Generator().manual_seed(0)).to(device)
            results = []
            for executor in (TritonExecutor(), ReferenceExecutor()):
                program = CompiledCircuit.of(circuit).layered(x, w, batch=batch, dtype=dtype, device=device)
                out = executor.run(program, None, "adjoint")
                if out is None:  # plain layers (the CNOT-SWAP family): the op-list kernels' program
                    break
                results.append([out, *torch.autograd.grad((out.abs().square() * probe).sum(), (w, x))])
            for got, ref in zip(*results) if len(results) == 2 else ():
                assert float((got - ref).abs().max()) < tol, (family, batch, dtype)
            assert len(results) == 2 or family == "cnot_swap", family


def check_segments(device: str) -> None:
    """Past WHOLE_QUBITS the table runs in segments: on the CPU (the interpreter) with the
    constants shrunk so that 6-7 qubits take several segments, on a GPU as built (14 and 16 qubits)."""
    from hybridq.sim import triton_layers

    saved = triton_layers.WHOLE_QUBITS, triton_layers.SEGMENT_QUBITS, triton_layers.ADJACENT_QUBITS
    cases = [(14, 3, torch.complex64, 4, True), (16, 2, torch.complex128, 5, False)]
    if device == "cpu":
        triton_layers.WHOLE_QUBITS, triton_layers.SEGMENT_QUBITS, triton_layers.ADJACENT_QUBITS = 3, 4, 1
        cases = [(6, 3, torch.complex64, 1, True), (7, 2, torch.complex128, 2, False)]
    try:
        for n, batch, dtype, seed, permutations in cases:
            diffs = compare(device, n, batch, dtype, seed, permutations)
            assert max(diffs) < (2e-4 if dtype == torch.complex64 else 1e-10), (n, batch, dtype, diffs)
            c = random_circuit(n, seed, permutations)
            program = CompiledCircuit.of(c).layered(None, torch.zeros(len(c.weight_names)), batch=1, dtype=dtype, device=device)
            segments = triton_layers._plan(program).segments
            assert len(segments) > 1 and all(s.inner is not None for s in segments), len(segments)
    finally:
        triton_layers.WHOLE_QUBITS, triton_layers.SEGMENT_QUBITS, triton_layers.ADJACENT_QUBITS = saved


def test_declines_off_its_device_and_steps_it_has_no_kernel_for():
    c = Circuit(5).h(0).pauli_rotation(0.4, "ZZZZ", [0, 1, 2, 3])  # a diagonal on 4 qubits
    program = CompiledCircuit.of(c).layered(None, torch.zeros(0), batch=1, dtype=torch.complex64, device="cpu")
    assert TritonExecutor().run(program, None, "adjoint") is None


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton not installed")
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU runs the compiled kernels (the test below)")
def test_triton_executor_equals_the_reference_in_the_interpreter():
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import test_triton_layers as t
        t.check("cpu")
        t.check_segments("cpu")
        print("ok")
    """)
    env = dict(os.environ, TRITON_INTERPRET="1", HYBRIDQ_FUSED="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]


@pytest.mark.cuda
def test_triton_executor_equals_the_reference_on_gpu():
    check("cuda")
    check_segments("cuda")
