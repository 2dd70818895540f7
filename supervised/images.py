"""Image grids as PNG files: samples, reconstructions and interpolations from the models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import Tensor

from core.atomic import atomic_write_bytes
from core.errors import UserError

GAP = 1  # pixels of background between tiles


def image_grid(images: np.ndarray | Tensor, n_cols: int, scale: int = 1, gap: int = GAP) -> np.ndarray:
    """`[N, C, H, W]` floats in [0, 1] (C = 1 or 3) tiled `n_cols` per row -> `[rows*H', cols*W', 3]` uint8.

    Each pixel becomes a `scale` x `scale` block (8x8 digits are unreadable at their own size); tiles are
    separated by `gap` white pixels. A missing tile at the end of the last row stays white.
    """
    array = images.detach().cpu().numpy() if isinstance(images, Tensor) else np.asarray(images)
    if array.ndim != 4 or array.shape[1] not in (1, 3) or len(array) == 0:
        raise UserError(f"image_grid expects [N, 1 or 3, H, W] images, got {array.shape}")
    array = np.clip(array, 0.0, 1.0)
    if array.shape[1] == 1:
        array = array.repeat(3, axis=1)
    tiles = (array.transpose(0, 2, 3, 1) * 255).round().astype(np.uint8)
    tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    n, height, width, _ = tiles.shape
    n_rows = -(-n // n_cols)
    grid = np.full((n_rows * (height + gap) - gap, n_cols * (width + gap) - gap, 3), 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, n_cols)
        grid[
            r * (height + gap) : r * (height + gap) + height, c * (width + gap) : c * (width + gap) + width
        ] = tile
    return grid


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    """Write an `[H, W, 3]` uint8 picture to `path` (atomically); return the path."""
    import imageio.v3 as iio

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"expected a .png path, got {path}")
    atomic_write_bytes(path, iio.imwrite("<bytes>", picture, extension=".png"))
    return path
