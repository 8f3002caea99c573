"""Angle expressions over per-sample *inputs* and trainable *weights*.

A gate angle is a number or an :class:`Expr` built from :class:`Input` (column ``index`` of the
``(B, n_inputs)`` data), :class:`Weight` (a named trainable scalar) and numbers with ``+``,
``-``, ``*`` and ``/`` by numbers. Affine forms such as ``w * x + b`` (trainable
pre-processing, as in data re-uploading) are the common case.

>>> import torch
>>> angle = Weight("w") * Input(0) + Weight("b")
>>> angle
Weight('w') * Input(0) + Weight('b')
>>> angle.evaluate(torch.tensor([[1.0], [2.0]]), {"w": torch.tensor(3.0), "b": torch.tensor(0.5)})
tensor([3.5000, 6.5000])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Union

import torch

from ..checks import check_finite
from ..errors import ParameterError

Tensor = torch.Tensor
Param = Union[float, "Expr"]


class Expr:
    """Base of angle expressions; supports ``+ - *`` with expressions and numbers."""

    def evaluate(self, inputs: Tensor | None, weights: Mapping[str, Tensor]) -> Tensor | float:
        """Value for a batch: a ``(B,)`` tensor if it reads inputs, else a scalar."""
        raise NotImplementedError

    def input_indices(self) -> set[int]:
        """Input columns this expression reads."""
        return set()

    def weight_names(self) -> list[str]:
        """Weights this expression reads, in first-use order."""
        return []

    def __add__(self, other) -> Expr:
        return Sum((self, as_expr(other)))

    __radd__ = lambda self, other: Sum((as_expr(other), self))  # noqa: E731

    def __sub__(self, other) -> Expr:
        return Sum((self, -as_expr(other)))

    def __rsub__(self, other) -> Expr:
        return Sum((as_expr(other), -self))

    def __mul__(self, other) -> Expr:
        return Product((self, as_expr(other)))

    def __rmul__(self, other) -> Expr:
        return Product((as_expr(other), self))

    def __truediv__(self, other) -> Expr:
        if isinstance(other, Expr):
            raise ParameterError("angle expressions can only be divided by numbers")
        return Product((Const(1.0 / float(other)), self))

    def __neg__(self) -> Expr:
        return Product((Const(-1.0), self))


@dataclass(frozen=True, repr=False)
class Const(Expr):
    """A numeric constant."""

    value: float

    def evaluate(self, inputs, weights):
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, repr=False)
class Input(Expr):
    """Column ``index`` of the per-sample input batch ``(B, n_inputs)``."""

    index: int

    def __post_init__(self):
        if not isinstance(self.index, int) or self.index < 0:
            raise ParameterError(f"Input index must be a non-negative int, got {self.index!r}")

    def evaluate(self, inputs, weights):
        if inputs is None:
            raise ParameterError(f"the circuit reads Input({self.index}) but no inputs were given")
        return inputs[:, self.index]

    def input_indices(self) -> set[int]:
        return {self.index}

    def __repr__(self) -> str:
        return f"Input({self.index})"


@dataclass(frozen=True, repr=False)
class Weight(Expr):
    """A named trainable scalar."""

    name: str

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ParameterError(f"Weight name must be a non-empty string, got {self.name!r}")

    def evaluate(self, inputs, weights):
        try:
            return weights[self.name]
        except KeyError:
            raise ParameterError(f"no value given for weight {self.name!r}") from None

    def weight_names(self) -> list[str]:
        return [self.name]

    def __repr__(self) -> str:
        return f"Weight({self.name!r})"


@dataclass(frozen=True, repr=False)
class Sum(Expr):
    """Sum of expressions."""

    terms: tuple[Expr, ...]

    def evaluate(self, inputs, weights):
        return sum(t.evaluate(inputs, weights) for t in self.terms)

    def input_indices(self) -> set[int]:
        return set().union(*(t.input_indices() for t in self.terms))

    def weight_names(self) -> list[str]:
        return _ordered(t.weight_names() for t in self.terms)

    def __repr__(self) -> str:
        text = repr(self.terms[0])
        for t in self.terms[1:]:
            r = repr(t)
            text += f" - {r[7:]}" if r.startswith("-1.0 * ") else f" + {r}"
        return text


@dataclass(frozen=True, repr=False)
class Product(Expr):
    """Product of expressions."""

    factors: tuple[Expr, ...]

    def evaluate(self, inputs, weights):
        return math.prod((f.evaluate(inputs, weights) for f in self.factors), start=1.0)

    def input_indices(self) -> set[int]:
        return set().union(*(f.input_indices() for f in self.factors))

    def weight_names(self) -> list[str]:
        return _ordered(f.weight_names() for f in self.factors)

    def __repr__(self) -> str:
        return " * ".join(f"({r})" if isinstance(f, Sum) else r for f, r in ((f, repr(f)) for f in self.factors))


def _ordered(lists) -> list[str]:
    return list(dict.fromkeys(name for names in lists for name in names))


def as_expr(value) -> Expr:
    """Wrap numbers (and 0-d tensors without gradient) as :class:`Const`."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, torch.Tensor):
        if value.dim() != 0 or value.requires_grad:
            raise ParameterError(
                "circuit angles must be numbers or Input/Weight expressions; for per-sample or "
                "trainable angles use Input(i) or Weight(name) and pass the values when simulating"
            )
        value = value.item()
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"an angle must be a number or an expression, got {value!r}") from None
    check_finite(value, "an angle")
    return Const(value)


