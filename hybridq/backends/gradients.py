"""Differentiable expectations on any backend: parameter-shift gradients.

:func:`expectation` evaluates ``<P_t>`` for every sample of an input batch on a backend (exact
or from shots) and differentiates it by the parameter-shift rule, so that shot-based backends
can be trained with torch. Each angle that reads inputs or weights is shifted on its own gate:

The rules are the gates' own (:data:`~hybridq.sim.gates.GATES` records):

* two-term rule, ``f'(t) = [f(t + pi/2) - f(t - pi/2)] / 2``, for gates ``exp(-i t G / 2)``
  whose generator has eigenvalues +-1 (RX, RY, RZ, RXX, RYY, RZZ, PauliRot) and for phase
  gates (PhaseShift, and the phi, lambda angles of U3 = P(phi) RY(theta) P(lambda)), with or
  without controls;
* four-term rule (Anselmetti et al., 2021) for controlled rotations, whose generator has
  eigenvalues 0 and +-1/2: ``f'(t) = d+ [f(t + pi/2) - f(t - pi/2)] - d- [f(t + 3pi/2) - f(t - 3pi/2)]``,
  ``d+- = (sqrt 2 +- 1) / (4 sqrt 2)``.

Angles that are expressions of inputs and weights (``w * x + b``) are handled by the chain rule:
torch differentiates the angle expressions, the shift rule the circuit. All shifted circuits
of a backward pass go to the backend in one call (cut into jobs by its policy).

>>> import torch
>>> from hybridq.circuits import Circuit, Weight
>>> from hybridq.operators import PauliSum
>>> w = torch.tensor([0.3], requires_grad=True)
>>> e = expectation(Circuit(1).ry(Weight("a"), 0), None, w, PauliSum.from_list([("Z", 1.0)]), "local")
>>> e.sum().backward(); round(w.grad.item(), 4)  # d cos(a) / da
-0.2955
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..circuits.circuit import Circuit, Operation
from ..circuits.execute import weight_values
from ..circuits.expr import Expr, evaluate
from ..errors import ParameterError, ShapeError
from ..sim.gates import FOUR_TERM, GATES, TWO_TERM, ShiftRule
from .base import Backend

Tensor = torch.Tensor


def shift_rule(op: Operation, index: int = 0) -> ShiftRule:
    """The shift rule of angle ``index`` of ``op``.

    >>> shift_rule(Operation("RX", (1,), (0.1,), (0,))) == FOUR_TERM
    True
    """
    if op.name in ("Unitary", "Diagonal") or not 0 <= index < len(op.params):
        raise ParameterError(f"{op.name} has no angle {index}")
    if op.name == "PauliRot":  # exp(-i t P / 2): a rotation
        return FOUR_TERM if op.controls else TWO_TERM
    spec = GATES[op.name]
    return (spec.controlled_shift if op.controls else spec.shift)[index]


class _Program:
    """A circuit's trainable angles ("slots") and how to bind them into numeric circuits."""

    def __init__(self, circuit: Circuit):
        self.circuit = circuit
        self.slots: list[tuple[int, int]] = []
        self.rules: list[ShiftRule] = []
        self.template: list[Operation] = []
        for i, op in enumerate(circuit.ops):
            params = []
            for j, p in enumerate(op.params):
                if isinstance(p, Expr) and (p.input_indices() or p.weight_names()):
                    self.slots.append((i, j))
                    self.rules.append(shift_rule(op, j))
                    params.append(p)
                else:
                    params.append(float(evaluate(p, None, {})))
            self.template.append(replace(op, params=tuple(params)))

    def angles(self, inputs: Tensor | None, weights: Tensor, batch: int) -> Tensor:
        """Slot angles ``(B, G)``, differentiable in inputs and weights."""
        w = weight_values(self.circuit, weights)
        cols = [torch.as_tensor(evaluate(self.circuit.ops[i].params[j], inputs, w), dtype=weights.dtype)
                for i, j in self.slots]
        if not cols:
            return weights.new_zeros(batch, 0)
        return torch.stack([c.expand(batch) if c.dim() == 0 else c for c in cols], dim=1)

    def bind(self, angles: np.ndarray) -> Circuit:
        """The numeric circuit for one row of slot angles."""
        ops = list(self.template)
        for (i, j), value in zip(self.slots, angles):
            params = list(ops[i].params)
            params[j] = float(value)
            ops[i] = replace(ops[i], params=tuple(params))
        out = Circuit(self.circuit.n_qubits)
        out.ops = ops
        return out


