"""Arrays of equal length as a trainer's batch source, and the standardisation a learned dynamics model keeps.

`ArrayBatches` is what `supervised.trainer.Trainer` trains world models on (transitions, frame sequences,
latent sequences): several numpy arrays sharing dim 0, shuffled together by the trainer's generator.
`Standardiser` holds a mean and standard deviation as module buffers, so a model saved with its weights
carries its normalisation too.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import UserError
from supervised.data.array import index_batches, split_indices


class ArrayBatches:
    """Numpy arrays `[N, ...]` (any dtypes) batched together as tuples of tensors."""

    def __init__(self, *arrays: np.ndarray) -> None:
        if not arrays:
            raise UserError("ArrayBatches needs at least one array")
        self.arrays = tuple(np.ascontiguousarray(a) for a in arrays)
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise UserError(f"arrays must share their first dim, got lengths {sorted(lengths)}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def subset(self, indices: np.ndarray) -> ArrayBatches:
        return ArrayBatches(*(a[indices] for a in self.arrays))

    def split(self, fraction: float, seed: int = 0) -> tuple[ArrayBatches, ArrayBatches]:
        """`(rest, part)`: a random `fraction` of the examples in `part`, drawn with `seed`."""
        rest, part = split_indices([np.arange(len(self))], len(self), fraction, seed)
        return self.subset(rest), self.subset(part)

    def batches(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> Iterator[tuple[Tensor, ...]]:
        """Tuples of tensors covering every example once; shuffled by `rng` if given."""
        for idx in index_batches(len(self), batch_size, rng):
            yield tuple(torch.from_numpy(a[idx]) for a in self.arrays)


class Standardiser(nn.Module):
    """`(x - mean) / std` per feature, with the statistics as buffers (saved with the model).

    Features that never vary keep std 1, so they stay finite (and zero) instead of blowing up.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, data: np.ndarray | Tensor) -> Standardiser:
        data = torch.as_tensor(np.asarray(data), dtype=torch.float32).reshape(-1, self.mean.numel())
        std = data.std(0)
        self.mean.copy_(data.mean(0))
        self.std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))
        return self

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean.to(x)) / self.std.to(x)

    def inverse(self, y: Tensor) -> Tensor:
        return y * self.std.to(y) + self.mean.to(y)
