"""Torch's intra-op thread count, set for a block and restored after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads (0: unchanged), then restore torch's setting.

    Small networks train faster on one thread: on a shared machine the pool's hand-offs cost more than
    the arithmetic.
    """
    import torch  # here, not at the top: importing core must not pay for torch

    previous = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n:
            torch.set_num_threads(previous)