Monomial = tuple[float, tuple[str, ...], tuple[int, ...]]  # coefficient, weight names, input columns
BilinearTerm = tuple[float, Union[str, None], Union[int, None]]  # coefficient, weight name, input column


def monomials(param: Param) -> list[Monomial]:
    """A number or expression as a sum of monomials ``c * prod(weights) * prod(inputs)``.

    >>> monomials(2 * Weight("w") * Input(0) + 1)
    [(2.0, ('w',), (0,)), (1.0, (), ())]
    """
    expr = as_expr(param)
    if isinstance(expr, Const):
        return [(float(expr.value), (), ())]
    if isinstance(expr, Weight):
        return [(1.0, (expr.name,), ())]
    if isinstance(expr, Input):
        return [(1.0, (), (expr.index,))]
    if isinstance(expr, Sum):
        return [m for t in expr.terms for m in monomials(t)]
    if isinstance(expr, Product):
        out: list[Monomial] = [(1.0, (), ())]
        for factor in expr.factors:
            out = [(c1 * c2, w1 + w2, i1 + i2) for c1, w1, i1 in out for c2, w2, i2 in monomials(factor)]
        return out
    raise TypeError(f"not an angle expression: {expr!r}")  # pragma: no cover - every Expr is one of the above


def bilinear_terms(param: Param) -> list[BilinearTerm] | None:
    """A number or expression as a sum of ``c * weight * input`` terms (either factor may be
    absent: None), or None when a term multiplies two weights or two inputs.

    >>> bilinear_terms(0.5 * Weight("w") * Input(1) - Weight("b"))
    [(0.5, 'w', 1), (-1.0, 'b', None)]
    >>> print(bilinear_terms(Weight("a") * Weight("b")))
    None
    """
    out: list[BilinearTerm] = []
    for c, weights, inputs in monomials(param):
        if len(weights) > 1 or len(inputs) > 1:
            return None
        out.append((c, weights[0] if weights else None, inputs[0] if inputs else None))
    return out


def evaluate(param: Param, inputs: Tensor | None, weights: Mapping[str, Tensor]) -> Tensor | float:
    """Evaluate a number or expression."""
    return param.evaluate(inputs, weights) if isinstance(param, Expr) else float(param)
