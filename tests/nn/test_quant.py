"""Tests of hybridq.nn.quant: grids, LSQ gradients, calibration, integer inference, training."""

from __future__ import annotations

import io
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hybridq.errors import ParameterError, ShapeError
from hybridq.nn.quant import (
    FakeQuantize,
    IntegerLayer,
    QuantConv2d,
    QuantGrid,
    QuantizationReport,
    QuantLinear,
    accuracy,
    calibrate,
    fake_quantize,
    fit_range,
    quantization_report,
    quantize,
    quantize_model,
    storage_bytes,
    to_integer,
)


def _heavy_tailed(*shape: int, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.distributions.StudentT(torch.tensor(3.0)).sample(shape)


# ---------------------------------------------------------------- grid and fake quantization


@pytest.mark.parametrize("bits", range(2, 9))
def test_grid_bounds_fit_int8(bits):
    sym, asym = QuantGrid(bits), QuantGrid(bits, symmetric=False)
    assert (sym.qmin, sym.qmax) == (-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1)
    assert (asym.qmin, asym.qmax) == (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    assert asym.qmax - asym.qmin + 1 == 2**bits
    assert -128 <= asym.qmin and asym.qmax <= 127
    assert sym.positive_levels == sym.qmax and asym.positive_levels == 2**bits - 1


@pytest.mark.parametrize("bad", [0, 1, 9, 16, 4.0, True, "4"])
def test_bits_out_of_range_raise(bad):
    with pytest.raises(ParameterError, match="bits"):
        QuantGrid(bad)


def test_layers_reject_bad_bits():
    with pytest.raises(ParameterError, match=r"\[2, 8\], got 9"):
        QuantLinear(4, 2, weight_bits=9)
    with pytest.raises(ParameterError, match=r"got 1"):
        QuantLinear(4, 2, act_bits=1)
    with pytest.raises(ParameterError):
        QuantConv2d(1, 2, 3, weight_bits=16)
    with pytest.raises(ParameterError):
        FakeQuantize(1)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_fake_quantize_values_lie_on_grid(symmetric, bits):
    grid = QuantGrid(bits, symmetric=symmetric)
    torch.manual_seed(1)
    x = torch.randn(6, 200) * 3
    scale = torch.rand(6, 1) + 0.05
    zero = None if symmetric else torch.randint(grid.qmin, grid.qmax + 1, (6, 1)).float()
    y = fake_quantize(x, scale, zero, grid)
    level = y / scale + (0 if zero is None else zero)
    assert torch.allclose(level, level.round(), atol=1e-4)
    assert level.round().min() >= grid.qmin and level.round().max() <= grid.qmax
    assert torch.equal(quantize(x, scale, zero, grid).float(), level.round())
    for row in y:
        assert row.unique().numel() <= 2**bits
    assert torch.equal(fake_quantize(torch.zeros(6, 3), scale, zero, grid), torch.zeros(6, 3))


def test_clamping_range_symmetric_and_asymmetric():
    s = torch.tensor(0.25)
    big = torch.tensor([-100.0, 100.0])
    assert fake_quantize(big, s, None, QuantGrid(4)).tolist() == [-7 * 0.25, 7 * 0.25]
    z = torch.tensor(-5.0)
    grid = QuantGrid(4, symmetric=False)  # codes -8..7, zero at -5: real range [-3, 12] steps
    assert fake_quantize(big, s, z, grid).tolist() == [(-8 + 5) * 0.25, (7 + 5) * 0.25]
    inside = torch.tensor([-0.75, 0.0, 2.5])
    assert torch.equal(fake_quantize(inside, s, z, grid), inside)


def test_per_channel_quantizer_uses_each_row_range():
    w = torch.randn(3, 40) * torch.tensor([[0.01], [1.0], [30.0]])
    fq = FakeQuantize(4, channels=3)
    out = fq(w)
    expected = w.abs().amax(dim=1) / 7
    assert torch.allclose(fq.scale.detach(), expected, rtol=1e-6)
    assert torch.allclose(out.abs().amax(dim=1), w.abs().amax(dim=1), rtol=1e-5)
    per_tensor = FakeQuantize(4)(w)
    assert (per_tensor[0] == 0).all()  # the small row vanishes on one shared grid
    assert (out[0] != 0).any()


# ---------------------------------------------------------------- LSQ gradients


def _lsq_reference(x, u, s, z, grid, g):
    """LSQ (Esser et al. 2020, eq. 3) gradients of sum(u * x_hat) w.r.t. x, s and z."""
    v = x / s + z
    low, high = v <= grid.qmin, v >= grid.qmax
    inside = ~(low | high)
    d_s = torch.where(inside, torch.round(v) - v, torch.where(low, grid.qmin - z, grid.qmax - z))
    d_z = torch.where(inside, torch.zeros_like(v), -s * torch.ones_like(v))
    return u * inside, g * (u * d_s).sum(), g * (u * d_z).sum()


@pytest.mark.parametrize("symmetric", [True, False])
def test_lsq_gradients_match_formula(symmetric):
    grid = QuantGrid(3, symmetric=symmetric)
    torch.manual_seed(2)
    x = (torch.randn(500, dtype=torch.float64) * 2).requires_grad_()
    u = torch.randn(500, dtype=torch.float64)
    s = torch.tensor(0.37, dtype=torch.float64, requires_grad=True)
    z = None if symmetric else torch.tensor(-2.2, dtype=torch.float64, requires_grad=True)
    g = 0.173
    (fake_quantize(x, s, z, grid, grad_scale=g) * u).sum().backward()
    z_value = 0.0 if symmetric else -2.0
    d_x, d_s, d_z = _lsq_reference(x.detach(), u, s.detach(), z_value, grid, g)
    assert torch.allclose(x.grad, d_x)
    assert torch.allclose(s.grad, d_s)
    assert symmetric or torch.allclose(z.grad, d_z)
    assert 0 < (x.grad == 0).sum() < 500  # some values clamp, some do not


def test_module_log_scale_gradient_is_lsq_times_scale():
    grid = QuantGrid(4)
    fq = FakeQuantize(4, dtype=torch.float64)
    torch.manual_seed(3)
    x = torch.randn(60, dtype=torch.float64)
    fq.fit(0.4 * x)  # a range that clips some of x, with no value exactly on a grid edge
    u = torch.randn(60, dtype=torch.float64)
    (fq(x) * u).sum().backward()
    s = fq.scale.detach()
    _, d_s, _ = _lsq_reference(x, u, s, 0.0, grid, 1 / math.sqrt(60 * grid.qmax))
    assert torch.allclose(fq.log_scale.grad, s * d_s)


# ---------------------------------------------------------------- calibration


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [3, 4])
def test_calibration_methods_beat_minmax_on_heavy_tailed_data(symmetric, bits):
    x = _heavy_tailed(20_000)
    grid = QuantGrid(bits, symmetric=symmetric)

    def error(method):
        s, z = fit_range(x, grid, method=method)
        return (fake_quantize(x, s, None if symmetric else z, grid) - x).square().mean()

    minmax = error("minmax")
    assert error("percentile") < 0.7 * minmax
    assert error("mse") < 0.5 * minmax


def test_mse_never_worse_than_minmax_and_per_channel():
    w = _heavy_tailed(5, 300) * torch.tensor([[0.1], [1.0], [2.0], [5.0], [10.0]])
    grid = QuantGrid(8)
    errors = {}
    for method in ("minmax", "mse"):
        s, _ = fit_range(w, grid, method=method, per_channel=True)
        assert s.shape == (5,)
        errors[method] = (fake_quantize(w, s[:, None], None, grid) - w).square().sum(dim=1)
    assert (errors["mse"] <= errors["minmax"]).all()


def test_calibrate_sets_every_quantizer_and_reduces_output_error():
    xs = _heavy_tailed(512, 16)
    torch.manual_seed(4)
    base = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    reference = base(xs).detach()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, torch.zeros(512)), batch_size=128)
    errors = {}
    for method in ("minmax", "percentile", "mse"):
        model = quantize_model(base, weight_bits=4, act_bits=4, symmetric=False)
        assert calibrate(model, loader, method=method) is model
        assert all(bool(m.initialized) for m in model.modules() if isinstance(m, FakeQuantize))
        assert model.training
        errors[method] = (model(xs) - reference).square().mean().item()
    assert errors["mse"] < 0.6 * errors["minmax"]
    assert errors["percentile"] < errors["minmax"]


