"""What the example scripts share beyond the package: their command line, seeding and JSON output."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

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
    """Seed Python's, NumPy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def over_seeds(final_accuracies, seconds_per_epoch) -> dict:
    """What a run over several seeds reports: the final test accuracy's mean, spread and value
    per seed, and the mean seconds per epoch.

    >>> over_seeds([0.5, 0.75], [2.0, 4.0])
    {'test_accuracy_mean': 0.625, 'test_accuracy_std': 0.125, 'per_seed': [0.5, 0.75], 'seconds_per_epoch': 3.0}
    """
    acc = np.asarray(final_accuracies, dtype=float)
    return {"test_accuracy_mean": float(acc.mean()), "test_accuracy_std": float(acc.std()), "per_seed": acc.tolist(),
            "seconds_per_epoch": float(np.mean(seconds_per_epoch))}


def save_results(results: dict, path: Path) -> None:
    """Write results as JSON and print them."""
    path.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
