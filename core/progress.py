"""Progress bars that show in a terminal and stay out of logs and pipes."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, desc: str, enabled: bool | None = None) -> tqdm:
    """A tqdm bar over `total` steps; use it as a context manager and call `.update(n)`.

    `enabled=None` shows the bar only when stderr is a terminal, so CI logs stay clean;
    `enabled=False` returns a bar that accepts the same calls and prints nothing.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, disable=not enabled, dynamic_ncols=True, file=sys.stderr)