def test_calibrate_errors():
    model = nn.Sequential(QuantLinear(8, 2, act_bits=8))
    with pytest.raises(ParameterError, match="needs data"):
        calibrate(model, None)
    with pytest.raises(ParameterError, match="empty"):
        calibrate(model, [])
    with pytest.raises(ShapeError, match="at least one sample"):
        calibrate(model, torch.empty(0, 8))
    with pytest.raises(ParameterError, match="tensors"):
        calibrate(model, [("not a tensor",)])
    with pytest.raises(ParameterError, match="iterable"):
        calibrate(model, 5)
    with pytest.raises(ParameterError, match="method"):
        calibrate(model, torch.randn(4, 8), method="entropy")
    with pytest.raises(ParameterError, match="no QuantLinear"):
        calibrate(nn.Linear(8, 2), torch.randn(4, 8))


# ---------------------------------------------------------------- integer inference


def _assert_integer_matches(layer, x):
    fake = layer(x).detach()
    integer = to_integer(layer)
    assert isinstance(integer, IntegerLayer)
    out = integer(x)
    assert integer.weight.dtype == torch.int8
    assert torch.equal(integer.weight, layer.weight_quant.quantize(layer.weight))
    if layer.input_quant is None:
        assert torch.allclose(out, fake, rtol=1e-5, atol=1e-5 * fake.abs().max().item())
        return
    assert integer.bias is None or integer.bias.dtype == torch.int32
    step = integer._per_output(layer.accumulator_scale())
    # exact integer accumulation vs float32 fake quant: far below one output step, up to
    # the float32 rounding of the outputs themselves
    ulps = 4 * torch.finfo(torch.float32).eps * fake.abs()
    assert ((out - fake).abs() <= 1e-2 * step + ulps).all()


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize(("weight_bits", "act_bits"), [(2, 8), (4, 4), (8, 8), (4, None)])
def test_integer_linear_matches_fake_quant(symmetric, per_channel, weight_bits, act_bits):
    torch.manual_seed(5)
    layer = QuantLinear(
        24, 7, weight_bits=weight_bits, act_bits=act_bits, per_channel=per_channel, symmetric=symmetric
    )
    nn.init.normal_(layer.bias)
    x = torch.randn(33, 24) + 0.5
    calibrate(layer, x, method="mse")
    _assert_integer_matches(layer, x)
    _assert_integer_matches(layer, torch.randn(3, 5, 24) * 4)  # out of calibrated range: clamps


