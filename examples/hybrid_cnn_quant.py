"""Hybrid CNN -> quantum layer -> 4-bit quantized head on sklearn digits: float vs quantized head.

A small CNN maps each 8x8 digit to ``n`` angles, a ``QuantumLayer`` (angle embedding +
strongly entangling layers, <Z> on each qubit) turns them into ``n`` features and a linear head
gives the 10 class scores. The head is trained in float, then converted to a 4-bit
``QuantLinear``, calibrated and fine-tuned (quantization-aware, the rest frozen). ``--dataset mnist`` or
``fashion`` uses torchvision's MNIST / FashionMNIST instead (downloads; not run in CI). Run:

    python examples/hybrid_cnn_quant.py --epochs 20

Writes ``hybrid.png`` (loss / accuracy curves) and ``hybrid.json``.
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn

from _common import parser, plot_curves, progress, save_results, seed_everything, setup
from example_data import load_digits, load_mnist
from hybridq.circuits import ansatz
from hybridq.nn import QuantLinear, QuantumLayer, Z_each, calibrate, quantization_report


def build_model(n_qubits: int, layers: int) -> nn.Sequential:
    circuit = ansatz.angle_embedding(n_qubits) + ansatz.strongly_entangling(n_qubits, layers)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        nn.Linear(128, n_qubits), nn.Tanh(), Scale(math.pi),
        QuantumLayer(circuit, Z_each(n_qubits)),
        nn.Linear(n_qubits, 10),
    )


class Scale(nn.Module):
    """Multiply by a constant (maps tanh outputs to angles in (-pi, pi))."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


def fit(model, data, epochs: int, lr: float, batch: int, desc: str, disable: bool, params=None):
    x_tr, y_tr, x_te, y_te = data
    opt = torch.optim.Adam(model.parameters() if params is None else params, lr=lr)
    losses, accs, times = [], [], []
    for _ in progress(range(epochs), desc=desc, disable=disable):
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(len(y_tr))
        total = 0.0
        for i in range(0, len(perm), batch):
            idx = perm[i : i + batch]
            loss = nn.functional.cross_entropy(model(x_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        times.append(time.perf_counter() - start)
        losses.append(total / len(y_tr))
        model.eval()
        with torch.no_grad():
            accs.append((model(x_te).argmax(1) == y_te).float().mean().item())
    return losses, accs, times


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=20)
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion"], default="digits")
    p.add_argument("--qubits", type=int, default=6)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--qat-epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch", type=int, default=32)
    args = p.parse_args(argv)
    setup(args)
    seed_everything(0)
    if args.dataset == "digits":
        data = load_digits()
    else:
        data = load_mnist(fashion=args.dataset == "fashion", limit=20000)
    model = build_model(args.qubits, args.layers)
    losses, accs, times = fit(model, data, args.epochs, args.lr, args.batch, "float", args.no_progress)

    quant = copy.deepcopy(model)
    quant[-1] = QuantLinear.from_float(model[-1], weight_bits=4)
    x_tr, y_tr, x_te, y_te = data
    calibrate(quant, x_tr[:512])
    quant.eval()
    with torch.no_grad():
        ptq = (quant(x_te).argmax(1) == y_te).float().mean().item()
    q_losses, q_accs, _ = fit(quant, data, args.qat_epochs, args.lr / 10, args.batch, "4-bit head", args.no_progress,
                             params=quant[-1].parameters())  # only the head is fine-tuned
    report = quantization_report(model, quant, x_te, y_te)
    rows = {row.name: row.accuracy for row in report.rows}
    results = {"float_accuracy": accs[-1], "quantized_ptq_accuracy": ptq, "quantized_qat_accuracy": rows["quantized"],
               "integer_accuracy": rows.get("integer"), "dataset": args.dataset, "qubits": args.qubits,
               "epochs": args.epochs, "seconds_per_epoch": sum(times) / max(1, len(times))}
    plot_curves({"train loss": losses + q_losses, "test accuracy": accs + q_accs}, args.out / "hybrid.png",
                title=f"CNN + {args.qubits}-qubit layer + head (last {args.qat_epochs} epochs: 4-bit QAT)")
    save_results(results, args.out / "hybrid.json")
    print(report)
    return results


if __name__ == "__main__":
    main()
