"""Progress bars for long loops: tqdm when installed and wanted, else the plain iterable.

Bars are off when ``disable=True``, under CI (the ``CI`` environment variable), and when the
environment variable ``HYBRIDQ_PROGRESS`` is ``0`` (or ``false``, ``no``, ``off``), which
``hybridq --quiet`` sets.

>>> list(progress(range(3), desc="demo", disable=True))
[0, 1, 2]
"""

from __future__ import annotations

import os
from typing import Iterable

#: The environment variable that switches progress bars off (``0``, ``false``, ``no``, ``off``).
SWITCH = "HYBRIDQ_PROGRESS"


def wanted() -> bool:
    """Whether progress bars are shown (see the module docstring).

    >>> os.environ[SWITCH] = "0"; wanted()
    False
    >>> del os.environ[SWITCH]
    """
    if os.environ.get("CI"):
        return False
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def progress(iterable: Iterable, *, desc: str = "", disable: bool = False, total: int | None = None, leave: bool = False):
    """Wrap ``iterable`` in a tqdm bar if tqdm is installed and bars are wanted."""
    if disable or not wanted():
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, leave=leave)
