"""Image data sets for the examples: scikit-learn digits (bundled) and MNIST / FashionMNIST.

MNIST and FashionMNIST come through torchvision (imported lazily, downloaded on first use);
they are for users and are not run in CI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def load_digits(*, classes: int = 10, test_fraction: float = 0.25, seed: int = 0):
    """sklearn's 8x8 digits with labels ``< classes``: ``(x_train, y_train, x_test, y_test)``, x in [0, 1], shape (N, 1, 8, 8)."""
    from hybridq.errors import require

    datasets = require("sklearn.datasets", "notebook")
    model_selection = require("sklearn.model_selection", "notebook")
    digits = datasets.load_digits()
    keep = digits.target < classes
    x = torch.tensor(digits.images[keep] / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target[keep])
    tr, te = model_selection.train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y.numpy(), random_state=seed)
    return x[tr], y[tr], x[te], y[te]


def load_mnist(root: str | Path = "~/.cache/hybridq/data", *, fashion: bool = False, classes: int = 10, limit: int | None = None):
    """MNIST (or FashionMNIST with ``fashion=True``) via torchvision: ``(x_train, y_train, x_test, y_test)``.

    Images are ``(N, 1, 28, 28)`` in [0, 1]; only labels ``< classes`` are kept; ``limit``
    caps the number of samples per split.
    """
    try:
        from torchvision import datasets
    except ImportError as exc:
        raise ImportError("MNIST loading needs torchvision: pip install torchvision") from exc
    cls = datasets.FashionMNIST if fashion else datasets.MNIST
    root = Path(root).expanduser()
    out = []
    for train in (True, False):
        ds = cls(root, train=train, download=True)
        x = ds.data.float().div(255.0).unsqueeze(1)
        y = ds.targets
        keep = y < classes
        x, y = x[keep][:limit], y[keep][:limit]
        out += [x, y]
    return tuple(out)
