"""Fit a small image with a Quantum Visual Field (neural amplitude encoding, 5 qubits).

A 32x32 RGB crop of scikit-learn's bundled ``china.jpg`` is fitted as a coordinate network:
(x, y) -> MLP -> energies -> Boltzmann amplitudes -> real RY/CNOT ansatz -> <Z_0>, <Z_1>, <Z_2>
as the three colour channels (Wang, Theobalt, Golyanik, NeurIPS 2025). Reports PSNR. Run:

    python examples/qvf_image.py --epochs 2000

Writes ``qvf.png`` (loss / PSNR curves), ``qvf_image.png`` (target vs fit) and ``qvf.json``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from _common import parser, save_results, seed_everything, setup
from hybridq.errors import require
from hybridq.nn import QVF
from hybridq.plotting import plot_curves
from hybridq.progress import progress


def load_crop(size: int) -> torch.Tensor:
    """A ``(size, size, 3)`` crop in [0, 1] of scikit-learn's sample image (downsampled 4x)."""
    datasets = require("sklearn.datasets", "notebook")
    img = torch.tensor(datasets.load_sample_image("china.jpg"), dtype=torch.float32) / 255.0
    img = torch.nn.functional.avg_pool2d(img.permute(2, 0, 1).unsqueeze(0), 4)[0].permute(1, 2, 0)  # (106, 160, 3)
    top, left = 20, 40
    return img[top : top + size, left : left + size]


def psnr(mse: float) -> float:
    return 10 * math.log10(1.0 / mse)


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0], epochs=2000)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--activation", choices=["relu", "sin"], default="relu")
    p.add_argument("--init", choices=["gauss", "identity"], default="gauss")
    p.add_argument("--lr", type=float, default=1e-3)
    args = p.parse_args(argv)
    setup(args)
    seed_everything(0)
    target = load_crop(args.size)  # (S, S, 3)
    s = args.size
    axis = torch.linspace(-1, 1, s)
    coords = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    values = target.reshape(-1, 3) * 2 - 1  # <Z> range
    model = QVF(2, 3, n_qubits=5, layers=args.layers, hidden=args.hidden, activation=args.activation, init=args.init)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.9, patience=50)
    losses, psnrs = [], []
    start = time.perf_counter()
    for _ in progress(range(args.epochs), desc="QVF", disable=args.no_progress):
        loss = torch.nn.functional.mse_loss(model(coords), values)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step(loss.item())
        losses.append(loss.item())
        psnrs.append(psnr(loss.item() / 4))  # pixel MSE in [0, 1] range = MSE in [-1, 1] range / 4
    seconds = time.perf_counter() - start
    with torch.no_grad():
        fit = ((model(coords) + 1) / 2).clamp(0, 1).reshape(s, s, 3)
    mse = float((fit - target).square().mean())
    results = {"psnr_db": psnr(mse), "mse": mse, "epochs": args.epochs, "size": s, "activation": args.activation,
               "init": args.init, "parameters": sum(p.numel() for p in model.parameters()),
               "quantum_parameters": model.quantum.weight.numel(), "seconds_per_epoch": seconds / max(1, args.epochs)}
    plot_curves({"MSE": losses, "PSNR (dB)": psnrs}, args.out / "qvf.png", title="QVF fit of a 32x32 crop")
    _save_images(target, fit, args.out / "qvf_image.png")
    save_results(results, args.out / "qvf.json")
    return results


def _save_images(target: torch.Tensor, fit: torch.Tensor, path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    for ax, img, title in zip(axes, (target, fit), ("target", "QVF")):
        ax.imshow(np.asarray(img))
        ax.set_title(title)
        ax.axis("off")
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
