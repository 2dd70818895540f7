"""Pictures of the grid for ``render()``: a text picture and pygame drawings (array or window).

pygame is imported on first use (see ``envs.pygame_window``), so the CLI's ``--json`` output stays quiet.
"""

from __future__ import annotations

import numpy as np

from envs.gridworld.layout import Layout
from envs.gridworld.pixels import AGENT, cell_colours
from envs.pygame_window import PygameWindow

# Pictures are capped at this many pixels per side; the cell size shrinks to fit large grids.
MAX_SIDE_PX = 1024
GRID_LINE = (150, 150, 150)
TEXT = (255, 255, 255)


def text_picture(layout: Layout, agent: tuple[int, int]) -> str:
    """The map in its own token format, with the agent shown as ``@``."""
    tokens = np.full(layout.shape, ".", dtype=object)
    tokens[layout.walls] = "#"
    tokens[layout.start] = "S"
    for row, col in np.argwhere(layout.terminal):
        tokens[row, col] = f"{layout.terminal_rewards[row, col]:+g}"
    tokens[agent] = "@"
    width = max(len(token) for token in tokens.flat)
    return "\n".join(" ".join(token.rjust(width) for token in row) for row in tokens) + "\n"


class PygameCanvas:
    """Draws the grid with pygame, into an RGB array or a window ticking at ``fps``."""

    def __init__(self, layout: Layout, cell_size: int, fps: int) -> None:
        height, width = layout.shape
        self.cell_px = max(1, min(cell_size, MAX_SIDE_PX // max(height, width)))
        self.size = (width * self.cell_px, height * self.cell_px)
        self._window = PygameWindow(self.size, fps, "rlsuite GridWorld")
        self._pygame = self._window.pygame
        self._background = self._draw_background(layout)

    def _draw_background(self, layout: Layout):
        """The static part: cells coloured by kind, grid lines, and terminal rewards written in."""
        pygame, px = self._pygame, self.cell_px
        cells = cell_colours(layout).repeat(px, axis=0).repeat(px, axis=1)
        surface = pygame.surfarray.make_surface(cells.transpose(1, 0, 2))  # surfarray is [x, y]
        if px >= 4:
            for row in range(layout.shape[0] + 1):
                pygame.draw.line(surface, GRID_LINE, (0, row * px), (self.size[0], row * px))
            for col in range(layout.shape[1] + 1):
                pygame.draw.line(surface, GRID_LINE, (col * px, 0), (col * px, self.size[1]))
        if px >= 20:
            pygame.font.init()
            font = pygame.font.Font(None, int(px * 0.45))
            for row, col in np.argwhere(layout.terminal):
                label = font.render(f"{layout.terminal_rewards[row, col]:+g}", True, TEXT)
                centre = ((col + 0.5) * px, (row + 0.5) * px)
                surface.blit(label, label.get_rect(center=centre))
        return surface

    def _frame(self, agent: tuple[int, int]):
        pygame, px = self._pygame, self.cell_px
        frame = self._background.copy()
        centre = ((agent[1] + 0.5) * px, (agent[0] + 0.5) * px)
        pygame.draw.circle(frame, AGENT, centre, max(1.0, 0.3 * px))
        return frame

    def rgb_array(self, agent: tuple[int, int]) -> np.ndarray:
        """``[H_px, W_px, 3]`` uint8 picture with the agent drawn as a circle."""
        return self._window.to_array(self._frame(agent))

    def show(self, agent: tuple[int, int]) -> None:
        """Draw into the window and wait to keep ``fps``."""
        self._window.show(self._frame(agent))

    def close(self) -> None:
        self._window.close()
