"""Steps whose angles read no input are shared by the batch on every executor, even in a circuit
whose other angles read the inputs (:func:`hybridq.sim.layers.shared_by_batch`): states and
weight and input gradients agree between the executors and with finite differences, and the
native kernels really take their shared-diagonal path (one table per call, not one per sample).
The Triton executor is checked on the same circuit by ``test_triton_layers.py``.
"""

from __future__ import annotations

import pytest
import torch

from hybridq.circuits import Circuit, Input, Weight
from hybridq.circuits.compiled import CompiledCircuit
from hybridq.sim import native, native_run
from hybridq.sim.engine import NativeExecutor, ReferenceExecutor
from hybridq.sim.layers import Diagonal, shared_by_batch

from test_engine import _values

#: Batch sizes: one sample, an odd batch, and one past the native kernels' 16 lanes.
BATCHES = (1, 9, 19)
needs_native = pytest.mark.skipif(native.library() is None, reason="no C compiler: the native kernels are not built")


def shared_circuit(n: int = 4) -> Circuit:
    """Rotations reading the inputs around runs of trainable diagonals shared by the batch (RZZ,
    CRZ, CPhase with weights) with a fixed CZ among them, and one RZZ whose angle reads an input."""
    c = Circuit(n)
    for q in range(n):
        c.ry(Weight(f"a{q}") * Input(q), q)
    c.rzz(Weight("z0"), 0, 1).crz(Weight("z1"), 1, 2).cz(3, 0).cp(Weight("z2"), 2, 3)
    for q in range(n):
        c.rx(Weight(f"b{q}") + Input(q), q)
    c.rzz(Weight("z3") * Input(0), 1, 3).cp(Weight("z4"), 0, 2).rzz(Weight("z5"), 3, 2)
    for q in range(n):
        c.ry(Weight(f"c{q}"), q)
    return c


def outputs(executor, circuit: Circuit, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``executor``'s output states of ``circuit`` (complex128) for inputs ``x`` and weights ``w``."""
    program = CompiledCircuit.of(circuit).layered(x, w, batch=x.shape[0], dtype=torch.complex128, device="cpu")
    out = executor.run(program, None, "adjoint")
    assert out is not None, f"{executor.name} declined the program"
    return out


def loss(out: torch.Tensor) -> torch.Tensor:
    """A real loss that reads every amplitude's real and imaginary part."""
    probe = torch.randn(out.shape[0], out.shape[1], 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    return (torch.view_as_real(out) * probe.to(out.device)).sum()


def test_steps_without_inputs_are_shared_by_the_batch():
    circuit = shared_circuit()
    x, w = _values(circuit, 9, seed=0)
    program = CompiledCircuit.of(circuit).layered(x, w.requires_grad_(True), batch=9, dtype=torch.complex128, device="cpu")
    diagonals = [s for layer in program.layers for s in layer.steps if isinstance(s, Diagonal)]
    shared = [shared_by_batch(s) for s in diagonals]
    assert program.step_data().shape[0] == 9 and shared.count(False) == 1 and len(shared) == 7, shared


@needs_native
@pytest.mark.parametrize("batch", BATCHES[1:])
def test_native_and_reference_agree_and_the_shared_path_is_taken(batch):
    circuit = shared_circuit()
    x, w = _values(circuit, batch, seed=batch)
    results = []
    for executor in (NativeExecutor(), ReferenceExecutor()):
        xd, wd = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        out = outputs(executor, circuit, xd, wd)
        results.append([out.detach(), *torch.autograd.grad(loss(out), (wd, xd))])
    for got, ref in zip(*results):
        assert float((got - ref).abs().max()) < 1e-10
    program = CompiledCircuit.of(circuit).layered(x, w.requires_grad_(True), batch=batch, dtype=torch.complex128,
                                                  device="cpu")
    _, others = native_run._split(program)
    wanted = tuple(True for steps in others for s in steps if hasattr(s, "qubits"))
    table = native_run._tables(others, 4, wanted, torch.float64, program.structure).table
    starts = table[(table[:, 0] == 0) & (table[:, 13] == 1)]  # the first step of each run of diagonals
    assert starts[:, 12].tolist() == [0, -1], starts  # [RZZ, CRZ, CZ, CPhase] shared; [RZZ(x), CPhase, RZZ] not


@pytest.mark.parametrize("executor, batch", [(ReferenceExecutor(), BATCHES[0]), (ReferenceExecutor(), BATCHES[1]),
                                             pytest.param(NativeExecutor(), BATCHES[1], marks=needs_native)])
def test_gradients_equal_finite_differences(executor, batch):
    """The reference reads a shared step's ``(1, ...)`` view (row 0 of the packed data, where its
    gradient arrives); the native kernels read the packed ``(B, D)`` data."""
    circuit = shared_circuit()
    x, w = _values(circuit, batch, seed=7)
    f = lambda w, x: loss(outputs(executor, circuit, x, w))  # noqa: E731
    assert torch.autograd.gradcheck(f, (w.requires_grad_(True), x.requires_grad_(True)), atol=1e-7, nondet_tol=1e-12)
