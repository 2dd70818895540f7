"""An in-memory image dataset: float32 images in [0, 1] with integer labels, split and batched with seeds."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from core.errors import UserError
from core.validation import check_positive_int, check_range, check_seed


def split_indices(
    groups: list[np.ndarray], n: int, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(rest, part)``: sorted indices into ``n`` examples, ``part`` holding ``fraction`` of each group
    (rounded per group), drawn at random with ``seed``; a UserError if either side would be empty."""
    check_range("fraction", fraction, 0.0, 1.0, low_open=True)
    rng = np.random.default_rng(check_seed(seed))
    chosen = [rng.permutation(group)[: round(fraction * len(group))] for group in groups]
    part = np.sort(np.concatenate(chosen))
    rest = np.setdiff1d(np.arange(n), part)
    if len(part) == 0 or len(rest) == 0:
        raise UserError(f"split fraction {fraction} of {n} examples leaves one side empty")
    return rest, part


def index_batches(n: int, batch_size: int, rng: np.random.Generator | None = None) -> Iterator[np.ndarray]:
    """Index arrays of up to ``batch_size`` covering ``range(n)`` once; shuffled by ``rng`` if given."""
    batch_size = check_positive_int(batch_size, "batch_size")
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


class ArrayDataset:
    """`images [N, C, H, W]` float32 in [0, 1] and `labels [N]` (or `[N, K]`) int64, held in memory.

    Examples of other shapes `[N, ...]` (e.g. sequences of flattened frames `[N, T, D]`) are held the same
    way; `image_shape` is then the shape of one example.

    Plain arrays and index batching, no DataLoader: the datasets here fit in memory, and slicing a
    contiguous array is faster than collating one example at a time.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        images = np.ascontiguousarray(images, dtype=np.float32)
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        if images.ndim < 2:
            raise UserError(f"images must have shape [N, C, H, W] (or [N, ...]), got {images.shape}")
        if labels.ndim not in (1, 2) or len(labels) != len(images):
            raise UserError(
                f"labels must have shape [N] or [N, K] with N = {len(images)}, got {labels.shape}"
            )
        if images.size and (images.min() < 0.0 or images.max() > 1.0):
            raise UserError("images must be scaled to [0, 1]")
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """(C, H, W) of one image (the shape of one example)."""
        return tuple(self.images.shape[1:])

    def subset(self, indices: np.ndarray) -> ArrayDataset:
        """The examples at `indices`, in that order (copies)."""
        return ArrayDataset(self.images[indices], self.labels[indices])

    def split(
        self, fraction: float, seed: int = 0, stratified: bool = True
    ) -> tuple[ArrayDataset, ArrayDataset]:
        """`(rest, part)`: `part` holds about `fraction` of the examples, drawn at random with `seed`.

        Stratified, each class (each distinct label row for `[N, K]` labels) gives the same fraction,
        rounded per class, so both sides keep the class proportions of the whole.
        """
        if stratified:
            _, classes = np.unique(self.labels, axis=0, return_inverse=True)
            groups = [np.flatnonzero(classes.reshape(-1) == c) for c in range(classes.max() + 1)]
        else:
            groups = [np.arange(len(self))]
        rest, part = split_indices(groups, len(self), fraction, seed)
        return self.subset(rest), self.subset(part)

    def batches(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """`(images, labels)` tensor batches covering every example once; shuffled by `rng` if given.

        The last batch may be smaller. Batches share memory with nothing: each is a fresh copy.
        """
        for idx in index_batches(len(self), batch_size, rng):
            yield torch.from_numpy(self.images[idx]), torch.from_numpy(self.labels[idx])

    def __repr__(self) -> str:
        return f"ArrayDataset(n={len(self)}, image_shape={self.image_shape}, labels={self.labels.shape[1:]})"
