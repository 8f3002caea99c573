"""The edge cases of :mod:`test_edge_crosscheck` on the Triton executors, in Triton's interpreter.

Without a GPU, Triton's interpreter (``TRITON_INTERPRET=1``, read when Triton is imported: so
in a child process) runs both Triton executors' kernels on the CPU: the op-list kernels of
plain layered programs (:func:`hybridq.sim.fused.run`, the engine's ``fused-ops``) and the
step-table kernels of programs with diagonal and controlled steps
(:mod:`hybridq.sim.triton_layers`). The child's engine has no native executor, so every program
is offered to them first. Each case matches the dense reference of ``test_edge_crosscheck``;
the launches of each kernel are counted, so a case also fails when the path it is about was
not taken, and the guards' cases (an empty batch, real or unsupported dtypes, one qubit, more
qubits than the kernels hold) must launch no kernel at all and still give the right result or
a clear error.

What the interpreter cannot show: register pressure, warp counts, CUDA graphs (QuantumLayer
replays them on a GPU only) and a GPU's memory errors (an out-of-bounds read shows here only
when it leaves the process's memory, as the empty batch's did; so every launch's grid is
checked, and guarded inputs must launch nothing). On a GPU the same cases run compiled
(``cuda`` marker).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import traceback
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch

import hybridq as hq
from hybridq.errors import DTypeError

from .test_edge_crosscheck import circuit, dense, layout

N = 4
#: The path each case is about -> whether its circuit has steps besides the CNOT ring (the
#: op-list kernels take plain layers only; the step-table kernels leave plain layers to them).
PATHS = {"fused-ops": False, "triton-layers": True}
#: The Triton kernels, by path (the chunked ones of 14-18 qubits are left to test_fused).
KERNELS = {"fused-ops": ("_forward_kernel", "_backward_kernel", "_chunk_forward_kernel", "_chunk_adjoint_kernel"),
           "triton-layers": ("_forward_kernel", "_backward_kernel")}


@dataclass
class Run:
    """Where the cases run, and the kernel launches of the current case: ``(path.kernel, grid)``."""

    device: torch.device
    launches: list[tuple[str, tuple]]

    def of(self, path: str) -> list[str]:
        """The kernels ``path`` launched (each launch had a non-empty grid)."""
        assert all(all(g > 0 for g in grid) for _, grid in self.launches), f"a launch with an empty grid: {self.launches}"
        return [name for name, _ in self.launches if name.startswith(path)]


def counted_launches() -> list[tuple[str, tuple]]:
    """Wrap every Triton kernel of both executors so that each launch is recorded as
    ``(path.kernel, grid)``; returns the (shared) record."""
    from hybridq.sim import fused, triton_layers

    record: list[tuple[str, tuple]] = []

    class Counted:
        def __init__(self, name, kernel):
            self.name, self.kernel = name, kernel

        def __getitem__(self, grid):
            record.append((self.name, tuple(grid)))
            return self.kernel[grid]

    for (path, names), module in zip(KERNELS.items(), (fused, triton_layers)):
        for name in names:
            setattr(module, name, Counted(f"{path}.{name}", getattr(module, name)))
    return record


def inputs(run: Run, c, batch: int, how: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``(batch, n)`` laid out as ``how`` says, and weights, in ``dtype``'s real precision."""
    rdt = dtype.to_real() if dtype.is_complex else dtype
    g = torch.Generator().manual_seed(batch)
    x = layout((torch.rand(batch, c.n_qubits, generator=g, dtype=torch.float64) * 4 - 2).to(run.device, rdt), how)
    w = (torch.rand(len(c.weight_names), generator=g, dtype=torch.float64) * 3).to(run.device, rdt)
    return x, (w.repeat_interleave(2)[::2] if how == "strided" else w)


def expect_close(state: torch.Tensor, c, x, w, start=None) -> None:
    expected = dense(c, x.double().cpu().numpy(), dict(zip(c.weight_names, w.double().tolist())),
                     None if start is None else start.detach().to(torch.complex128).cpu().numpy())
    tol = 2e-5 if state.dtype in (torch.complex64, torch.float32) else 1e-12
    np.testing.assert_allclose(state.detach().to(torch.complex128).cpu().numpy(), expected, atol=tol)


def states(run: Run, path: str, batch: int, how: str, dtype: torch.dtype) -> None:
    """Batch 1 and odd batches, laid-out inputs and weights, complex and real dtypes."""
    c = circuit(not dtype.is_complex, N, steps=PATHS[path])
    x, w = inputs(run, c, batch, how, dtype)
    state = hq.simulate(c, x, w, dtype=dtype)
    assert state.shape == (batch, 2**N) and state.dtype == dtype and state.device == run.device
    expect_close(state, c, x, w)
    wanted = [f"{path}._forward_kernel"] if dtype.is_complex else []  # real dtypes: declined, the reference runs
    assert run.of("") == wanted, run.launches
    assert not dtype.is_complex or run.launches[0][1] == (batch,), run.launches


