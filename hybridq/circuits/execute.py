"""Running a :class:`Circuit` on the simulator: bind inputs and weights, compile, simulate.

>>> import torch
>>> from hybridq.circuits import Circuit, Input, Weight
>>> c = Circuit(1).ry(Weight("w") * Input(0), 0)
>>> psi = simulate(c, inputs=torch.tensor([[0.0], [1.0]]), weights={"w": torch.pi})
>>> psi.abs().square().round()
tensor([[1., 0.],
        [0., 1.]])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Mapping

import numpy as np
import torch

from ..checks import check_count, check_dtype, check_finite, under_torch_func
from ..errors import DTypeError, ParameterError, ShapeError
from ..sim.gates import GATES
from ..sim import ops as simops
from ..sim.engine import execute
from ..sim.fusion import fuse
from ..sim.program import Op, run
from ..sim.state import ALWAYS_FITS, available_memory, check_device, check_memory, zero_state
from .circuit import Circuit
from .compiled import CompiledCircuit
from .expr import evaluate

if TYPE_CHECKING:
    from ..sim.distributed import ShardedState

Tensor = torch.Tensor
Method = Literal["auto", "autograd", "adjoint"]


def weight_values(circuit: Circuit, weights) -> dict[str, Tensor]:
    """Map weight names to values from a flat tensor (``circuit.weight_names`` order) or a mapping."""
    names = circuit.weight_names
    if not names:
        return {}
    if weights is None:
        raise ParameterError(f"the circuit has {len(names)} weight(s) {names[:5]}... but no weights were given")
    if isinstance(weights, Mapping):
        missing = [w for w in names if w not in weights]
        if missing:
            raise ParameterError(f"no value given for weight(s) {missing}")
        unknown = [w for w in weights if w not in set(names)]
        if unknown:
            raise ParameterError(f"unknown weight(s) {unknown}; the circuit's weights are {names}")
        values = {k: v if isinstance(v, torch.Tensor) else _as_tensor(v, f"weight {k!r}", torch.float64)
                  for k, v in weights.items()}
        for k, v in values.items():
            if v.numel() != 1 or v.is_complex():
                raise ParameterError(f"weight {k!r} must be one real number, got a {v.dtype} tensor of shape {tuple(v.shape)}")
        return {k: v.reshape(()) for k, v in values.items()}
    w = _as_tensor(weights, "weights", torch.float64)
    if w.is_complex():
        raise DTypeError(f"weights must be real, got {w.dtype}")
    if w.dim() != 1 or w.shape[0] != len(names):
        raise ParameterError(f"weights must be a 1-D tensor of length {len(names)} (circuit.weight_names order), got shape {tuple(w.shape)}")
    return {name: w[i] for i, name in enumerate(names)}


def weight_vector(circuit: Circuit, weights, dtype: torch.dtype, device) -> Tensor:
    """The weights as one flat tensor in ``circuit.weight_names`` order (validated)."""
    names = circuit.weight_names
    if isinstance(weights, torch.Tensor) and weights.dim() == 1 and weights.shape[0] == len(names):
        return weights.to(device=device, dtype=dtype)
    values = weight_values(circuit, weights)
    if not names:
        return torch.zeros(0, dtype=dtype, device=device)
    return torch.stack([values[name].to(device=device, dtype=dtype) for name in names])


def checked_inputs(circuit: Circuit, inputs) -> Tensor | None:
    """``inputs`` as a real ``(B, k)`` tensor of finite values with at least the circuit's
    ``n_inputs`` columns (a 1-D vector is one sample), None when there are none.

    >>> from hybridq.circuits import Input
    >>> checked_inputs(Circuit(1).ry(Input(0), 0), [0.5]).shape
    torch.Size([1, 1])
    """
    need = circuit.n_inputs
    if inputs is None:
        if need:
            raise ParameterError(f"the circuit reads {need} input(s) but no inputs were given; pass a (B, {need}) tensor")
        return None
    x = _as_tensor(inputs, "inputs")
    if x.is_complex():
        raise DTypeError(f"inputs must be real, got {x.dtype}; pass a float tensor (angles)")
    if x.dim() == 1:
        x = x.unsqueeze(0)
    if x.dim() != 2 or x.shape[1] < need:
        raise ShapeError(f"inputs must have shape (B, {need}) (at least {need} columns), got {tuple(torch.as_tensor(inputs).shape)}")
    check_finite(x, "inputs")
    return x


def _as_tensor(value, what: str, dtype: torch.dtype | None = None) -> Tensor:
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(value, dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ParameterError(f"{what} must be a tensor or an array of numbers, got {type(value).__name__}: {error}") from None


def _initial_state(state, n: int) -> Tensor | None:
    if state is None:
        return None
    s0 = _as_tensor(state, "initial_state")
    if s0.dim() not in (1, 2) or s0.shape[-1] != 2**n:
        raise ShapeError(f"initial_state must have shape (B, {2**n}) or ({2**n},) for the circuit's {n} qubits, "
                         f"got {tuple(s0.shape)}")
    check_dtype(s0.dtype, "initial_state dtype")
    check_finite(s0, "initial_state")
    return s0 if s0.dim() == 2 else s0.reshape(1, -1)


def _empty_batch(n: int, dtype: torch.dtype, device, weights: list[Tensor]) -> Tensor:
    """The ``(0, 2**n)`` states of an empty batch, attached to the weights (a backward pass gives zeros)."""
    out = torch.zeros(0, 2**n, dtype=dtype, device=device)
    return out * sum(w.sum() for w in weights) if any(w.requires_grad for w in weights) else out


def _check_real(circuit: Circuit, dtype: torch.dtype) -> None:
    """Refuse complex gates on a real dtype (their imaginary parts would be dropped)."""
    if dtype.is_complex:
        return
    for op in circuit.ops:
        spec = GATES.get(op.name)
        real = spec.real if spec is not None else op.name != "PauliRot" and not np.any(np.imag(op.matrix))
        if not real:
            raise DTypeError(f"gate {op.name} has complex entries and cannot act on a {dtype} state; "
                             "use a complex dtype (complex64 or complex128)")


def compile_ops(circuit: Circuit, inputs: Tensor | None, weights: Mapping[str, Tensor], *, batch: int,
                dtype: torch.dtype, device) -> list[Op]:
    """The simulator program of ``circuit`` with angles evaluated (differentiably)."""
    n = circuit.n_qubits
    out = []
    for op in circuit.ops:
        params = [evaluate(p, inputs, weights) for p in op.params]
        common = dict(n_qubits=n, batch=batch, controls=op.controls, dtype=dtype, device=device)
        if op.name == "Unitary" or op.name == "Diagonal":
            out.append(simops.matrix_op(op.matrix, op.qubits, diagonal=op.name == "Diagonal", check_unitary=False, **common))
        elif op.name == "PauliRot":
            out.append(simops.pauli_rotation_op(params[0], op.pauli, op.qubits, **common))
        else:
            out.append(simops.gate_op(op.name, op.qubits, params, **common))
    return out


def simulate(
    circuit: Circuit,
    inputs=None,
    weights=None,
    *,
    initial_state: Tensor | None = None,
    batch: int | None = None,
    dtype: torch.dtype | None = None,
    device=None,
    method: Method = "auto",
    fusion: bool = True,
) -> Tensor:
    """Simulate ``circuit`` and return the final states, shape ``(B, 2**n)``, differentiable.

    Args:
        circuit: the circuit.
        inputs: per-sample data ``(B, n_inputs)`` read by :class:`Input` angles.
        weights: a 1-D tensor in ``circuit.weight_names`` order, or a mapping name -> value.
        initial_state: ``(B, 2**n)`` or ``(2**n,)`` start states; defaults to ``|0...0>``.
        batch: batch size when neither inputs nor an initial state sets it. Defaults to 1.
        dtype: state dtype. Defaults to the initial state's, else complex64.
        device: defaults to the inputs' or initial state's device, else CPU.
        method: ``"autograd"``, ``"adjoint"`` (O(1) states in memory during backward) or
            ``"auto"``, which picks adjoint when autograd's stored states would not fit
            comfortably in memory. Defaults to auto.
        fusion: compile the circuit into a few batched, fused ops (:mod:`hybridq.circuits.compiled`,
            :mod:`hybridq.sim.fusion`); False applies the gates one by one. Defaults to True.

    Under ``torch.func`` transforms (``grad``, ``vmap``, ``jacrev`` of a function calling it) the
    gates run one by one on torch's own ops with autograd, whatever ``fusion`` and ``method`` say
    (``method="adjoint"`` raises there).
    """
    if method not in ("auto", "autograd", "adjoint"):
        raise ParameterError(f"method must be 'auto', 'autograd' or 'adjoint', got {method!r}")
    if _transformed(inputs, weights, initial_state):  # torch.func: the reference path, plain torch ops
        if method == "adjoint":
            raise ParameterError(
                "method='adjoint' runs a custom autograd function, which torch.func (grad, vmap, jacrev) cannot "
                "transform; use method='autograd' or 'auto' under torch.func, or method='adjoint' with "
                "loss.backward() and a batch of inputs instead of vmap"
            )
        fusion, method = False, "autograd"
    x = checked_inputs(circuit, inputs)
    n = circuit.n_qubits
    s0 = _initial_state(initial_state, n)
    if s0 is not None:
        dtype = dtype or s0.dtype
        device = device or s0.device
    device = check_device(device or (x.device if x is not None else "cpu"))
    dtype = check_dtype(dtype or torch.complex64)
    _check_real(circuit, dtype)
    b = [v for v in (x.shape[0] if x is not None else None, s0.shape[0] if s0 is not None else None,
                     None if batch is None else check_count(batch, "batch")) if v is not None]
    B = 0 if 0 in b else max([1] + b)
    if any(v not in (1, B) for v in b):
        raise ShapeError(f"inconsistent batch sizes: inputs / initial_state / batch give {b}")
    return evolve(circuit, s0, x, weights, batch=B, dtype=dtype, device=device, method=method, fusion=fusion)


def evolve(circuit: Circuit, state: Tensor | None, inputs: Tensor | None, weights, *, batch: int,
           dtype: torch.dtype, device, method: Method = "auto", fusion: bool = True) -> Tensor:
    """:func:`simulate`'s work after its checks of the arguments: the states ``(batch, 2**n)`` after
    ``circuit`` from ``state`` (``(batch or 1, 2**n)``, None: ``|0...0>``), with ``inputs`` a
    ``(batch or 1, k)`` real tensor or None. For callers whose states come from the engine
    (they are not checked again)."""
    n, B, x, s0 = circuit.n_qubits, batch, inputs, state
    itemsize = check_memory(n, B, dtype=dtype, device=device)
    rdt = simops.real_dtype(dtype)
    if x is not None and (x.dtype, x.device) != (rdt, device):
        x = x.to(device=device, dtype=rdt)
        check_finite(x, f"inputs in {rdt} (beyond its range: use dtype=torch.complex128)")
    plan = CompiledCircuit.of(circuit) if fusion else None
    layered = None
    if plan is not None and plan.ok:
        w = weight_vector(circuit, weights, rdt, device)
        check_finite(w, f"weights in {rdt}")
        if B == 0:
            return _empty_batch(n, dtype, device, [w])
        layered = plan.layered(x, w, batch=B, dtype=dtype, device=device)
    if layered is None:
        w = {k: v.to(device=device, dtype=rdt) for k, v in weight_values(circuit, weights).items()}
        for name, value in w.items():
            check_finite(value, f"weight {name!r} in {rdt}")
        if B == 0:
            return _empty_batch(n, dtype, device, list(w.values()))
        program = compile_ops(circuit, x, w, batch=B, dtype=dtype, device=device)
        if fusion:
            program = fuse(program, n, dtype=dtype, device=device)
    state = s0.to(device=device, dtype=dtype) if s0 is not None else None
    if method == "auto":
        count = len(program) if layered is None else layered.n_layers + layered.n_steps
        stored = (count + 2) * itemsize * 2
        method = "adjoint" if stored > ALWAYS_FITS and stored > 0.25 * available_memory(device) else "autograd"
    if layered is not None:
        out = execute(layered, state, method=method)
    else:
        state = zero_state(n, 1, dtype=dtype, device=device) if state is None else state
        out = run(state.expand(B, -1) if state.shape[0] != B and not program else state, program, method=method)
    return out if out.shape[0] == B else out.expand(B, -1)


def _transformed(inputs, weights, initial_state) -> bool:
    """Whether any of the tensors given is wrapped by a ``torch.func`` transform."""
    values = list(weights.values()) if isinstance(weights, Mapping) else [weights]
    return under_torch_func(inputs, initial_state, *values)


def simulate_sharded(circuit, inputs=None, weights=None, *, batch: int | None = None,
                     dtype: torch.dtype = torch.complex64, device=None, group=None) -> ShardedState:
    """Run a :class:`~hybridq.circuits.Circuit` from ``|0...0>`` on a state sharded over ``group``.

    Args:
        circuit: the circuit; angles may read ``inputs`` and ``weights`` as in :func:`hybridq.simulate`.
        inputs: per-sample data ``(B, n_inputs)``.
        weights: a 1-D tensor in ``circuit.weight_names`` order or a mapping name -> value.
        batch: batch size when there are no inputs. Defaults to 1 (or the inputs' rows).
        dtype: state dtype. Defaults to complex64.
        device: the shard's device. Defaults to the current CUDA device with NCCL, else CPU.
        group: the process group. Defaults to the default group.
    """
    from ..sim.distributed import ShardedState, default_device  # torch.distributed only when used

    device = default_device(group) if device is None else torch.device(device)
    rdt = simops.real_dtype(dtype)
    x = None if inputs is None else torch.as_tensor(inputs).to(device=device, dtype=rdt)
    if x is not None and x.dim() == 1:
        x = x.unsqueeze(0)
    w = {k: v.to(device=device, dtype=rdt) for k, v in weight_values(circuit, weights).items()}
    b = x.shape[0] if x is not None else (batch or 1)
    ops = compile_ops(circuit, x, w, batch=b, dtype=dtype, device=device)
    state = ShardedState.zero(circuit.n_qubits, batch=b, dtype=dtype, device=device, group=group)
    state.run(ops)
    return state
