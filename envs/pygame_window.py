"""The pygame side every env's pictures share: a quiet lazy import, RGB arrays, and the one window.

pygame is imported when the first picture is drawn, so importing an env stays quiet and needs no display.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


class PygameWindow:
    """Turns finished pygame surfaces into ``[H, W, 3]`` uint8 arrays or shows them in a window at ``fps``."""

    def __init__(self, size: tuple[int, int], fps: int, caption: str) -> None:
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        self.pygame = pygame
        self.size = size
        self._fps = fps
        self._caption = caption
        self._clock = pygame.time.Clock()
        self._opened = False

    def to_array(self, surface: Any) -> np.ndarray:
        """The surface as ``[H_px, W_px, 3]`` uint8 (pygame's surfarray is ``[x, y]``)."""
        return np.ascontiguousarray(self.pygame.surfarray.array3d(surface).transpose(1, 0, 2))

    def show(self, surface: Any) -> None:
        """Draw into the window and wait to keep ``fps``.

        pygame has one window per process, and another env may have closed or resized it, so it is
        (re)opened whenever it is not ours.
        """
        pygame = self.pygame
        window = pygame.display.get_surface()
        if window is None or window.get_size() != self.size:
            pygame.display.init()
            pygame.display.set_caption(self._caption)
            window = pygame.display.set_mode(self.size)
        self._opened = True
        window.blit(surface, (0, 0))
        pygame.event.pump()
        pygame.display.flip()
        self._clock.tick(self._fps)

    def close(self) -> None:
        if self._opened:
            self.pygame.display.quit()
            self._opened = False
