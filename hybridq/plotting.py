"""Plots a person would rather look at: training curves, error against shots.

Needs matplotlib (``pip install 'hybridq-torch[notebook]'``); figures are written to files. They are
``matplotlib.figure.Figure`` objects drawn on their own canvas, so pyplot's state and the
process's matplotlib backend are left as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .errors import require


def _figure(**kwargs):
    """A figure outside pyplot (no global state, no backend switch), saved with its Agg canvas."""
    return require("matplotlib.figure", "notebook").Figure(**kwargs)


def plot_curves(curves: Mapping[str, Sequence[float] | Sequence[Sequence[float]]], path: str | Path, *,
                title: str, xlabel: str = "epoch") -> Path:
    """One panel per named curve; a list of runs draws their mean and min-max band.

    >>> import tempfile, os
    >>> out = plot_curves({"loss": [3, 2, 1]}, os.path.join(tempfile.mkdtemp(), "c.png"), title="t")
    >>> out.exists()
    True
    """
    fig = _figure(figsize=(4.5 * len(curves), 3.5))
    axes = fig.subplots(1, len(curves), squeeze=False)
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
    fig = _figure(figsize=(5.5, 4))
    ax = fig.subplots()
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
    return path


def plot_convergence(energies: Sequence[float], path: str | Path | None = None, *, reference: float | None = None,
                     title: str = "VQE"):
    """Energy per iteration and, with a ``reference`` (e.g. FCI), the error on a log scale.

    Made on a ``matplotlib.figure.Figure`` (no pyplot state, no backend switch): a notebook shows
    the returned figure; with ``path`` it is also written there.

    >>> import tempfile, os
    >>> fig = plot_convergence([-1.0, -1.1, -1.13], os.path.join(tempfile.mkdtemp(), "v.png"), reference=-1.137)
    >>> len(fig.axes)
    2
    """
    figure = require("matplotlib.figure", "notebook")
    values = np.asarray(energies, dtype=float)
    fig = figure.Figure(figsize=(9 if reference is not None else 4.5, 3.5))
    axes = fig.subplots(1, 2 if reference is not None else 1, squeeze=False)[0]
    x = np.arange(1, len(values) + 1)
    axes[0].plot(x, values, marker=".")
    axes[0].set_ylabel("energy (Ha)")
    if reference is not None:
        axes[0].axhline(reference, color="k", ls="--", lw=1, label="reference")
        axes[0].legend()
        axes[1].semilogy(x, np.maximum(np.abs(values - reference), 1e-12), marker=".")
        axes[1].axhline(1.6e-3, color="tab:red", ls=":", lw=1, label="1.6 mHa")
        axes[1].set_ylabel("|E - reference| (Ha)")
        axes[1].legend()
    for ax in axes:
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), dpi=120)
    return fig
