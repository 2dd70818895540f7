"""Angle arithmetic shared by the envs' torch dynamics."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def wrap_angle(angle: Tensor) -> Tensor:
    """The angle in [−π, π)."""
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi
