"""Replay a whole training step as one CUDA graph.

A hybrid training step launches hundreds of small kernels (angle arithmetic, gate matrices,
state passes, read-out, backward). On a GPU their launch cost, not the arithmetic, dominates
at the sizes of hybrid models. :class:`GraphedStep` records the step once as a CUDA graph and
then replays it with a single launch. The simulator's hot path is capture-safe: after its first
call it makes no host-to-device copies and never waits for the GPU (checked in
``tests/sim/test_capture_safe.py``).

Off the GPU the step is simply called, so the same code runs everywhere.
:class:`GraphedFunction` replays one differentiable function the same way (forward and
backward graphs) inside an otherwise eager step: :class:`hybridq.nn.QuantumLayer` runs its
circuit so on a GPU.

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


class GraphedFunction:
    """``fn(x, weight)`` on CUDA, captured once per input shape as a forward and a backward CUDA
    graph, replayed as an autograd function: what :class:`hybridq.nn.QuantumLayer` runs on a GPU.

    Unlike a whole :class:`GraphedStep`, the caller's loss and optimizer stay eager; only ``fn``,
    the part made of hundreds of small kernels, is replayed. Outputs are copies (a later call
    does not overwrite them), and a backward through an older call than the last forward first
    replays that call's forward again, so calling it twice before one backward stays correct.
    Inside another capture, off CUDA, or when a capture fails, ``fn`` is simply called.

    >>> g = GraphedFunction(lambda x, w: (x * w).sin())
    >>> w = torch.ones(3, requires_grad=True)
    >>> g(torch.zeros(2, 3), w).shape  # on the CPU: a plain call
    torch.Size([2, 3])
    """

    #: Input shapes (and dtypes) kept captured at once; an older one is dropped past this.
    MAX_GRAPHS = 4

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor], *, warmup: int = 3):
        self.fn = fn
        self.warmup = warmup
        self._graphs: dict[tuple, _Captured | None] = {}

    def __getstate__(self) -> dict:  # copies (deepcopy, pickling) capture their own graphs
        return {**self.__dict__, "_graphs": {}}

    def __call__(self, x: Tensor, weight: Tensor, *, key: tuple = ()) -> Tensor:
        """``fn(x, weight)``; ``key`` names what else the captured call depends on (it recaptures when it changes)."""
        if not (x.is_cuda and weight.is_cuda) or torch.cuda.is_current_stream_capturing() or torch.compiler.is_compiling():
            return self.fn(x, weight)
        full = (tuple(x.shape), x.dtype, x.requires_grad, weight.dtype, weight.requires_grad, x.device, *key)
        if full not in self._graphs:
            if len(self._graphs) >= self.MAX_GRAPHS:
                self._graphs.pop(next(iter(self._graphs)))
            self._graphs[full] = _Captured.make(self.fn, x, weight, self.warmup)
        captured = self._graphs[full]
        if captured is None:  # the capture failed: run eagerly
            return self.fn(x, weight)
        if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
            return _Replay.apply(captured, x, weight)
        captured.forward(x)
        return captured.output.clone()


class _Captured:
    """A forward graph of ``fn`` and the backward graph of its output, on one memory pool."""

    def __init__(self):
        self.generation = 0

    @classmethod
    def make(cls, fn, x: Tensor, weight: Tensor, warmup: int) -> _Captured | None:
        self = cls()
        self.x = x.detach().clone().requires_grad_(x.requires_grad)
        self.weight = weight.detach().requires_grad_(weight.requires_grad)  # shares the parameter's memory
        wants = [t for t in (self.x, self.weight) if t.requires_grad]
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(warmup):
                    out = fn(self.x, self.weight)
                    if wants:
                        torch.autograd.grad(out, wants, torch.ones_like(out), allow_unused=True)
            torch.cuda.current_stream().wait_stream(side)
            pool = torch.cuda.graph_pool_handle()
            self.forward_graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.forward_graph, pool=pool):
                self.output = fn(self.x, self.weight)
            self.backward_graph = None
            if wants and self.output.requires_grad:
                self.grad_output = torch.zeros_like(self.output)
                self.backward_graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(self.backward_graph, pool=pool):
                    grads = torch.autograd.grad(self.output, wants, self.grad_output, allow_unused=True)
                grads = iter(grads)
                self.grads = [next(grads) if t.requires_grad else None for t in (self.x, self.weight)]
        except RuntimeError:
            return None
        return self

    def forward(self, x: Tensor) -> int:
        """Replay the forward on ``x``; the generation of this replay."""
        if x.data_ptr() != self.x.data_ptr():
            self.x.detach().copy_(x)
        self.forward_graph.replay()
        self.generation += 1
        return self.generation


class _Replay(torch.autograd.Function):
    @staticmethod
    def forward(ctx, captured: _Captured, x: Tensor, weight: Tensor):
        ctx.captured, ctx.x = captured, x.detach()
        ctx.generation = captured.forward(x)
        return captured.output.detach().clone()

    @staticmethod
    def backward(ctx, grad_output):
        captured = ctx.captured
        if captured.backward_graph is None:
            return None, None, None
        if captured.generation != ctx.generation:  # another forward replayed since: this one's states are gone
            captured.forward(ctx.x)
        captured.grad_output.copy_(grad_output)
        captured.backward_graph.replay()
        grad_x, grad_w = (None if g is None else g.clone() for g in captured.grads)
        return None, grad_x, grad_w
