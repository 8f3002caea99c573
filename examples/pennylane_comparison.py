"""Training time per epoch: the same hybrid model with hybridq's QuantumLayer and PennyLane's TorchLayer.

Model: Linear(64, n) -> tanh * pi -> [angle embedding (RY) + strongly entangling layers,
<Z> on each qubit] -> Linear(n, 10), trained on sklearn digits with Adam. Both quantum layers
get the same initial weights, the same batches and the same number of torch threads, in one
run (TorchQuantum is compared under benchmarks/, which imports it behind stand-ins). Run:

    python examples/pennylane_comparison.py --epochs 3 --qubits 6

Writes ``pennylane_comparison.json`` (seconds per epoch, ratio, final accuracies).
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn

from _common import parser, save_results, seed_everything, setup
from hybridq.circuits import ansatz
from hybridq.datasets import load_digits
from hybridq.errors import require
from hybridq.nn import QuantumLayer, Z_each
from hybridq.progress import progress
from hybridq.training import accuracy


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
    results["hybridq"] = train(model_with(hybridq_layer(n, layers, weights), n, body), data, args.epochs, args.batch,
                               "hybridq", args.no_progress)
    results["pennylane"] = train(model_with(pennylane_layer(n, layers, weights), n, body), data, args.epochs, args.batch,
                                 "pennylane", args.no_progress)
    results["pennylane_over_hybridq"] = results["pennylane"]["seconds_per_epoch"] / results["hybridq"]["seconds_per_epoch"]
    save_results(results, args.out / "pennylane_comparison.json")
    return results


if __name__ == "__main__":
    main()
