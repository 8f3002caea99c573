"""Quantization-aware layers: ``FakeQuantize``, ``QuantLinear`` and ``QuantConv2d``.

A quantized layer fake-quantizes its weight (and, with ``act_bits``, its input) on every
forward pass, so training sees the rounding error while gradients pass straight through
(LSQ step sizes are learned alongside the weights). With an input quantizer the bias is
rounded to the accumulator grid ``s_in * s_w``, as integer inference stores it in ``int32``;
:func:`hybridq.nn.quant.to_integer` then reproduces the outputs in integer arithmetic.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hybridq.checks import check_finite
from hybridq.errors import DTypeError, OperandError, ParameterError, ShapeError
from hybridq.nn.quant.grid import QuantGrid, effective_params, fake_quantize, quantize
from hybridq.nn.quant.ranges import RangeMethod, fit_range


class FakeQuantize(nn.Module):
    """Fake quantization with learned step size(s), for weights or activations.

    Holds a step size per tensor, or per channel along axis 0 (``channels=C``), and, on an
    asymmetric grid, an integer-valued zero point. A quantizer that has never been fitted takes
    min-max values from the first tensor it sees.

    The step size is learned as its logarithm (``log_scale``, as in TQT, Jain et al. 2020), so
    no optimizer step can make it negative and Adam moves it by relative amounts; its gradient
    is LSQ's (scaled by ``1 / sqrt(N Qp)``) times ``s`` by the chain rule. Leave ``log_scale``
    and ``zero_point`` out of weight decay (decay would pull the step size towards 1).

    Args:
        bits: Bit width, 2 to 8.
        symmetric: Zero-centred grid with zero point 0, else a grid with a zero point.
        channels: Number of channels (axis 0) for per-channel step sizes; None for one step size.
        learn_scale: Whether step size and zero point get gradients.

    Shape:
        Input ``(C, *)`` with ``channels=C``, any shape otherwise; output the same shape.

    >>> fq = FakeQuantize(4)
    >>> fq(torch.tensor([0.1, -0.7, 0.33]))
    tensor([ 0.1000, -0.7000,  0.3000], grad_fn=<MulBackward0>)
    """

    def __init__(
        self,
        bits: int = 8,
        *,
        symmetric: bool = True,
        channels: int | None = None,
        learn_scale: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.grid = QuantGrid(bits, symmetric=symmetric)
        if channels is not None and channels < 1:
            raise ParameterError(f"channels must be a positive int or None, got {channels}")
        self.channels = channels
        size = 1 if channels is None else channels
        factory = {"device": device, "dtype": dtype}
        self.log_scale = nn.Parameter(torch.empty(size, **factory), requires_grad=learn_scale)
        if symmetric:
            self.register_parameter("zero_point", None)
        else:
            self.zero_point = nn.Parameter(torch.empty(size, **factory), requires_grad=learn_scale)
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool, device=device))
        self._observed: list[Tensor] | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Forget the range: step 1, zero point 0; the next tensor seen sets them (min-max)."""
        with torch.no_grad():
            self.log_scale.zero_()
            if self.zero_point is not None:
                self.zero_point.zero_()
            self.initialized.fill_(False)

    @property
    def bits(self) -> int:
        """Bit width."""
        return self.grid.bits

    @property
    def scale(self) -> Tensor:
        """Step size(s), ``exp(log_scale)``, shape ``(C,)`` or ``(1,)``."""
        return self.log_scale.exp()

    def forward(self, x: Tensor, *, values_per_scale: int | None = None) -> Tensor:
        """Fake-quantize ``x``; ``values_per_scale`` is LSQ's ``N`` (default: elements per step size)."""
        if self.bypassed:
            self._observed.append(x.detach())
            return x
        if not bool(self.initialized):
            self.fit(x)
        scale, zero_point = self._broadcast(x)
        n = values_per_scale if values_per_scale is not None else x.numel() // self.log_scale.numel()
        return fake_quantize(x, scale, zero_point, self.grid, grad_scale=self.grid.grad_scale(n))

    def fit(self, x: Tensor, *, method: RangeMethod = "minmax", percentile: float = 99.9) -> None:
        """Set step size and zero point from data ``x`` (see :func:`fit_range`)."""
        self._check(x)
        scale, zero_point = fit_range(
            x, self.grid, method=method, per_channel=self.channels is not None, percentile=percentile
        )
        with torch.no_grad():
            self.log_scale.copy_(scale.log())
            if self.zero_point is not None:
                self.zero_point.copy_(zero_point)
            self.initialized.fill_(True)

    def quantize(self, x: Tensor) -> Tensor:
        """The ``int8`` codes of ``x`` (the values fake quantization rounds to, plus zero point)."""
        self._require_fitted()
        return quantize(x, *self._broadcast(x), self.grid)

    def integer_params(self) -> tuple[Tensor, Tensor]:
        """Step sizes in use (float) and zero points (``int8``), both of shape ``(C,)`` or ``(1,)``."""
        self._require_fitted()
        with torch.no_grad():
            scale, zero_point = effective_params(self.scale, self.zero_point, self.grid)
            return scale.clone(), (torch.zeros_like(scale) + zero_point).to(torch.int8)

    @property
    def bypassed(self) -> bool:
        """True inside :meth:`observing`, where inputs pass through unquantized."""
        return self._observed is not None

    @contextlib.contextmanager
    def observing(self) -> Iterator[list[Tensor]]:
        """Within the block, forward passes record their inputs and return them unquantized."""
        self._observed = []
        try:
            yield self._observed
        finally:
            self._observed = None

    def extra_repr(self) -> str:
        per = "tensor" if self.channels is None else f"channel ({self.channels})"
        return f"bits={self.bits}, symmetric={self.grid.symmetric}, per={per}"

    def _broadcast(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        self._check(x)
        shape = (-1,) + (1,) * (x.dim() - 1) if self.channels is not None else (-1,)
        zero_point = None if self.zero_point is None else self.zero_point.view(shape)
        return self.log_scale.view(shape).exp(), zero_point

    def _check(self, x: Tensor) -> None:
        if self.channels is not None and (x.dim() == 0 or x.shape[0] != self.channels):
            raise ShapeError(
                f"per-channel quantizer expects {self.channels} channels on axis 0, "
                f"got a tensor of shape {tuple(x.shape)}"
            )

    def _require_fitted(self) -> None:
        if not bool(self.initialized):
            raise ParameterError(
                "quantizer has no range yet: run a forward pass or calibrate() before converting"
            )


@dataclass(frozen=True)
class LinearOp:
    """``y = x W^T + b`` on ``(*, in_features)`` inputs; works on float and integer tensors."""

    out_axis: ClassVar[int] = -1

    def check(self, x: Tensor, weight: Tensor) -> None:
        """Raise :class:`ShapeError` unless ``x`` fits ``weight``."""
        if x.dim() == 0 or x.shape[-1] != weight.shape[1]:
            raise ShapeError(f"expected input (*, {weight.shape[1]}), got shape {tuple(x.shape)}")

    def features(self, x: Tensor) -> int:
        """Input values per sample (LSQ's ``N`` for the input quantizer)."""
        return x.shape[-1]

    def __call__(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        return F.linear(x, weight, bias)


@dataclass(frozen=True)
class Conv2dOp:
    """2-D convolution with explicit ``(left, right, top, bottom)`` padding; float or integer."""

    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int
    padding_mode: str
    out_axis: ClassVar[int] = -3

    def check(self, x: Tensor, weight: Tensor) -> None:
        """Raise :class:`ShapeError` unless ``x`` is ``(N, C, H, W)`` or ``(C, H, W)`` with the right C."""
        channels = weight.shape[1] * self.groups
        if x.dim() not in (3, 4) or x.shape[-3] != channels:
            raise ShapeError(f"expected input (N, {channels}, H, W) or ({channels}, H, W), got {tuple(x.shape)}")

    def features(self, x: Tensor) -> int:
        """Input values per sample (LSQ's ``N`` for the input quantizer)."""
        return math.prod(x.shape[-3:])

    def __call__(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
        if any(self.padding):
            x = F.pad(x, self.padding, mode=mode)
        dilation = self.dilation
        if not weight.is_floating_point() and dilation != (1, 1):
            # CPU torch has no dilated integer convolution: spread the kernel out with zeros
            dh, dw = dilation
            kh, kw = weight.shape[-2:]
            spread = weight.new_zeros(*weight.shape[:-2], (kh - 1) * dh + 1, (kw - 1) * dw + 1)
            spread[..., ::dh, ::dw] = weight
            weight, dilation = spread, (1, 1)
        return F.conv2d(x, weight, bias, self.stride, 0, dilation, self.groups)


class QuantLayer(nn.Module):
    """What QuantLinear and QuantConv2d share: weight, bias, quantizers, forward, bias grid."""

    op: LinearOp | Conv2dOp

    def _init_quant(
        self,
        weight_shape: tuple[int, ...],
        bias: bool,
        *,
        weight_bits: int,
        act_bits: int | None,
        per_channel: bool,
        symmetric: bool,
        learn_scale: bool,
        factory: dict,
    ) -> None:
        self.weight = nn.Parameter(torch.empty(weight_shape, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(weight_shape[0], **factory))
        else:
            self.register_parameter("bias", None)
        options = {"symmetric": symmetric, "learn_scale": learn_scale, **factory}
        channels = weight_shape[0] if per_channel else None
        self.weight_quant = FakeQuantize(weight_bits, channels=channels, **options)
        self.input_quant = None if act_bits is None else FakeQuantize(act_bits, **options)

    def reset_parameters(self) -> None:
        """torch's default init of weight and bias (as nn.Linear / nn.Conv2d); quantizers refit."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.weight[0].numel())
            nn.init.uniform_(self.bias, -bound, bound)
        for quantizer in (self.weight_quant, self.input_quant):
            if quantizer is not None:
                quantizer.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise OperandError(f"{type(self).__name__} takes a tensor, got {type(x).__name__}")
        other = x.dtype != self.weight.dtype and (x.is_floating_point() or self.input_quant is None)
        if x.is_complex() or x.dtype == torch.bool or other:  # integers only through an input quantizer
            raise DTypeError(f"{type(self).__name__} has {self.weight.dtype} weights but got a {x.dtype} input; "
                             f"convert it with x.to({self.weight.dtype}) (or the layer with .to(dtype))")
        check_finite(x, f"{type(self).__name__}'s input")
        self.op.check(x, self.weight)
        if self.input_quant is not None:
            x = self.input_quant(x, values_per_scale=self.op.features(x))
        weight = self.weight_quant(self.weight)
        bias = self.bias
        if bias is not None and self.input_quant is not None and not self.input_quant.bypassed:
            step = self.accumulator_scale()
            bias = bias + (torch.round(bias / step) * step - bias).detach()
        return self.op(x, weight, bias)

    def accumulator_scale(self) -> Tensor:
        """``s_in * s_w``: the value of one unit of the integer accumulator, per output channel."""
        if self.input_quant is None:
            raise ParameterError("accumulator_scale needs an input quantizer (act_bits)")
        in_scale, _ = self.input_quant.integer_params()
        w_scale, _ = self.weight_quant.integer_params()
        return in_scale * w_scale

    def extra_repr(self) -> str:
        act = None if self.input_quant is None else self.input_quant.bits
        return (
            f"bias={self.bias is not None}, weight_bits={self.weight_quant.bits}, act_bits={act}, "
            f"per_channel={self.weight_quant.channels is not None}, "
            f"symmetric={self.weight_quant.grid.symmetric}"
        )


class QuantLinear(QuantLayer):
    """``y = q(x) q(W)^T + b`` with fake-quantized weight and (optionally) input.

    Args:
        in_features: Size of each input sample.
        out_features: Size of each output sample.
        bias: Whether to learn an additive bias. Defaults to True.
        weight_bits: Weight bit width, 2 to 8. Defaults to 4.
        act_bits: Input bit width, 2 to 8, or None to leave inputs in float. Defaults to None.
        per_channel: One weight step size per output feature. Defaults to True.
        symmetric: Symmetric grids (zero point 0), else asymmetric. Defaults to True.
        learn_scale: Learn step sizes (LSQ) during training. Defaults to True.

    Shape:
        Input ``(*, in_features)``; output ``(*, out_features)``.

    >>> layer = QuantLinear(64, 10, weight_bits=4, act_bits=8)
    >>> layer(torch.rand(5, 64)).shape
    torch.Size([5, 10])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        weight_bits: int = 4,
        act_bits: int | None = None,
        per_channel: bool = True,
        symmetric: bool = True,
        learn_scale: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ShapeError(f"in_features and out_features must be >= 1, got {in_features}, {out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.op = LinearOp()
        self._init_quant(
            (out_features, in_features), bias, weight_bits=weight_bits, act_bits=act_bits,
            per_channel=per_channel, symmetric=symmetric, learn_scale=learn_scale,
            factory={"device": device, "dtype": dtype},
        )
        self.reset_parameters()

    @classmethod
    def from_float(cls, linear: nn.Linear, **options) -> QuantLinear:
        """A QuantLinear with ``linear``'s weight and bias; ``options`` as in the constructor."""
        layer = cls(
            linear.in_features, linear.out_features, linear.bias is not None,
            device=linear.weight.device, dtype=linear.weight.dtype, **options,
        )
        _copy_weights(linear, layer)
        return layer

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, {super().extra_repr()}"


class QuantConv2d(QuantLayer):
    """2-D convolution with fake-quantized weight and (optionally) input.

    Takes torch.nn.Conv2d's arguments (``padding`` may be an int, a pair, ``"valid"`` or
    ``"same"``; ``padding_mode`` one of zeros, reflect, replicate, circular) and QuantLinear's
    quantization options; per-channel step sizes are per output channel.

    Shape:
        Input ``(N, C_in, H, W)`` or ``(C_in, H, W)``; output ``(N, C_out, H_out, W_out)``.

    >>> conv = QuantConv2d(3, 8, 3, padding=1, weight_bits=4, act_bits=8)
    >>> conv(torch.rand(2, 3, 16, 16)).shape
    torch.Size([2, 8, 16, 16])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        *,
        weight_bits: int = 4,
        act_bits: int | None = None,
        per_channel: bool = True,
        symmetric: bool = True,
        learn_scale: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ShapeError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be "
                f"divisible by groups ({groups})"
            )
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ParameterError(f"padding_mode must be zeros, reflect, replicate or circular, got {padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size)
        stride, dilation = _pair(stride), _pair(dilation)
        self.op = Conv2dOp(
            stride, _explicit_padding(padding, self.kernel_size, stride, dilation), dilation, groups, padding_mode
        )
        self._init_quant(
            (out_channels, in_channels // groups, *self.kernel_size), bias, weight_bits=weight_bits,
            act_bits=act_bits, per_channel=per_channel, symmetric=symmetric, learn_scale=learn_scale,
            factory={"device": device, "dtype": dtype},
        )
        self.reset_parameters()

    @classmethod
    def from_float(cls, conv: nn.Conv2d, **options) -> QuantConv2d:
        """A QuantConv2d with ``conv``'s geometry, weight and bias; ``options`` as in the constructor."""
        layer = cls(
            conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
            conv.dilation, conv.groups, conv.bias is not None, conv.padding_mode,
            device=conv.weight.device, dtype=conv.weight.dtype, **options,
        )
        _copy_weights(conv, layer)
        return layer

    def extra_repr(self) -> str:
        op = self.op
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={op.stride}, "
            f"padding={op.padding}, dilation={op.dilation}, groups={op.groups}, "
            f"padding_mode={op.padding_mode}, {super().extra_repr()}"
        )


def quantize_model(model: nn.Module, **options) -> nn.Module:
    """A copy of ``model`` with every nn.Linear / nn.Conv2d replaced by its quantized version.

    Only modules of exactly those types are replaced (not subclasses).

    ``options`` are QuantLinear's quantization keywords (``weight_bits``, ``act_bits``, ...).
    The copy's quantizers start unfitted: :func:`calibrate` it, or train it.

    >>> quantize_model(nn.Sequential(nn.Linear(4, 2)), weight_bits=4)[0]
    QuantLinear(
      in_features=4, out_features=2, bias=True, weight_bits=4, act_bits=None, per_channel=True, symmetric=True
      (weight_quant): FakeQuantize(bits=4, symmetric=True, per=channel (2))
    )
    """

    def convert(module: nn.Module) -> nn.Module | None:
        if type(module) is nn.Linear:
            return QuantLinear.from_float(module, **options)
        if type(module) is nn.Conv2d:
            return QuantConv2d.from_float(module, **options)
        return None

    return replace_modules(model, convert)


def replace_modules(model: nn.Module, convert: Callable[[nn.Module], nn.Module | None]) -> nn.Module:
    """A deep copy of ``model`` where each module ``m`` with ``convert(m)`` not None is replaced."""
    replaced = convert(model)
    if replaced is not None:
        return replaced
    model = copy.deepcopy(model)
    _replace_children(model, convert)
    return model


def _replace_children(module: nn.Module, convert: Callable[[nn.Module], nn.Module | None]) -> None:
    for name, child in module.named_children():
        replaced = convert(child)
        if replaced is None:
            _replace_children(child, convert)
        else:
            setattr(module, name, replaced)


def _copy_weights(source: nn.Module, target: QuantLayer) -> None:
    with torch.no_grad():
        target.weight.copy_(source.weight)
        if source.bias is not None:
            target.bias.copy_(source.bias)


def _explicit_padding(
    padding: str | int | tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[int, int, int, int]:
    """torch's padding argument as ``(left, right, top, bottom)`` for F.pad."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ParameterError(f"padding='same' needs stride 1, got stride={stride}")
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return (total[1] // 2, total[1] - total[1] // 2, total[0] // 2, total[0] - total[0] // 2)
    if isinstance(padding, str):
        raise ParameterError(f"padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    rows, cols = _pair(padding)
    return (cols, cols, rows, rows)


def _pair(value) -> tuple:
    """A size as torch's 2-d layers take it: one value for both dimensions, or a pair.

    >>> _pair(3), _pair([1, 2])
    ((3, 3), (1, 2))
    """
    return tuple(value) if isinstance(value, Iterable) else (value, value)
