"""The engine: where a compiled circuit meets the executors.

A :class:`~hybridq.sim.layers.Layered` program goes to an ordered list of executors (:data:`EXECUTORS`):
the fused Triton kernels on CUDA, the native C kernels on the CPU, then the torch reference,
which takes everything. The first that accepts the program runs it. Every entry point that
simulates a circuit (:func:`hybridq.simulate` and what builds on it: ``QuantumLayer``, kernels,
estimators) calls :func:`execute`, so a faster executor serves all of them at once.

An executor is any object with a ``name`` and ``run(program, state, method)`` returning the
output states ``(B, 2**n)`` (differentiable in the program's data and ``state``), or None to
decline. ``state`` is None for ``|0...0>``; ``method`` is ``"autograd"`` or ``"adjoint"``, a hint
for executors that have a choice.

>>> import torch
>>> from hybridq.sim.layers import Diagonal, Layer, Layered
>>> h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / 2**0.5
>>> z = torch.tensor([[1, 1, 1, -1]], dtype=torch.complex128)
>>> program = Layered(2, 1, torch.complex128, torch.device("cpu"), (Layer((0, 1), (Diagonal((0, 1), z),)),), h.expand(1, 1, 2, 2, 2))
>>> (execute(program) * 2).real.round().tolist()
[[1.0, 1.0, 1.0, -1.0]]
"""

from __future__ import annotations

import functools
import os
from typing import Literal, Protocol

import torch

from . import fused, layers, native_run
from .layers import Layered
from .program import Op, run_reference
from .state import zero_state

Tensor = torch.Tensor
Method = Literal["autograd", "adjoint"]


class Executor(Protocol):
    name: str

    def run(self, program: Layered, state: Tensor | None, method: Method) -> Tensor | None: ...


def execute(program: Layered, state: Tensor | None = None, *, method: Method = "autograd") -> Tensor:
    """The states after ``program`` from ``state`` ``(B or 1, 2**n)`` (None: ``|0...0>``), by the
    first executor of :data:`EXECUTORS` that accepts it; an empty batch gives ``(0, 2**n)``."""
    if program.batch == 0 or (state is not None and state.shape[0] == 0):
        return torch.empty(0, 2**program.n_qubits, dtype=program.dtype, device=program.device)
    for executor in EXECUTORS:
        out = executor.run(program, state, method)
        if out is not None:
            return out
    raise AssertionError("the reference executor accepts every program")  # pragma: no cover


def fused_enabled() -> bool:
    """Whether fused executors may run (``HYBRIDQ_FUSED=0`` turns them off: the reference runs all)."""
    return os.environ.get("HYBRIDQ_FUSED", "1") != "0"


class NativeExecutor:
    """The native C kernels (:mod:`hybridq.sim.native_run`): CPU, complex states."""

    name = "native"

    def run(self, program: Layered, state: Tensor | None, method: Method) -> Tensor | None:
        if not fused_enabled():
            return None
        return native_run.run_program(program, state)


class FusedOpsExecutor:
    """The fused kernels of gate-level programs (:func:`hybridq.sim.fused.run`: Triton on CUDA,
    or on any device in Triton's interpreter)."""

    name = "fused-ops"

    def run(self, program: Layered, state: Tensor | None, method: Method) -> Tensor | None:
        if not fused_enabled() or not fused.triton_runs(program.device) or program.dtype not in fused.DTYPES:
            return None
        state = start_state(program.n_qubits, program.dtype, program.device) if state is None else state
        if program.plain():  # the matrices as they are, no slices to stack
            return fused.run_layers(state, program.one_qubit(), program.final_permutations())
        return fused.run(state, to_ops(program))


@functools.lru_cache(maxsize=32)
def start_state(n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``|0...0>`` ``(1, 2**n)``, made once per size, dtype and device and shared by the executors
    (they only read it): a call allocates and fills nothing."""
    state = torch.zeros(1, 2**n, dtype=dtype, device=device)
    state[0, 0] = 1
    return state


class ReferenceExecutor:
    """Torch kernels, step by step (:mod:`hybridq.sim.kernels`): any program, any device and dtype."""

    name = "reference"

    def run(self, program: Layered, state: Tensor | None, method: Method) -> Tensor:
        if state is None:
            state = zero_state(program.n_qubits, 1, dtype=program.dtype, device=program.device)
        out = run_reference(state, to_ops(program), method=method)
        return out if out.shape[0] == program.batch else out.expand(program.batch, -1)


def to_ops(program: Layered) -> list[Op]:
    """The program as a list of :class:`~hybridq.sim.program.Op` (one per layer's one-qubit
    matrices and one per step), for the torch kernels."""
    n, out = program.n_qubits, []
    mats = program.one_qubit() if any(layer.one_qubit_on for layer in program.layers) else None
    for k, layer in enumerate(program.layers):
        on = layer.one_qubit_on
        if on:
            m = mats[:, k].index_select(1, _positions(on, mats.device)) if len(on) < n else mats[:, k]
            m = m[0] if m.shape[0] == 1 else m
            out.append(Op("dense", on, data=m[..., 0, :, :]) if len(on) == 1 else Op("kron", on, data=m))
        for step in layer.steps:
            out.append(_step_op(step, n))
    return out


@functools.lru_cache(maxsize=256)
def _positions(qubits: tuple[int, ...], device: torch.device) -> Tensor:
    """``qubits`` as an index tensor on ``device``, made once (a step then moves nothing to the device)."""
    return torch.tensor(qubits, device=device)


def _step_op(step: layers.Step, n: int) -> Op:
    if isinstance(step, layers.Permutation):
        return Op("permutation", tuple(range(n)), index=(step.index, step.inverse), real=True)
    if isinstance(step, layers.PairRotation):
        angles = step.angles[0] if step.angles.shape[0] == 1 else step.angles
        return Op("pair_rotation", (), data=angles, index=(step.x_index, step.y_index), phase=step.phase)
    data = step.values if isinstance(step, layers.Diagonal) else step.matrix
    data = data[0] if data.shape[0] == 1 else data
    if isinstance(step, layers.Diagonal):
        return Op("diagonal", step.qubits, data=data)
    return Op("dense", step.qubits, step.controls, step.control_values or None, data)



from .triton_layers import TritonExecutor  # noqa: E402  (it reads fused_enabled from here)

#: The executors, fastest first; the reference last (it accepts every program).
EXECUTORS: list[Executor] = [NativeExecutor(), TritonExecutor(), FusedOpsExecutor(), ReferenceExecutor()]
