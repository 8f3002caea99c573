"""A small supervised training loop for hybrid classifiers (progress bar, history, accuracy).

>>> import torch
>>> x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
>>> h = train_classifier(torch.nn.Linear(4, 2), x, y, x, y, epochs=2, progress=False)
>>> len(h.losses), 0 <= h.test_accuracy[-1] <= 1
(2, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import torch

from .progress import progress as progress_bar

Tensor = torch.Tensor


@dataclass
class History:
    """Per-epoch training loss and test accuracy, and the wall time per epoch."""

    losses: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds_per_epoch: float = 0.0


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: Tensor, y: Tensor, *, batch: int = 1024) -> float:
    """Fraction of ``x`` whose highest output is the label ``y``."""
    was_training = model.training
    model.eval()
    correct = sum(int((model(x[i : i + batch]).argmax(-1) == y[i : i + batch]).sum()) for i in range(0, len(y), batch))
    model.train(was_training)
    return correct / max(1, len(y))


def train_classifier(
    model: torch.nn.Module,
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
    *,
    epochs: int,
    lr: float = 0.05,
    batch: int = 100,
    outputs: Literal["logits", "probs"] = "logits",
    progress: bool = True,
    desc: str = "train",
    seed: int | None = None,
) -> History:
    """Adam with a cosine schedule on cross-entropy; returns the :class:`History`.

    Args:
        outputs: whether the model returns logits or class probabilities (quantum read-outs).
        progress: show a progress bar with the latest loss and accuracy.
    """
    if seed is not None:
        torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    history = History()
    start = time.perf_counter()
    bar = progress_bar(range(epochs), desc=desc, disable=not progress)
    for _ in bar:
        model.train()
        order = torch.randperm(len(y_train))
        total = 0.0
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            out = model(x_train[idx])
            loss = (torch.nn.functional.nll_loss(out.clamp_min(1e-9).log(), y_train[idx]) if outputs == "probs"
                    else torch.nn.functional.cross_entropy(out, y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        history.losses.append(total / len(y_train))
        history.test_accuracy.append(accuracy(model, x_test, y_test))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{history.losses[-1]:.3f}", acc=f"{history.test_accuracy[-1]:.3f}")
    history.seconds_per_epoch = (time.perf_counter() - start) / max(1, epochs)
    return history
