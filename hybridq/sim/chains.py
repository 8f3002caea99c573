"""Products of parametrised one-qubit gates in one native call, forward and backward.

A compiled layered circuit needs, per sample, the product of every qubit's chain of one-qubit
gates in every layer, with angles that are sums of monomials ``coef * weight * input``. As
tensor ops that is a few dozen small kernels forward and as many backward: on a 10-qubit
training step with a batch of 256, more time than the state arithmetic. Here the angles, the
gate matrices and their products are one call of ``chains.c`` and the backward another.

A gate qualifies when its matrix is in trigonometric form ``A + cos(k t) C + sin(k t) S``
(:func:`trig_form`: rotations, phase gates, fixed gates); other circuits keep the tensor ops.

>>> import torch
>>> k, A, C, S = trig_form("RY")
>>> k, C.real.tolist()
(0.5, [[1.0, 0.0], [0.0, 1.0]])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch.autograd.function import once_differentiable

from . import native
from .gates import GATES

Tensor = torch.Tensor

#: Samples per vector in ``chains.c``.
LANES = 16


def _matrix(name: str, theta: float) -> Tensor:
    spec = GATES[name]
    data = spec.build([torch.tensor(theta, dtype=torch.float64)], torch.complex128, None)
    return torch.diag_embed(data) if spec.kind == "diagonal" else data


@lru_cache(maxsize=None)
def trig_form(name: str) -> tuple[float, Tensor, Tensor, Tensor] | None:
    """``(k, A, C, S)`` with ``gate(t) = A + cos(k t) C + sin(k t) S`` for a one-angle
    one-qubit gate, or None when it has no such form. Found from the gate's matrices at a few
    angles and checked at others."""
    spec = GATES.get(name)
    if spec is None or spec.n_qubits != 1 or spec.n_params != 1 or spec.builder is None:
        return None
    for k in (0.5, 1.0):
        at = lambda t: _matrix(name, t / k)  # noqa: E731 - the matrix at angle t of the form
        A = (at(0.0) + at(math.pi)) / 2
        C = (at(0.0) - at(math.pi)) / 2
        S = at(math.pi / 2) - A
        if all(torch.allclose(_matrix(name, t), A + math.cos(k * t) * C + math.sin(k * t) * S, atol=1e-12)
               for t in (0.3, -1.7, 2.9)):
            return k, A, C, S
    return None


@dataclass(frozen=True)
class ChainPlan:
    """What :func:`chain_products` computes, as flat tables (see ``chains.c``).

    Attributes:
        slot, coef, weight, input: the monomials: angle slot ``slot[m]`` gets
            ``coef[m] * w[weight[m]] * x[:, input[m]]`` (an index of -1 stands for 1).
        forms: ``(slots, 25)``, of the weights' dtype: ``k`` and the real views of ``A``, ``C``, ``S`` per slot.
        chains: ``(rows, length)`` int32: each chain's slots in time order, -1 padded.
        reads_inputs: whether any monomial reads an input.
    """

    slot: Tensor
    coef: Tensor
    weight: Tensor
    input: Tensor
    forms: Tensor
    chains: Tensor
    reads_inputs: bool

    @staticmethod
    def form_row(k: float, A: Tensor, C: Tensor, S: Tensor) -> Tensor:
        """One row of ``forms`` (float64): ``k`` then ``A``, ``C``, ``S`` as interleaved reals."""
        return torch.cat([torch.tensor([k], dtype=torch.float64)]
                         + [torch.view_as_real(m.to(torch.complex128)).flatten() for m in (A, C, S)])


def available(device: torch.device) -> bool:
    """Whether :func:`chain_products` runs here: a CPU with the native kernels, outside tracing."""
    return device.type == "cpu" and not torch.compiler.is_compiling() and native.library() is not None


def chain_products(weights: Tensor, inputs: Tensor | None, plan: ChainPlan, dtype: torch.dtype) -> Tensor:
    """``(B', rows, 2, 2)`` chain products of ``dtype`` (B' the inputs' batch, or 1 without
    inputs), differentiable in ``weights`` (1-D) and ``inputs`` ``(B, columns)``; the plan's
    tables are of the real dtype of ``dtype``."""
    real = dtype.to_real()
    inputs = inputs.to(real) if inputs is not None and plan.reads_inputs else None
    return _ChainProducts.apply(weights.to(real), inputs, plan, dtype)


def _args(weights: Tensor, inputs: Tensor | None, plan: ChainPlan) -> list:
    batch, cols = (1, 0) if inputs is None else inputs.shape
    rows, length = plan.chains.shape
    return [weights.data_ptr(), None if inputs is None else inputs.data_ptr(), batch, cols, plan.slot.numel(),
            plan.slot.data_ptr(), plan.coef.data_ptr(), plan.weight.data_ptr(), plan.input.data_ptr(),
            plan.forms.shape[0], plan.forms.data_ptr(), plan.chains.data_ptr(), rows, length]


def products(weights: Tensor, inputs: Tensor | None, plan: ChainPlan, lanes: bool = False) -> tuple[Tensor, Tensor]:
    """The chain products ``(B', rows, 2, 2)`` (complex) of contiguous ``weights`` and ``inputs``
    of the plan's real dtype, and the sines and cosines :func:`products_backward` reads. With
    ``lanes``, the products in the fused kernels' lane blocks: ``(blocks, rows, 8, LANES)`` reals
    (see ``chains.c``)."""
    real = weights.dtype
    batch = 1 if inputs is None else inputs.shape[0]
    blocks, rows = -(-batch // LANES), plan.chains.shape[0]
    trig = torch.empty(blocks, plan.forms.shape[0], 2, LANES, dtype=real)
    out = torch.empty(blocks, rows, 8, LANES, dtype=real) if lanes else torch.empty(batch, rows, 2, 2, dtype=real.to_complex())
    if batch == 0:  # an empty batch: nothing to compute (the kernel takes no empty tensors)
        return out, trig
    native.kernel("chain_products", real)(*_args(weights, inputs, plan), trig.data_ptr(), out.data_ptr(), lanes,
                                          torch.get_num_threads())
    return out, trig


def products_backward(weights: Tensor, inputs: Tensor | None, plan: ChainPlan, trig: Tensor, grad: Tensor,
                      input_grad: bool, lanes: bool = False) -> tuple[Tensor, Tensor | None]:
    """``dL/dweights`` and (when ``input_grad``) ``dL/dinputs`` from ``dL/d(products)`` ``grad``
    (in lane blocks with ``lanes``), after :func:`products`."""
    grad = grad.contiguous() if lanes else torch.view_as_real(grad.to(weights.dtype.to_complex()).contiguous())
    grad_w = torch.zeros_like(weights)
    grad_x = torch.zeros_like(inputs) if inputs is not None and input_grad else None
    if inputs is not None and inputs.shape[0] == 0:  # an empty batch: zero gradients, no kernel
        return grad_w, grad_x
    native.kernel("chain_products_backward", weights.dtype)(
        *_args(weights, inputs, plan), trig.data_ptr(), grad.data_ptr(), lanes, grad_w.data_ptr(),
        None if grad_x is None else grad_x.data_ptr(), torch.get_num_threads())
    return grad_w, grad_x


class _ChainProducts(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weights, inputs, plan, dtype):
        weights = weights.detach().contiguous()
        inputs = None if inputs is None else inputs.detach().contiguous()
        out, trig = products(weights, inputs, plan)
        ctx.plan = plan
        ctx.save_for_backward(weights, inputs, trig)
        return out if dtype.is_complex else out.real.contiguous()  # real circuits on a real dtype

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        weights, inputs, trig = ctx.saved_tensors
        return *products_backward(weights, inputs, ctx.plan, trig, grad, ctx.needs_input_grad[1]), None, None
