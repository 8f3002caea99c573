"""Checks made at the public entry points before any work: dtypes, finite values, counts.

One rule each, used by every entry point that needs it:

* :func:`check_dtype`: a state dtype the engine supports (:data:`STATE_DTYPES`);
* :func:`check_finite`: no NaN or infinity in inputs, weights, angles or states, unless
  non-finite values are allowed (:func:`nonfinite_allowed`, or the environment variable
  ``HYBRIDQ_ALLOW_NONFINITE=1``) by a user who wants NaN to propagate;
* :func:`check_count`: a positive integer (shots, batch sizes);
* :func:`check_fraction`: a number in ``(0, 1]`` (damping steps).

>>> import torch
>>> check_finite(torch.tensor([0.5, float("nan")]), "inputs")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
hybridq.errors.NonFiniteError: inputs: 1 NaN or infinite value(s) (first at index (1,)); ...
>>> with nonfinite_allowed():
...     check_finite(torch.tensor([float("nan")]), "inputs")
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import functools
import math
import numbers
import operator
import os
from typing import Iterator

import numpy as np
import torch

from .errors import DTypeError, NonFiniteError, ParameterError

#: State dtypes the simulator supports; the real ones only for circuits of real gates.
STATE_DTYPES = (torch.complex64, torch.complex128, torch.float32, torch.float64)

_ALLOW = contextvars.ContextVar("hybridq_allow_nonfinite", default=os.environ.get("HYBRIDQ_ALLOW_NONFINITE", "0") == "1")


@contextlib.contextmanager
def nonfinite_allowed(allowed: bool = True) -> Iterator[None]:
    """Within the block, NaN and infinite values pass :func:`check_finite` (and propagate).

    >>> import torch
    >>> with nonfinite_allowed():
    ...     check_finite(torch.tensor(float("inf")), "an angle")
    """
    token = _ALLOW.set(allowed)
    try:
        yield
    finally:
        _ALLOW.reset(token)


def check_dtype(dtype: torch.dtype, what: str = "state dtype") -> torch.dtype:
    """``dtype`` if it is one of :data:`STATE_DTYPES`, else :class:`DTypeError` listing them.

    >>> check_dtype(torch.float16)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hybridq.errors.DTypeError: state dtype torch.float16 is not supported; use one of complex64, complex128, float32, float64 ...
    """
    if dtype not in STATE_DTYPES:
        names = ", ".join(str(d).removeprefix("torch.") for d in STATE_DTYPES)
        raise DTypeError(f"{what} {dtype} is not supported; use one of {names} "
                         "(real dtypes only for circuits of real gates: RY, CNOT, CZ, X, Z, SWAP)")
    return dtype


def under_torch_func(*tensors) -> bool:
    """Whether a tensor is wrapped by a ``torch.func`` transform (``grad``, ``vmap``, ``jacrev``...).

    Such tensors go through torch's own ops only (the engine's custom autograd functions and
    native kernels cannot take them).

    >>> x = torch.ones(2)
    >>> under_torch_func(x), bool(torch.func.vmap(lambda r: torch.tensor(under_torch_func(r)))(x).all())
    (False, True)
    """
    if torch.compiler.is_compiling():  # traced by torch.compile, which has its own functional transforms
        return False
    if not torch._C._are_functorch_transforms_active():  # no transform runs: no tensor is wrapped (a cheap test)
        return False
    return any(isinstance(t, torch.Tensor) and torch._C._functorch.is_functorch_wrapped_tensor(t) for t in tensors)


@functools.lru_cache(maxsize=None)
def _scanner(dtype: torch.dtype):
    """The native kernel that finds the first non-finite value of a ``dtype`` array, or None
    where the native kernels are not built."""
    from .sim import native  # imported here: the simulator's package imports this module

    return native.kernel("first_nonfinite", dtype) if native.library() is not None else None


def _all_finite(parts: torch.Tensor) -> bool:
    """Whether a real CPU tensor holds only finite values, cheaply: one scan by the native kernels
    where they are built (a training step checks its inputs and weights), else one sum (NaN and
    inf reach it; a sum that overflows reads as not finite, and the caller looks closer)."""
    scan = _scanner(parts.dtype) if parts.dtype in (torch.float32, torch.float64) and parts.is_contiguous() else None
    if scan is None:
        return math.isfinite(parts.sum())
    first = ctypes.c_int64()
    scan(parts.data_ptr(), parts.numel(), ctypes.byref(first))
    return first.value < 0


def check_finite(value, what: str) -> None:
    """Raise :class:`NonFiniteError` if ``value`` (a number, array or tensor) holds NaN or inf.

    Tensors on an accelerator are not read back (that would stall a CUDA graph), nor are
    values while ``torch.compile`` traces or under ``torch.func`` transforms; allowed values pass (:func:`nonfinite_allowed`).
    """
    if _ALLOW.get() or value is None:
        return
    if isinstance(value, torch.Tensor):
        if not value.is_cpu or value.numel() == 0 or torch.compiler.is_compiling() or under_torch_func(value):
            return
        if value.is_complex():
            parts = torch.view_as_real(value.detach().resolve_conj())
        elif value.is_floating_point():
            parts = value.detach()
        else:
            return
        if _all_finite(parts):
            return
        finite = torch.isfinite(parts)  # the sum overflowed, or some value is not finite
        bad = ~finite.all(-1) if value.is_complex() else ~finite  # a complex entry is bad if either part is
        if not bool(bad.any()):
            return
        count, first = int(bad.sum()), tuple(int(i) for i in bad.nonzero()[0])
    elif isinstance(value, numbers.Number):
        if np.isfinite(complex(value)):
            return
        count, first = 1, ()
    else:
        try:
            array = np.asarray(value)
            bad = ~np.isfinite(array) if array.dtype.kind in "fc" else None
        except (TypeError, ValueError):
            return
        if bad is None or not bad.any():
            return
        count, first = int(bad.sum()), tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" (first at index {first})" if first else ""
    raise NonFiniteError(
        f"{what}: {count} NaN or infinite value(s){where}; "
        "pass finite values, or allow them with hybridq.checks.nonfinite_allowed() "
        "(or HYBRIDQ_ALLOW_NONFINITE=1) to let NaN propagate"
    )


def check_count(value, what: str, *, minimum: int = 1) -> int:
    """``value`` as an int if it is an integer ``>= minimum``, else :class:`ParameterError`.

    >>> check_count(3, "shots")
    3
    >>> check_count(0, "shots")
    Traceback (most recent call last):
    ...
    hybridq.errors.ParameterError: shots must be an integer >= 1, got 0
    """
    try:
        number = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        number = int(value) if isinstance(value, float) and value.is_integer() else None
    if number is None or number < minimum:
        raise ParameterError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return number


def check_fraction(value, what: str) -> float:
    """``value`` as a float if it is a number in ``(0, 1]``, else :class:`ParameterError`.

    >>> check_fraction(0.5, "damping")
    0.5
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not 0 < number <= 1:
        raise ParameterError(f"{what} must be a number in (0, 1], got {value!r}")
    return number
