"""Data re-uploading on the circle problem: one qubit classifies points inside / outside a circle.

Points are uniform in [-1, 1]^2; class 1 inside the circle of radius sqrt(2/pi) (balanced
classes), as in Pérez-Salinas et al., Quantum 4, 226 (2020): 200 training points, 4000 test
points, fidelity cost with label states |0>, |1>. Run:

    python examples/reuploading_circle.py --layers 8 --epochs 100 --seeds 3

Writes ``circle_curves.png`` (loss / accuracy curves), ``circle_decision.png`` (the decision map)
and ``circle.json``.
"""

from __future__ import annotations

import math
import time

import torch

from _common import over_seeds, parser, save_results, seed_everything, setup
from hybridq.nn import ReuploadingClassifier
from hybridq.plotting import plot_curves
from hybridq.progress import progress


def circle_data(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(n, 2, generator=generator) * 2 - 1
    return x, (x.square().sum(1) < 2 / math.pi).long()


def train(seed: int, args) -> dict:
    seed_everything(seed)
    g = torch.Generator().manual_seed(seed)
    x_tr, y_tr = circle_data(args.train_size, g)
    x_te, y_te = circle_data(args.test_size, g)
    model = ReuploadingClassifier(args.qubits, 2, args.layers, n_classes=2, cost=args.cost)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    losses, accs = [], []
    start = time.perf_counter()
    for _ in progress(range(args.epochs), desc=f"seed {seed}", disable=args.no_progress):
        perm = torch.randperm(len(y_tr))
        total = 0.0
        for i in range(0, len(perm), args.batch):
            idx = perm[i : i + args.batch]
            loss = model.loss(x_tr[idx], y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y_tr))
        with torch.no_grad():
            accs.append((model.predict(x_te) == y_te).float().mean().item())
    return {"model": model, "losses": losses, "accuracies": accs,
            "seconds_per_epoch": (time.perf_counter() - start) / max(1, args.epochs)}


def plot_decision(model: ReuploadingClassifier, path) -> None:
    import matplotlib.pyplot as plt

    grid = torch.linspace(-1, 1, 101)
    xx, yy = torch.meshgrid(grid, grid, indexing="xy")
    with torch.no_grad():
        pred = model.predict(torch.stack([xx.flatten(), yy.flatten()], 1)).reshape(101, 101)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(pred.numpy(), extent=(-1, 1, -1, 1), origin="lower", cmap="coolwarm", alpha=0.6)
    ax.add_patch(plt.Circle((0, 0), math.sqrt(2 / math.pi), fill=False, color="k"))
    ax.set_title("predicted class (circle = true boundary)")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=100)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--qubits", type=int, default=1)
    p.add_argument("--cost", choices=["fidelity", "weighted_fidelity"], default="fidelity")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--train-size", type=int, default=200)
    p.add_argument("--test-size", type=int, default=4000)
    args = p.parse_args(argv)
    setup(args)
    runs = [train(s, args) for s in range(args.seeds)]
    results = {**over_seeds([r["accuracies"][-1] for r in runs], [r["seconds_per_epoch"] for r in runs]),
               "layers": args.layers, "qubits": args.qubits, "epochs": args.epochs}
    plot_curves({"train cost": [r["losses"] for r in runs], "test accuracy": [r["accuracies"] for r in runs]},
                args.out / "circle_curves.png", title=f"circle, {args.qubits} qubit(s), {args.layers} layers")
    plot_decision(runs[0]["model"], args.out / "circle_decision.png")
    save_results(results, args.out / "circle.json")
    return results


if __name__ == "__main__":
    main()
