"""TorchQuantum 0.1.8 (W1, W4): torch autograd through every gate.

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
from workloads import w1_data, w4_angle, w4_data, w4_gates

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


def _prepare_w4(case: dict, dev) -> Bench:
    """A W4 step: the family's gates through ``torchquantum.functional``; the kernel family: the
    states of every sample, then their Gram matrix."""
    import torch

    tq = import_torchquantum()
    import torchquantum.functional as tqf

    data = w4_data(case)
    n, batch, gates = case["n"], case["B"], w4_gates(case)
    kernel = case["family"] == "zz_kernel"  # TorchQuantum's states are complex64
    x = tu.tensor(data["x"], dev)
    params = {k: tu.tensor(v, dev, grad=True) for k, v in data.items() if k != "x"}
    qdev = tq.QuantumDevice(n_wires=n, bsz=batch, device=dev)
    make = {"RX": tqf.rx, "RY": tqf.ry, "RZ": tqf.rz, "CRX": tqf.crx, "RZZ": tqf.rzz, "P": tqf.phaseshift,
            "H": tqf.h, "CNOT": tqf.cnot, "CZ": tqf.cz}
    observables = [tq.PauliZ() for _ in range(n)]

    def run():
        qdev.reset_states(batch)
        for gate, wires, angle in gates:
            target = wires[0] if len(wires) == 1 else list(wires)
            if angle is None:
                make[gate](qdev, wires=target)
            else:
                make[gate](qdev, wires=target, params=w4_angle(angle, x, params))

    if kernel:
        def gram():
            with torch.no_grad():
                run()
                states = qdev.get_states_1d()
                return {"gram": (states @ states.conj().T).abs().square()}

        return Bench(gram, dev.type, "complex64")

    def step():
        for p in params.values():
            p.grad = None
        run()
        out = tq.measurement.expval(qdev, list(range(n)), observables)
        (out**2).sum().backward()
        return {"out": out.detach(), **{f"grad_{k}": p.grad for k, p in params.items()}}

    return Bench(step, dev.type, str(qdev.states.dtype).removeprefix("torch."))


def prepare(workload: str, case: dict, device: str) -> Bench:
    if workload == "W4":
        return _prepare_w4(case, tu.torch_device(device))
    if workload != "W1":
        raise ValueError(f"torchquantum runs W1 and W4, not {workload}")
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
