"""Hybrid CNN -> quantum layer -> 4-bit quantized head on sklearn digits: float vs quantized head.

A small CNN maps each 8x8 digit to ``n`` angles, a ``QuantumLayer`` (angle embedding +
strongly entangling layers, <Z> on each qubit) turns them into ``n`` features and a linear head
gives the 10 class scores. The model is trained in float (``hybridq.training.train_classifier``:
Adam, cosine schedule), then its head is converted to a 4-bit ``QuantLinear``, calibrated and
fine-tuned (quantization-aware, the rest frozen). ``--dataset mnist`` or
``fashion`` uses torchvision's MNIST / FashionMNIST instead (downloads; not run in CI). Run:

    python examples/hybrid_cnn_quant.py --epochs 20

Writes ``hybrid.png`` (loss / accuracy curves) and ``hybrid.json``.
"""

from __future__ import annotations

import copy
import math

from torch import nn

from _common import parser, save_results, seed_everything, setup
from hybridq.circuits import ansatz
from hybridq.datasets import load_digits, load_mnist
from hybridq.nn import QuantLinear, QuantumLayer, Z_each, calibrate, quantization_report
from hybridq.plotting import plot_curves
from hybridq.training import accuracy, train_classifier


def build_model(n_qubits: int, layers: int) -> nn.Sequential:
    circuit = ansatz.angle_embedding(n_qubits, scale=math.pi) + ansatz.strongly_entangling(n_qubits, layers)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        nn.Linear(128, n_qubits), nn.Tanh(),  # angles pi * tanh in (-pi, pi)
        QuantumLayer(circuit, Z_each(n_qubits)),
        nn.Linear(n_qubits, 10),
    )


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
    x_tr, y_tr, x_te, y_te = data
    x_tr, x_te = x_tr.unsqueeze(1), x_te.unsqueeze(1)  # one channel: (N, 1, H, W)
    model = build_model(args.qubits, args.layers)
    options = {"batch": args.batch, "progress": not args.no_progress}
    float_history = train_classifier(model, x_tr, y_tr, x_te, y_te, epochs=args.epochs, lr=args.lr, desc="float",
                                     **options)

    quant = copy.deepcopy(model)
    quant[-1] = QuantLinear.from_float(model[-1], weight_bits=4)
    calibrate(quant, x_tr[:512])
    ptq = accuracy(quant, x_te, y_te)
    quant[:-1].requires_grad_(False)  # only the head is fine-tuned
    qat_history = train_classifier(quant, x_tr, y_tr, x_te, y_te, epochs=args.qat_epochs, lr=args.lr / 10,
                                   desc="4-bit head", **options)
    report = quantization_report(model, quant, x_te, y_te)
    rows = {row.name: row.accuracy for row in report.rows}
    results = {"float_accuracy": float_history.test_accuracy[-1], "quantized_ptq_accuracy": ptq,
               "quantized_qat_accuracy": rows["quantized"], "integer_accuracy": rows.get("integer"),
               "dataset": args.dataset, "qubits": args.qubits, "epochs": args.epochs,
               "seconds_per_epoch": float_history.seconds_per_epoch}
    plot_curves({"train loss": float_history.losses + qat_history.losses,
                 "test accuracy": float_history.test_accuracy + qat_history.test_accuracy}, args.out / "hybrid.png",
                title=f"CNN + {args.qubits}-qubit layer + head (last {args.qat_epochs} epochs: 4-bit QAT)")
    save_results(results, args.out / "hybrid.json")
    print(report)
    return results


if __name__ == "__main__":
    main()