def initial_states(run: Run, path: str, how: str) -> None:
    """Start states laid out as ``how`` says (one row broadcast to the batch included)."""
    c = circuit(False, N, steps=PATHS[path])
    x, w = inputs(run, c, 3, "contiguous", torch.complex128)
    g = torch.Generator().manual_seed(5)
    rows = 1 if how == "one row" else 3
    psi = torch.randn(rows, 2 * 2**N, generator=g, dtype=torch.complex128)
    psi = (psi / psi.norm(dim=1, keepdim=True)).to(run.device)
    start = {"strided": psi[:, ::2], "transposed": psi[:, :2**N].T.contiguous().T,
             "expanded": psi[:1, :2**N].expand(3, -1), "one row": psi[:, :2**N]}[how]
    state = hq.simulate(c, x, w, initial_state=start)
    expect_close(state, c, x, w, start)
    assert run.of(path) == [f"{path}._forward_kernel"], run.launches


def gradients(run: Run, path: str, dtype: torch.dtype) -> None:
    """A layer's weight and input gradients (the adjoint kernel) equal the reference executor's."""
    from hybridq.sim import engine

    c = circuit(False, N, steps=PATHS[path])
    x = torch.rand(5, N, generator=torch.Generator().manual_seed(3), dtype=dtype)
    x = layout(x.to(run.device), "transposed")
    found, executors = [], list(engine.EXECUTORS)
    for chosen in (executors, executors[-1:]):
        engine.EXECUTORS[:] = chosen
        torch.manual_seed(0)
        layer = hq.nn.QuantumLayer(c, dtype=dtype, device=run.device)
        xi = x.clone().requires_grad_(True)
        layer(xi).square().sum().backward()
        found.append((layer.weight.grad, xi.grad))
    engine.EXECUTORS[:] = executors
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    for a, b in zip(*found):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)
    assert set(run.of(path)) == {f"{path}._forward_kernel", f"{path}._backward_kernel"}, run.launches  # CUDA graphs replay


def empty_batch(run: Run, path: str) -> None:
    """An empty batch: simulate, a layer and its backward, and each executor given an empty
    program directly launch nothing and give ``(0, ...)`` results (or decline)."""
    from hybridq.circuits.compiled import CompiledCircuit
    from hybridq.sim import engine, fused

    c = circuit(False, N, steps=PATHS[path])
    x, w = inputs(run, c, 3, "contiguous", torch.complex64)
    assert hq.simulate(c, x[:0], w).shape == (0, 2**N)
    assert hq.simulate(c, x[:0], w, initial_state=hq.sim.zero_state(N, device=run.device)).shape == (0, 2**N)
    layer = hq.nn.QuantumLayer(c, device=run.device)
    out = layer(x[:0].requires_grad_(True))
    assert out.shape == (0, N)
    out.sum().backward()
    assert layer.weight.grad is not None and not layer.weight.grad.any()
    program = CompiledCircuit.of(c).layered(x[:0], w, batch=0, dtype=torch.complex64, device=run.device)
    for executor in engine.EXECUTORS[:-1]:
        got = executor.run(program, None, "adjoint")
        assert got is None or got.shape == (0, 2**N), (executor.name, got.shape)
    ops = engine.to_ops(program)
    one = hq.sim.zero_state(N, 1, device=run.device)
    for start in (one, one[:0]):  # data of an empty batch, a state of one sample or of none
        got = fused.run(start, ops)
        assert got is None or got.shape == (0, 2**N), got.shape
    assert run.launches == [], run.launches


def unsupported_dtypes(run: Run, path: str) -> None:
    """Half precision is refused at the API and declined by the executors, before any launch."""
    from hybridq.sim import engine, fused
    from hybridq.sim.layers import Diagonal, Layer, Layered

    c = circuit(False, N, steps=PATHS[path])
    x, w = inputs(run, c, 3, "contiguous", torch.complex64)
    for dtype in (torch.complex32, torch.float16, torch.bfloat16):
        with pytest.raises(DTypeError):
            hq.simulate(c, x, w, dtype=dtype)
        with pytest.raises(DTypeError):
            hq.simulate(c, x, w, initial_state=torch.ones(1, 2**N, device=run.device).to(dtype))
    half = torch.complex32
    z = torch.tensor([[1, 1, 1, -1]], device=run.device).to(half)
    program = Layered(2, 1, half, run.device, (Layer((), (Diagonal((0, 1), z),)),))
    for executor in engine.EXECUTORS[:-1]:
        assert executor.run(program, None, "adjoint") is None, executor.name
    kron = hq.sim.Op("kron", (0, 1), data=torch.eye(2, device=run.device).expand(2, 2, 2).to(half))
    assert fused.run(torch.ones(1, 4, device=run.device).to(half), [kron]) is None
    assert run.launches == [], run.launches


