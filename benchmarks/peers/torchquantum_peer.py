"""TorchQuantum 0.1.8 (W1): torch autograd through every gate.

TorchQuantum 0.1.8 pins ``qiskit<1.0`` and imports Qiskit, torchpack and others when the
package is imported, though its state-vector code is plain torch. It is installed with
``pip install --no-deps torchquantum==0.1.8`` and imported behind stand-in modules for those
dependencies (see :func:`import_torchquantum`), so only its torch code runs and the main
environment keeps its Qiskit.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

from . import _torch_util as tu
from . import Bench
from workloads import w1_data

#: Packages TorchQuantum imports at import time but whose code the benchmark never runs.
STUBBED = (
    "qiskit", "qiskit_nature", "qiskit_ibm_runtime", "torchpack", "torchvision",
    "torchdiffeq", "pathos", "opt_einsum", "dill", "pylatexenc",
)


class _StandInMeta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return cls


class _StandIn(metaclass=_StandInMeta):
    """Accepts any construction, call or attribute, so module-level uses import cleanly."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        return self


class _StandInModule(types.ModuleType):
    __path__: list[str] = []
    __file__ = "<stand-in>"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandIn


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StandInModule(spec.name)

    def exec_module(self, module):
        pass


def import_torchquantum():
    """Import torchquantum with stand-ins for its unused heavy dependencies (this process only)."""
    for name in list(sys.modules):
        if name.split(".")[0] in STUBBED:
            del sys.modules[name]
    sys.meta_path.insert(0, _StandInFinder())
    import torchquantum

    return torchquantum


def preload(workload: str) -> None:
    import torch  # noqa: F401

    import_torchquantum()


def prepare(workload: str, case: dict, device: str) -> Bench:
    if workload != "W1":
        raise ValueError(f"torchquantum runs W1 only, not {workload}")
    tq = import_torchquantum()
    import torchquantum.functional as tqf

    dev = tu.torch_device(device)
    data = w1_data(case)
    n, layers, batch = case["n"], case["L"], case["B"]
    x = tu.tensor(data["x"], dev)
    w, b, t = (tu.tensor(data[k], dev, grad=True) for k in ("w", "b", "t"))
    qdev = tq.QuantumDevice(n_wires=n, bsz=batch, device=dev)
    observables = [tq.PauliZ() for _ in range(n)]

    def step():
        for p in (w, b, t):
            p.grad = None
        qdev.reset_states(batch)
        for k in range(layers):
            for i in range(n):
                tqf.ry(qdev, wires=i, params=w[k, i] * x[:, i] + b[k, i])
            for i in range(n):
                tqf.rz(qdev, wires=i, params=t[k, i, 0])
                tqf.ry(qdev, wires=i, params=t[k, i, 1])
            for i in range(n):
                tqf.cnot(qdev, wires=[i, (i + 1) % n])
        out = tq.measurement.expval(qdev, list(range(n)), observables)
        (out**2).sum().backward()
        return {"out": out.detach(), "grad_w": w.grad, "grad_b": b.grad, "grad_t": t.grad}

    return Bench(step, dev.type, str(qdev.states.dtype).removeprefix("torch."))
