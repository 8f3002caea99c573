"""Replay a whole training step as one CUDA graph.

A hybrid training step launches hundreds of small kernels (angle arithmetic, gate matrices,
state passes, read-out, backward). On a GPU their launch cost, not the arithmetic, dominates
at the sizes of hybrid models. :class:`GraphedStep` records the step once as a CUDA graph and
then replays it with a single launch. The simulator's hot path is capture-safe: after its first
call it makes no host-to-device copies and never waits for the GPU (checked in
``tests/sim/test_capture_safe.py``).

Off the GPU the step is simply called, so the same code runs everywhere.

>>> import torch, hybridq as hq
>>> layer = hq.nn.QuantumLayer(hq.Circuit(2).ry(hq.Input(0), 0).ry(hq.Weight("a"), 1).cz(0, 1))
>>> def step(x):
...     layer.zero_grad(set_to_none=True)
...     loss = layer(x).square().sum()
...     loss.backward()
...     return loss
>>> graphed = GraphedStep(step)
>>> float(graphed(torch.zeros(4, 1))) == float(step(torch.zeros(4, 1)))
True
"""

from __future__ import annotations

from typing import Callable

import torch

from .errors import DeviceError

Tensor = torch.Tensor


class GraphedStep:
    """``step(*tensors)`` captured as a CUDA graph on first use, replayed on later calls.

    Args:
        step: a function of tensors (fixed shapes) that runs forward, backward and, if wanted,
            the optimizer (create optimizers with ``capturable=True`` where torch asks for it).
            It returns a tensor or a tuple / dict of tensors. It should reset gradients itself
            (``zero_grad(set_to_none=True)``): they are then written, not accumulated, and stay
            readable in ``param.grad`` after each call.
        warmup: eager calls on a side stream before capture (caches, cuBLAS workspaces); they
            run the whole step, optimizer updates included. Defaults to 3.

    Each call copies its arguments into the graph's input buffers and replays. Returned tensors
    are the graph's output buffers: the next call overwrites them (``.clone()`` to keep one).
    A call with other shapes or dtypes captures a new graph. Steps must be deterministic in
    their control flow (no Python decisions on tensor values) and must not change shapes.
    """

    def __init__(self, step: Callable[..., object], *, warmup: int = 3):
        self.step = step
        self.warmup = warmup
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, list[Tensor], object]] = {}

    def __call__(self, *args: Tensor):
        if not args or any(not isinstance(a, Tensor) for a in args):
            raise TypeError("GraphedStep takes tensors only (bake other values into the step)")
        if not all(a.is_cuda for a in args):
            if any(a.is_cuda for a in args):
                raise DeviceError("GraphedStep arguments must all be on the same device")
            return self.step(*args)
        key = tuple((tuple(a.shape), a.dtype, a.device) for a in args)
        if key not in self._graphs:
            self._graphs[key] = self._capture(args)
        graph, inputs, outputs = self._graphs[key]
        for buffer, value in zip(inputs, args):
            buffer.copy_(value)
        graph.replay()
        return outputs

    def _capture(self, args: tuple[Tensor, ...]):
        inputs = [a.detach().clone() for a in args]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.warmup):
                self.step(*inputs)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = self.step(*inputs)
        return graph, inputs, outputs
