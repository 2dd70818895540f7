"""Small RGB pictures of the grid for pixel observations, drawn with numpy only (no pygame, fast)."""

from __future__ import annotations

import math

import numpy as np

from envs.gridworld.layout import Layout

EMPTY = (235, 235, 235)
WALL = (40, 40, 48)
START = (170, 200, 240)
GOOD = (60, 170, 80)
BAD = (200, 60, 60)
NEUTRAL = (200, 180, 60)
AGENT = (30, 90, 200)

MIN_CELL_PX = 8
# Stable-Baselines3's default CNN needs images of at least 36x36 pixels.
MIN_IMAGE_SIDE = 36


def cell_colours(layout: Layout) -> np.ndarray:
    """``[H, W, 3]`` uint8 colour of every cell: walls dark, terminals green/red by sign, start blue."""
    colours = np.empty((*layout.shape, 3), dtype=np.uint8)
    colours[:] = EMPTY
    colours[layout.walls] = WALL
    colours[layout.start] = START
    rewards = layout.terminal_rewards
    colours[rewards > 0] = GOOD
    colours[rewards < 0] = BAD
    colours[rewards == 0] = NEUTRAL
    return colours


class PixelPainter:
    """Paints the agent onto a pre-drawn picture of the layout, ``cell_px`` pixels per cell.

    ``cell_px`` is at least 8 and large enough for a 36-pixel short side, so small maps still suit a CNN.
    """

    def __init__(self, layout: Layout) -> None:
        self.cell_px = max(MIN_CELL_PX, math.ceil(MIN_IMAGE_SIDE / min(layout.shape)))
        k = self.cell_px
        self.background = cell_colours(layout).repeat(k, axis=0).repeat(k, axis=1)
        centre = (k - 1) / 2
        y, x = np.mgrid[:k, :k]
        self.disc = (y - centre) ** 2 + (x - centre) ** 2 <= (0.35 * k) ** 2

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.background.shape

    def paint(self, cell: tuple[int, int]) -> np.ndarray:
        """A fresh ``[H*k, W*k, 3]`` uint8 image with the agent drawn as a disc in ``cell``."""
        image = self.background.copy()
        k = self.cell_px
        row, col = cell
        image[row * k : (row + 1) * k, col * k : (col + 1) * k][self.disc] = AGENT
        return image