@pytest.mark.parametrize(
    "geometry",
    [
        {"padding": 1},
        {"padding": "same", "dilation": 2, "padding_mode": "reflect"},
        {"stride": 2, "padding": (2, 1), "groups": 2, "padding_mode": "circular"},
        {"padding": "valid", "bias": False, "padding_mode": "replicate"},
    ],
)
@pytest.mark.parametrize("symmetric", [True, False])
def test_integer_conv_matches_fake_quant(geometry, symmetric):
    torch.manual_seed(6)
    conv = QuantConv2d(4, 6, 3, weight_bits=4, act_bits=8, symmetric=symmetric, **geometry)
    x = torch.rand(2, 4, 9, 8) * 2 - 0.3
    calibrate(conv, x)
    _assert_integer_matches(conv, x)
    _assert_integer_matches(conv, x[0])  # unbatched input


@pytest.mark.parametrize(
    "geometry",
    [
        {"padding": 1},
        {"padding": "same", "dilation": 2, "padding_mode": "reflect"},
        {"stride": 2, "padding": (2, 1), "groups": 2, "padding_mode": "circular"},
        {"kernel_size": (2, 3), "padding": "same", "padding_mode": "replicate"},
    ],
)
def test_quant_conv_geometry_matches_torch_conv(geometry):
    torch.manual_seed(7)
    kernel = geometry.pop("kernel_size", 3)
    conv = nn.Conv2d(4, 6, kernel, **geometry)
    quant = QuantConv2d.from_float(conv, weight_bits=8)
    x = torch.randn(2, 4, 9, 8)
    conv.weight.data = quant.weight_quant(quant.weight).detach()
    expected = conv(x)
    assert torch.allclose(quant(x), expected, atol=1e-6)


