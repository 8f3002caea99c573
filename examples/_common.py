"""Helpers shared by the example scripts: argument parsing, progress bars, plots, seeding."""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch


def parser(description: str, *, epochs: int, seeds: int = 1) -> argparse.ArgumentParser:
    """An argument parser with the options every example takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    p.add_argument("--seeds", type=int, default=seeds, help=f"independent repetitions (default {seeds})")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--out", type=Path, default=Path("examples_output"), help="folder for plots and results")
    p.add_argument("--no-progress", action="store_true", help="disable progress bars")
    return p


def setup(args: argparse.Namespace) -> None:
    """Apply ``--threads`` and create ``--out``."""
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def progress(iterable: Iterable, *, desc: str, disable: bool = False, total: int | None = None):
    """A tqdm progress bar if tqdm is installed (and not disabled), else the iterable itself."""
    if disable or os.environ.get("CI"):
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=False)


def plot_curves(curves: dict[str, Sequence[float] | Sequence[Sequence[float]]], path: Path, *, title: str,
                xlabel: str = "epoch") -> Path | None:
    """Plot named curves (a list of runs each draws mean and spread) to ``path`` if matplotlib is installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot written")
        return None
    fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.5), squeeze=False)
    for ax, (name, values) in zip(axes[0], curves.items()):
        data = np.atleast_2d(np.asarray(values, dtype=float))
        x = np.arange(1, data.shape[1] + 1)
        mean = data.mean(0)
        ax.plot(x, mean)
        if data.shape[0] > 1:
            ax.fill_between(x, data.min(0), data.max(0), alpha=0.25)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def save_results(results: dict, path: Path) -> None:
    """Write results as JSON and print them."""
    path.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
