"""The training hot path makes no host-to-device copies and no host syncs after its first call.

That is what CUDA-graph capture needs (:class:`hybridq.GraphedStep`). Without a GPU it is
checked on the ``meta`` device: every aten op is intercepted, and any op that mixes host
tensors into device work, or reads a value back to the host, is recorded.
"""

from __future__ import annotations

import traceback

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import hybridq as hq
from hybridq.circuits import Circuit, Input, Weight
from hybridq.nn import QuantumLayer
from hybridq.operators import PauliSum

SYNCS = {torch.ops.aten._local_scalar_dense.default, torch.ops.aten.nonzero.default}


class HostTraffic(TorchDispatchMode):
    """Records ops that copy host tensors to the device or read device values back."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [t for t in torch.utils._pytree.tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        host = [t for t in tensors if t.device.type == "cpu" and t.dim() > 0]  # 0-d host tensors pass as scalars
        if func in SYNCS or (host and len(host) < len(tensors)) or (host and func == torch.ops.aten._to_copy.default):
            self.found.append(f"{func}: {''.join(traceback.format_stack(limit=6)[:-1])}")
        return func(*args, **kwargs)


def _factory_watch(monkeypatch, found: list[str]) -> None:
    """``torch.tensor(data, device=...)`` copies from the host below the dispatcher: watch it too."""
    for name in ("tensor", "as_tensor"):
        original = getattr(torch, name)

        def watched(*args, _original=original, _name=name, **kwargs):
            device = kwargs.get("device")
            on_device = args and isinstance(args[0], torch.Tensor) and args[0].device == torch.device(device or "cpu")
            if device is not None and torch.device(device).type != "cpu" and not on_device:
                found.append(f"torch.{_name}(..., device=...): {''.join(traceback.format_stack(limit=6)[:-1])}")
            return _original(*args, **kwargs)

        monkeypatch.setattr(torch, name, watched)
    getitem = torch.Tensor.__getitem__

    def watched_getitem(self, index):  # a list index becomes a host tensor, copied to the device
        parts = index if isinstance(index, tuple) else (index,)
        if self.device.type != "cpu" and any(isinstance(p, list) for p in parts):
            found.append(f"list index on a device tensor: {''.join(traceback.format_stack(limit=6)[:-1])}")
        return getitem(self, index)

    monkeypatch.setattr(torch.Tensor, "__getitem__", watched_getitem)


def _w1(n: int, layers: int) -> Circuit:
    c = Circuit(n)
    for k in range(layers):
        for i in range(n):
            c.ry(Weight(f"w{k}_{i}") * Input(i) + Weight(f"b{k}_{i}"), i)
        for i in range(n):
            c.rz(Weight(f"t{k}_{i}"), i).h(i).ry(Weight(f"u{k}_{i}"), i)
        for i in range(n):
            c.cx(i, (i + 1) % n)
    return c


def _second_call_traffic(monkeypatch, step) -> list[str]:
    step()  # the first call may build and move its caches
    found: list[str] = []
    _factory_watch(monkeypatch, found)
    with HostTraffic() as mode:
        step()
    return found + mode.found


def _mixed(n: int) -> Circuit:
    """Controlled rotations, Pauli rotations, fixed gates and a non-affine angle: every op path."""
    c = _w1(n, 1)
    c.crx(Weight("c"), 0, n - 1).pauli_rotation(Weight("p") * Input(1), "XYZ", [0, 1, 2]).t(2).swap(0, 3)
    c.ccx(0, 1, 2).rzz(Weight("z"), 1, 4).u3(Weight("a"), 0.2, Weight("b"), 3).unitary(torch.eye(4), [1, 2])
    c.cz(0, 4).ch(1, 3)  # fixed controlled gates: their matrices are made once, not per call
    return c


@pytest.mark.parametrize("method", ["autograd", "adjoint"])
@pytest.mark.parametrize("make", [_w1, _mixed], ids=["w1", "mixed"])
def test_simulate_step_has_no_host_traffic(monkeypatch, method, make):
    dev = torch.device("meta")
    c = make(5, 2) if make is _w1 else make(5)
    x = torch.randn(4, 5, device=dev)
    w = torch.randn(len(c.weight_names), device=dev, requires_grad=True)

    def step():
        (hq.sim.expval_z(hq.simulate(c, x, w, method=method)) ** 2).sum().backward()

    assert _second_call_traffic(monkeypatch, step) == []


@pytest.mark.parametrize("observables", [None, PauliSum.from_list([("XZIII", 1.0), ("IIYYI", 0.5)])])
def test_quantum_layer_step_has_no_host_traffic(monkeypatch, observables):
    layer = QuantumLayer(_w1(5, 2), observables=observables).to("meta")
    x = torch.randn(4, 5, device="meta")
    assert _second_call_traffic(monkeypatch, lambda: layer(x).square().sum().backward()) == []


def test_the_probe_sees_host_copies(monkeypatch):
    table = torch.ones(3)  # a host constant moved per call: what capture cannot replay
    x = torch.ones(3, device="meta")
    found = _second_call_traffic(
        monkeypatch, lambda: x * table.to("meta") + torch.tensor([1.0, 2.0, 3.0], device="meta") + x[[0, 2, 1]]
    )
    assert len(found) == 3