def test_int64_accumulator_when_int32_could_overflow():
    layer = QuantLinear(70_000, 2, weight_bits=8, act_bits=8)
    with torch.no_grad():
        layer.weight.fill_(0.5)
    x = torch.rand(3, 70_000)
    calibrate(layer, x, method="minmax")
    integer = to_integer(layer)
    assert integer.accumulator == torch.int64
    assert torch.allclose(integer(x), layer(x), rtol=1e-5)
    small = QuantLinear(64, 2, act_bits=8)
    small(torch.randn(2, 64))
    assert to_integer(small).accumulator == torch.int32


def test_to_integer_of_a_model_keeps_other_layers_and_original():
    torch.manual_seed(8)
    model = nn.Sequential(
        QuantConv2d(1, 3, 3, act_bits=8), nn.ReLU(), nn.Flatten(), QuantLinear(3 * 6 * 6, 5, act_bits=8)
    )
    x = torch.rand(4, 1, 8, 8)
    calibrate(model, x)
    integer = to_integer(model)
    assert isinstance(model[0], QuantConv2d) and isinstance(integer[0], IntegerLayer)
    assert isinstance(integer[3], IntegerLayer) and not integer.training
    assert torch.allclose(integer(x), model(x), atol=1e-4)


# ---------------------------------------------------------------- validation


def test_shape_and_option_errors():
    with pytest.raises(ShapeError, match=r"\(\*, 8\)"):
        QuantLinear(8, 3)(torch.randn(2, 7))
    with pytest.raises(ShapeError, match="4, H, W"):
        QuantConv2d(4, 6, 3)(torch.randn(2, 3, 8, 8))
    with pytest.raises(ShapeError, match="divisible by groups"):
        QuantConv2d(3, 4, 3, groups=2)
    with pytest.raises(ShapeError, match="3 channels"):
        FakeQuantize(4, channels=3)(torch.randn(4, 2))
    with pytest.raises(ShapeError):
        QuantLinear(0, 3)
    with pytest.raises(ParameterError, match="stride 1"):
        QuantConv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ParameterError, match="padding_mode"):
        QuantConv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ParameterError, match="forward pass or calibrate"):
        to_integer(QuantLinear(4, 2))
    with pytest.raises(ParameterError, match="no QuantLinear"):
        to_integer(nn.Linear(4, 2))
    with pytest.raises(ShapeError, match="targets"):
        accuracy(nn.Identity(), torch.randn(5, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ShapeError, match="empty"):
        fit_range(torch.empty(0), QuantGrid(4))


# ---------------------------------------------------------------- modules: conventions, state


def test_repr_and_parameters_follow_torch_conventions():
    layer = QuantLinear(6, 3, bias=False, weight_bits=3, act_bits=5, symmetric=False, dtype=torch.float64)
    assert layer.bias is None and layer.weight.dtype == torch.float64
    assert "in_features=6, out_features=3, bias=False, weight_bits=3, act_bits=5" in repr(layer)
    names = {name for name, _ in layer.named_parameters()}
    assert names == {"weight", "weight_quant.log_scale", "weight_quant.zero_point",
                     "input_quant.log_scale", "input_quant.zero_point"}
    conv = QuantConv2d(2, 4, (3, 1), padding="same")
    assert "kernel_size=(3, 1)" in repr(conv) and "padding=(0, 0, 1, 1)" in repr(conv)
    frozen = QuantLinear(6, 3, learn_scale=False)
    assert not frozen.weight_quant.log_scale.requires_grad


def test_state_dict_round_trip():
    torch.manual_seed(9)

    def build():
        return nn.Sequential(
            QuantConv2d(1, 4, 3, act_bits=8, symmetric=False), nn.ReLU(), nn.Flatten(),
            QuantLinear(4 * 6 * 6, 3, weight_bits=3, act_bits=6),
        )

    model = build()
    x = torch.rand(8, 1, 8, 8)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        loss = F.cross_entropy(model(x), torch.arange(8) % 3)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    restored = build()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(restored(x), model(x))
    assert torch.equal(to_integer(restored)(x), to_integer(model)(x))


def test_gradients_reach_every_parameter():
    torch.manual_seed(10)
    model = nn.Sequential(QuantConv2d(2, 3, 3, act_bits=4, symmetric=False), nn.Flatten(), QuantLinear(12, 2))
    model(torch.rand(5, 2, 4, 4)).square().sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_zero_point_on_the_grid_edge_keeps_its_gradient():
    # data >= 0 puts the fitted zero point exactly on qmin; its gradient must be the one just
    # inside (torch 2.14's clamp gives 0 at the bounds, torch 2.13's gives 1)
    grid = QuantGrid(4, symmetric=False)
    x = torch.linspace(-0.2, 1.3, 50)
    grads = []
    for z0 in (float(grid.qmin), grid.qmin + 1e-3):
        z = torch.tensor(z0, requires_grad=True)
        fake_quantize(x, torch.tensor(0.1), z, grid).sum().backward()
        grads.append(z.grad.item())
    assert grads[0] == grads[1] != 0


def test_quantize_model_swaps_layers_and_keeps_outputs_close():
    torch.manual_seed(11)
    base = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    quant = quantize_model(base, weight_bits=8, act_bits=8, symmetric=False)
    assert type(base[0]) is nn.Conv2d and isinstance(quant[0], QuantConv2d) and isinstance(quant[3], QuantLinear)
    x = torch.rand(16, 1, 8, 8)
    calibrate(quant, x, method="mse")
    reference = base(x)
    assert (quant(x) - reference).abs().max() < 0.05 * reference.abs().max()


def test_storage_bytes_counts_packed_bits():
    assert storage_bytes(nn.Linear(64, 10)) == (640 + 10) * 4
    # 640 weights x 3 bits = 240 bytes, int32 bias 40, 10 float step sizes 40
    assert storage_bytes(QuantLinear(64, 10, weight_bits=3)) == 240 + 40 + 40
    # asymmetric: + 10 one-byte zero points; act quantizer: 4-byte step + 1-byte zero point
    assert storage_bytes(QuantLinear(64, 10, weight_bits=4, act_bits=8, symmetric=False)) == 320 + 40 + 50 + 5


# ---------------------------------------------------------------- training on digits


def _digits():
    datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32) / 16.0
    y = torch.tensor(y)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, test = perm[:1257], perm[1257:]
    return x[train], y[train], x[test], y[test]


