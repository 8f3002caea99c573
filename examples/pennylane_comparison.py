"""Training time per epoch: one hybrid model in hybridq (QuantumLayer), PennyLane (TorchLayer) and TorchQuantum.

Model: Linear(64, n) -> tanh * pi -> [angle embedding (RY) + strongly entangling layers,
<Z> on each qubit] -> Linear(n, 10), trained on sklearn digits with Adam. The three quantum
layers get the same initial weights, the same batches and the same number of torch threads, in
one run. TorchQuantum 0.1.8 (``pip install --no-deps torchquantum==0.1.8``) is imported behind
the benchmark harness's stand-ins for the dependencies it imports but this model never runs
(``benchmarks/peers/torchquantum_peer.py``); without it, or outside a source checkout, it is
skipped with a note in the results. Run:

    python examples/pennylane_comparison.py --epochs 3 --qubits 6

Writes ``pennylane_comparison.json``: seconds per epoch, ratios to hybridq, final test accuracies,
and each model's largest logit difference to hybridq's before training (the same model: ~1e-7).
"""

from __future__ import annotations

import copy
import importlib.util
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

from _common import parser, save_results, seed_everything, setup
from hybridq.circuits import ansatz
from hybridq.datasets import load_digits
from hybridq.errors import require
from hybridq.nn import QuantumLayer, Z_each
from hybridq.progress import progress
from hybridq.training import accuracy

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def hybridq_layer(n: int, layers: int, weights: torch.Tensor) -> nn.Module:
    layer = QuantumLayer(ansatz.angle_embedding(n) + ansatz.strongly_entangling(n, layers), Z_each(n))
    with torch.no_grad():
        layer.weight.copy_(weights.reshape(-1))
    return layer


def pennylane_layer(n: int, layers: int, weights: torch.Tensor) -> nn.Module:
    qml = require("pennylane", "pennylane")
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n), rotation="Y")
        qml.StronglyEntanglingLayers(weights, wires=range(n))
        return [qml.expval(qml.PauliZ(q)) for q in range(n)]

    layer = qml.qnn.TorchLayer(circuit, {"weights": (layers, n, 3)})
    with torch.no_grad():
        layer.weights.copy_(weights)
    return layer


def import_torchquantum():
    """``(torchquantum, torchquantum.functional)`` imported with the benchmark harness's stand-ins,
    which are removed afterwards so that the real Qiskit stays importable in this process.

    Raises:
        ImportError: TorchQuantum is not installed, or ``benchmarks/`` is not beside ``examples/``.
    """
    if importlib.util.find_spec("torchquantum") is None:
        raise ImportError("torchquantum is not installed (pip install --no-deps torchquantum==0.1.8)")
    if not (BENCHMARKS / "peers" / "torchquantum_peer.py").is_file():
        raise ImportError(f"TorchQuantum is imported through {BENCHMARKS}/peers of a source checkout, not found")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from peers.torchquantum_peer import STUBBED, import_torchquantum as import_with_stand_ins
    finally:
        sys.path.remove(str(BENCHMARKS))
    real = {name: module for name, module in sys.modules.items() if name.split(".")[0] in STUBBED}
    finders = list(sys.meta_path)
    try:
        tq = import_with_stand_ins()
        import torchquantum.functional as tqf
    finally:
        sys.meta_path[:] = finders
        for name in [name for name in sys.modules if name.split(".")[0] in STUBBED]:
            del sys.modules[name]
        sys.modules.update(real)
    return tq, tqf


def torchquantum_layer(n: int, layers: int, weights: torch.Tensor) -> nn.Module:
    tq, tqf = import_torchquantum()

    class TorchQuantumLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.weights = nn.Parameter(weights.clone())

        def forward(self, x):
            qdev = tq.QuantumDevice(n_wires=n, bsz=len(x), device=x.device)
            for q in range(n):
                tqf.ry(qdev, wires=q, params=x[:, q])
            for layer in range(layers):
                for q in range(n):  # Rot(a, b, c) = RZ(c) RY(b) RZ(a), as PennyLane's
                    tqf.rot(qdev, wires=q, params=self.weights[layer, q].unsqueeze(0))
                if n > 1:
                    r = layer % (n - 1) + 1
                    for q in range(n):
                        tqf.cnot(qdev, wires=[q, (q + r) % n])
            return tq.measurement.expval(qdev, list(range(n)), [tq.PauliZ() for _ in range(n)])

    return TorchQuantumLayer()


def model_with(quantum: nn.Module, n: int, body: nn.Module) -> nn.Module:
    class Pi(nn.Module):
        def forward(self, x):
            return torch.tanh(x) * math.pi

    return nn.Sequential(copy.deepcopy(body[0]), Pi(), quantum, copy.deepcopy(body[1]))


def train(model: nn.Module, data, epochs: int, batch: int, desc: str, disable: bool) -> dict:
    """Time the optimisation steps alone (no evaluation inside the timed part), same batches for every model."""
    x_tr, y_tr, x_te, y_te = data
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    times = []
    for _ in progress(range(epochs), desc=desc, disable=disable):
        perm = torch.randperm(len(y_tr), generator=g)
        start = time.perf_counter()
        for i in range(0, len(perm), batch):
            idx = perm[i : i + batch]
            loss = nn.functional.cross_entropy(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return {"seconds_per_epoch": sum(times) / len(times), "test_accuracy": accuracy(model, x_te, y_te)}


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=3)
    p.add_argument("--qubits", type=int, default=6)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args(argv)
    setup(args)
    seed_everything(0)
    x_tr, y_tr, x_te, y_te = load_digits()
    data = (x_tr.flatten(1), y_tr, x_te.flatten(1), y_te)
    n, layers = args.qubits, args.layers
    body = nn.ModuleList([nn.Linear(64, n), nn.Linear(n, 10)])
    weights = torch.rand(layers, n, 3) * 2 * math.pi
    results = {"qubits": n, "layers": layers, "batch": args.batch, "epochs": args.epochs, "threads": args.threads,
               "train_samples": len(y_tr)}
    models, skipped = {}, {}
    builders = {"hybridq": hybridq_layer, "pennylane": pennylane_layer, "torchquantum": torchquantum_layer}
    for name, build in builders.items():
        try:
            models[name] = model_with(build(n, layers, weights), n, body)
        except ImportError as exc:  # PennyLane and TorchQuantum are optional
            skipped[name] = str(exc)
            print(f"{name} skipped: {exc}")
    with torch.no_grad():  # same model: same logits before training, whatever the framework
        logits = {name: model(data[2]) for name, model in models.items()}
    for name, model in models.items():
        results[name] = train(model, data, args.epochs, args.batch, name, args.no_progress)
        results[name]["initial_logit_difference"] = float((logits[name] - logits["hybridq"]).abs().max())
    for name, reason in skipped.items():
        results[name] = {"skipped": reason}
    for name in [name for name in models if name != "hybridq"]:
        results[f"{name}_over_hybridq"] = results[name]["seconds_per_epoch"] / results["hybridq"]["seconds_per_epoch"]
    save_results(results, args.out / "pennylane_comparison.json")
    return results


if __name__ == "__main__":
    main()
