"""GraphedStep off the GPU: the step is called as is; bad arguments are refused."""

from __future__ import annotations

import pytest
import torch

import hybridq as hq


def test_off_gpu_the_step_is_called_directly():
    layer = hq.nn.QuantumLayer(hq.Circuit(2).ry(hq.Input(0), 0).ry(hq.Weight("a"), 1).cx(0, 1))
    calls = []

    def step(x):
        calls.append(x)
        layer.zero_grad(set_to_none=True)
        loss = layer(x).square().sum()
        loss.backward()
        return loss, layer.weight.grad

    x = torch.rand(5, 1)
    loss, grad = hq.GraphedStep(step)(x)
    assert calls == [x]  # no warm-up, no capture on the CPU
    ref = layer(x).square().sum()
    assert torch.allclose(loss, ref)
    assert grad is layer.weight.grad and grad.abs().sum() > 0


def test_non_tensor_arguments_are_refused():
    with pytest.raises(TypeError, match="tensors only"):
        hq.GraphedStep(lambda x: x)(3.0)
