"""Fixed per-feature normalisation, fitted once on a training set and saved with the model."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Normalizer(nn.Module):
    """``(x − mean) / std`` per feature, and back; the statistics are buffers (saved in the state dict)."""

    def __init__(self, dim: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, data: Tensor) -> Normalizer:
        """Set the statistics from ``data [N, dim]``."""
        self.mean.copy_(data.mean(dim=0))
        self.std.copy_(data.std(dim=0).clamp_min(self.eps))
        return self

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std

    def inverse(self, z: Tensor) -> Tensor:
        return z * self.std + self.mean
