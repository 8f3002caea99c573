"""Image data sets: scikit-learn's bundled 8x8 digits, and MNIST / FashionMNIST for users.

Digits come with scikit-learn (``pip install 'hybridq-torch[notebook]'``); nothing is downloaded.
MNIST and FashionMNIST come through torchvision and are downloaded on first use.

>>> x_train, y_train, x_test, y_test = load_digits(classes=8, seed=0)
>>> x_train.shape[1:], int(y_train.max())
(torch.Size([8, 8]), 7)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .errors import require


def load_digits(*, classes: int = 10, train_size: float | int = 0.75, seed: int = 0):
    """scikit-learn's 8x8 digits with labels ``< classes``, split stratified.

    Returns ``(x_train, y_train, x_test, y_test)``: images ``(N, 8, 8)`` float32 in [0, 1] and
    int64 labels. ``train_size`` is a fraction or a number of training images.
    """
    datasets = require("sklearn.datasets", "notebook")
    model_selection = require("sklearn.model_selection", "notebook")
    digits = datasets.load_digits()
    keep = digits.target < classes
    x = torch.tensor(digits.images[keep] / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target[keep])
    train, test = model_selection.train_test_split(
        np.arange(len(y)), train_size=train_size, stratify=y.numpy(), random_state=seed
    )
    return x[train], y[train], x[test], y[test]


def load_mnist(root: str | Path = "~/.cache/hybridq/data", *, fashion: bool = False, classes: int = 10,
               limit: int | None = None):
    """MNIST (or FashionMNIST) through torchvision: ``(x_train, y_train, x_test, y_test)``.

    Images are ``(N, 28, 28)`` float32 in [0, 1]; only labels ``< classes`` are kept; ``limit``
    caps the number of images per split. Downloads on first use (needs ``torchvision``).
    """
    datasets = require("torchvision.datasets", "notebook")
    cls = datasets.FashionMNIST if fashion else datasets.MNIST
    root = Path(root).expanduser()
    out = []
    for train in (True, False):
        ds = cls(root, train=train, download=True)
        x = ds.data.float().div(255.0)
        y = ds.targets
        keep = y < classes
        out += [x[keep][:limit], y[keep][:limit]]
    return tuple(out)