def _train(model, x, y, *, epochs=10, lr=0.05):
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for batch in torch.randperm(len(y)).split(128):
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def test_digits_4bit_training_close_to_float_and_integer_agrees():
    x_train, y_train, x_test, y_test = _digits()
    torch.manual_seed(0)
    float_model = _train(nn.Sequential(nn.Linear(64, 10)), x_train, y_train)
    torch.manual_seed(0)
    quant_model = _train(nn.Sequential(QuantLinear(64, 10, weight_bits=4, act_bits=8)), x_train, y_train)
    report = quantization_report(float_model, quant_model, x_test, y_test)
    assert isinstance(report, QuantizationReport)
    float_row, quant_row, int_row = report.rows
    assert float_row.accuracy > 0.93
    assert quant_row.accuracy > 0.85
    assert float_row.accuracy - quant_row.accuracy < 0.05
    assert int_row.accuracy == quant_row.accuracy
    assert float_row.size_bytes == 2600 and quant_row.size_bytes == 404
    assert quant_row.size_bytes < float_row.size_bytes / 6
    assert str(report).splitlines()[0].split() == ["model", "bytes", "size", "accuracy"]


def test_digits_post_training_quantization():
    x_train, y_train, x_test, y_test = _digits()
    torch.manual_seed(0)
    float_model = _train(nn.Sequential(nn.Linear(64, 10)), x_train, y_train)
    quant = calibrate(quantize_model(float_model, weight_bits=4, act_bits=8), x_train[:256], method="mse")
    report = quantization_report(float_model, quant, x_test, y_test)
    assert report.rows[1].accuracy > report.rows[0].accuracy - 0.05
    assert report.rows[2].accuracy == report.rows[1].accuracy


def test_quantized_head_after_a_quantum_layer():
    import hybridq as hq
    from hybridq.nn import QuantumLayer

    torch.manual_seed(12)
    circ = hq.Circuit(2).ry(hq.Input(0), 0).ry(hq.Input(1), 1).cz(0, 1).ry(hq.Weight("a"), 0)
    model = nn.Sequential(nn.Linear(4, 2), QuantumLayer(circ), QuantLinear(2, 3, weight_bits=4, act_bits=8))
    x = torch.rand(16, 4)
    calibrate(model, x)
    fake = model(x)
    assert torch.allclose(to_integer(model)(x), fake, atol=1e-5)
    fake.square().sum().backward()
    assert model[0].weight.grad.abs().sum() > 0
