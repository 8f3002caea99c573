"""Plots a person would rather look at: training curves, error against shots.

Needs matplotlib (``pip install 'hybridq-torch[notebook]'``); figures are written to files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .errors import require


def _pyplot():
    matplotlib = require("matplotlib", "notebook")
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    return require("matplotlib.pyplot", "notebook")


def plot_curves(curves: Mapping[str, Sequence[float] | Sequence[Sequence[float]]], path: str | Path, *,
                title: str, xlabel: str = "epoch") -> Path:
    """One panel per named curve; a list of runs draws their mean and min-max band.

    >>> import tempfile, os
    >>> out = plot_curves({"loss": [3, 2, 1]}, os.path.join(tempfile.mkdtemp(), "c.png"), title="t")
    >>> out.exists()
    True
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(curves), figsize=(4.5 * len(curves), 3.5), squeeze=False)
    for ax, (name, values) in zip(axes[0], curves.items()):
        data = np.atleast_2d(np.asarray(values, dtype=float))
        x = np.arange(1, data.shape[1] + 1)
        ax.plot(x, data.mean(0))
        if data.shape[0] > 1:
            ax.fill_between(x, data.min(0), data.max(0), alpha=0.25)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_error_vs_shots(measured: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: str | Path, *,
                        title: str, analytic: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
                        target: float | None = None, measured_label: str = "|error|",
                        analytic_label: str = "standard error") -> Path:
    """Log-log error against shots: measured errors as points, analytic standard errors dashed.

    Both map a method name to ``(shots, values)``; a method's two curves share a colour, and
    ``measured_label`` / ``analytic_label`` name them in the legend. ``target`` draws a
    horizontal line (e.g. chemical accuracy).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    analytic = analytic or {}
    for i, name in enumerate(dict.fromkeys([*measured, *analytic])):
        color = f"C{i}"
        if name in measured:
            ax.loglog(*measured[name], marker="o", linestyle=":", color=color, label=f"{name}: {measured_label}")
        if name in analytic:
            ax.loglog(*analytic[name], linestyle="--", color=color, label=f"{name}: {analytic_label}")
    if target is not None:
        ax.axhline(target, color="gray", linewidth=1, label=f"target {1e3 * target:g} mHa")
    ax.set_xlabel("shots")
    ax.set_ylabel("error (Ha)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