class _Expectation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs, weights, run):
        with torch.no_grad():
            angles = run.program.angles(inputs, weights, run.batch).detach().cpu().double().numpy()
        ctx.run = run
        ctx.save_for_backward(inputs, weights)
        values = run.evaluate([run.program.bind(a) for a in angles])
        return torch.as_tensor(values, dtype=weights.dtype, device=weights.device)

    @staticmethod
    def backward(ctx, grad_out):
        inputs, weights = ctx.saved_tensors
        run = ctx.run
        program = run.program
        with torch.enable_grad():
            x = None if inputs is None else inputs.detach().requires_grad_(ctx.needs_input_grad[0])
            w = weights.detach().requires_grad_(ctx.needs_input_grad[1])
            angles = program.angles(x, w, run.batch)
        numeric = angles.detach().cpu().double().numpy()
        circuits, where = [], []
        for b, row in enumerate(numeric):
            for g, rule in enumerate(program.rules):
                for shift, coeff in zip(rule.shifts, rule.coeffs):
                    shifted = row.copy()
                    shifted[g] += shift
                    circuits.append(program.bind(shifted))
                    where.append((b, g, coeff))
        d_angles = np.zeros(numeric.shape + (grad_out.shape[1],))
        if circuits:
            values = run.evaluate(circuits, backward=True)
            for (b, g, coeff), v in zip(where, values):
                d_angles[b, g] += coeff * v
        g_theta = torch.einsum("bgt,bt->bg", torch.as_tensor(d_angles, dtype=grad_out.dtype, device=grad_out.device),
                               grad_out)
        wanted = [t for t in (x, w) if t is not None and t.requires_grad]
        grads = iter(torch.autograd.grad(angles, wanted, g_theta, allow_unused=True) if wanted and angles.requires_grad
                     else [None] * len(wanted))
        gx = next(grads) if x is not None and x.requires_grad else None
        gw = next(grads) if w.requires_grad else None
        if gw is None and ctx.needs_input_grad[1]:
            gw = torch.zeros_like(weights)
        if gx is None and inputs is not None and ctx.needs_input_grad[0]:
            gx = torch.zeros_like(inputs)
        return gx, gw, None


@dataclass
class _Run:
    program: _Program
    observable: object
    backend: Backend
    shots: int | None
    seed: int | None
    batch: int

    def evaluate(self, circuits: list[Circuit], backward: bool = False) -> np.ndarray:
        seed = None if self.seed is None else self.seed + (1 if backward else 0)
        return self.backend.expectations(circuits, self.observable, shots=self.shots, seed=seed)


def expectation(circuit: Circuit, inputs: Tensor | None, weights: Tensor, observable, backend="local",
                shots: int | None = None, *, seed: int | None = None) -> Tensor:
    """``<P_t>`` of each term of ``observable`` for each input row, differentiable by parameter shift.

    Args:
        circuit: a circuit with :class:`~hybridq.Input` and :class:`~hybridq.Weight` angles.
        inputs: ``(B, n_inputs)`` data (None if the circuit reads none).
        weights: flat weights in ``circuit.weight_names`` order.
        observable: a :class:`~hybridq.operators.PauliSum`; coefficients are not applied.
        backend: a :class:`Backend` or a name for :func:`~hybridq.backends.get_backend`.
        shots: shots per circuit and measurement basis; None for exact values (and exact
            shift-rule gradients) on backends that can.
        seed: seed of the forward pass (the backward pass uses ``seed + 1``).

    Returns:
        ``(B, T)`` in the weights' dtype (``B = 1`` without inputs).
    """
    from .factory import get_backend

    backend = get_backend(backend)
    if not isinstance(weights, Tensor):
        weights = torch.as_tensor(weights, dtype=torch.float64)
    if weights.dim() != 1:
        raise ShapeError(f"weights must be a flat tensor in circuit.weight_names order, got shape {tuple(weights.shape)}")
    if inputs is not None:
        inputs = torch.as_tensor(inputs)
        inputs = inputs.unsqueeze(0) if inputs.dim() == 1 else inputs
        if inputs.dim() != 2 or inputs.shape[1] < circuit.n_inputs:
            raise ShapeError(f"inputs must have shape (B, {circuit.n_inputs}), got {tuple(inputs.shape)}")
    elif circuit.n_inputs:
        raise ParameterError(f"the circuit reads {circuit.n_inputs} input(s) but no inputs were given")
    batch = inputs.shape[0] if inputs is not None else 1
    run = _Run(_Program(circuit), observable, backend, shots, seed, batch)
    return _Expectation.apply(inputs, weights, run)
