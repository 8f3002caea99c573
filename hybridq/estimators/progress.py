"""Progress bars on long loops: tqdm when installed (and output is a terminal), else silent.

>>> list(progress(range(3), desc="demo"))
[0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Iterable


def progress(iterable: Iterable, *, desc: str, total: int | None = None) -> Iterable:
    """Wrap ``iterable`` in a tqdm bar if tqdm is installed; otherwise return it unchanged."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, total=total, disable=None, leave=False)