def qubit_counts(run: Run, path: str) -> None:
    """One qubit, and one more than the path's kernels hold: declined (no launch), still right."""
    from hybridq.circuits import Circuit, Input, Weight
    from hybridq.sim import fused, triton_layers

    one = Circuit(1).ry(Weight("a") * Input(0), 0).rx(Weight("b"), 0)
    x, w = inputs(run, one, 3, "transposed", torch.complex64)
    expect_close(hq.simulate(one, x, w), one, x, w)
    n = {"fused-ops": fused.MAX_CHUNKED_QUBITS, "triton-layers": triton_layers.MAX_QUBITS}[path] + 1
    c = circuit(False, n, steps=PATHS[path])
    x, w = inputs(run, c, 1, "contiguous", torch.complex128)
    expect_close(hq.simulate(c, x, w, dtype=torch.complex128), c, x, w)
    assert run.launches == [], run.launches


def cases() -> dict[str, Callable[[Run], None]]:
    """Every case, by name: a handful per edge kind and path (the interpreter is slow)."""
    out = {}
    for path in PATHS:
        for batch, how, dtype in [(1, "contiguous", torch.complex64), (3, "transposed", torch.complex128),
                                  (7, "strided", torch.complex64), (3, "expanded", torch.complex128),
                                  (7, "contiguous", torch.float32), (3, "strided", torch.float64)]:
            out[f"states {path} batch={batch} {how} {dtype}"] = lambda r, a=(path, batch, how, dtype): states(r, *a)
        for how in ("strided", "transposed", "expanded", "one row"):
            out[f"initial state {path} {how}"] = lambda r, a=(path, how): initial_states(r, *a)
        for dtype in (torch.float32, torch.float64):
            out[f"gradients {path} {dtype}"] = lambda r, a=(path, dtype): gradients(r, *a)
        for kind in (empty_batch, unsupported_dtypes, qubit_counts):
            out[f"{kind.__name__.replace('_', ' ')} {path}"] = lambda r, f=kind, p=path: f(r, p)
    return out


def run_all(device: str = "cpu") -> dict[str, str]:
    """Every case on ``device`` (the CPU: in Triton's interpreter), with the engine's native
    executor left out: name -> "ok" or what went wrong."""
    from hybridq.sim import engine, fused

    assert device == "cuda" or fused._INTERPRETED, "run with TRITON_INTERPRET=1 (read when Triton is imported)"
    executors = list(engine.EXECUTORS)
    engine.EXECUTORS[:] = [e for e in executors if e.name != "native"]
    device = torch.empty(0, device=device).device  # "cuda" -> "cuda:0", as tensors report it
    run, results = Run(device, counted_launches()), {}
    try:
        for name, case in cases().items():
            run.launches.clear()
            try:
                case(run)
                results[name] = "ok"
            except Exception:  # every failure is reported, by case
                results[name] = traceback.format_exc(limit=-3)
    finally:
        engine.EXECUTORS[:] = executors
    return results


@pytest.fixture(scope="module")
def interpreted() -> dict[str, str]:
    """The results of every case, run once in a child process under Triton's interpreter."""
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {os.path.dirname(os.path.dirname(__file__))!r})
        from robustness import test_edge_triton as t
        print("RESULTS" + json.dumps(t.run_all()))
    """)
    env = dict(os.environ, TRITON_INTERPRET="1", HYBRIDQ_FUSED="1")
    out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0 and "RESULTS" in out.stdout, f"the child exited with {out.returncode}:\n{out.stderr[-3000:]}"
    return json.loads(out.stdout.split("RESULTS", 1)[1])


KINDS = ["states", "initial state", "gradients", "empty batch", "unsupported dtypes", "qubit counts"]


def failures(results: dict[str, str], kind: str) -> str:
    assert any(name.startswith(kind) for name in results)
    return "\n\n".join(f"{name}:\n{why}" for name, why in results.items() if name.startswith(kind) and why != "ok")


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton not installed (it comes with CUDA builds of torch)")
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU runs the compiled kernels (the cuda test below)")
@pytest.mark.parametrize("kind", KINDS)
def test_triton_executors_in_the_interpreter(interpreted, kind):
    assert not failures(interpreted, kind)


@pytest.fixture(scope="module")
def on_gpu() -> dict[str, str]:
    return run_all("cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("kind", KINDS)
def test_triton_executors_on_gpu(on_gpu, kind):
    assert not failures(on_gpu, kind)
