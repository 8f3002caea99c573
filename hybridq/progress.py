"""Progress bars for long loops: tqdm when installed and wanted, else the plain iterable.

Bars are off under CI (the ``CI`` environment variable) and when ``disable=True``.

>>> list(progress(range(3), desc="demo", disable=True))
[0, 1, 2]
"""

from __future__ import annotations

import os
from typing import Iterable


def progress(iterable: Iterable, *, desc: str = "", disable: bool = False, total: int | None = None, leave: bool = False):
    """Wrap ``iterable`` in a tqdm bar if tqdm is installed and bars are wanted."""
    if disable or os.environ.get("CI"):
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=leave)
