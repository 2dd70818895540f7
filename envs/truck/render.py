"""Pygame pictures of the yard, the dock and the truck (an RGB array or a window).

pygame is imported on first use (see ``envs.pygame_window``), so importing the env needs no display.
"""

from __future__ import annotations

import math

import numpy as np

from envs.pygame_window import PygameWindow
from envs.truck.kinematics import YARD_X, YARD_Y, TruckKinematics
from envs.truck.outcome import DOCK_TOLERANCE

PX_PER_UNIT = 16
MARGIN = 2.0  # world units drawn around the yard
BODY_WIDTH = 1.2
WHEEL_LENGTH = 0.5
GROUND = (70, 70, 70)
YARD = (205, 205, 195)
WALL = (40, 40, 40)
DOCK = (40, 170, 60)
TRAILER = (60, 90, 200)
CAB = (210, 70, 50)
WHEEL = (20, 20, 20)

Point = tuple[float, float]


class TruckCanvas:
    """Draws the truck in its yard, with the cab's front wheels turned by the steering angle."""

    def __init__(self, kinematics: TruckKinematics, target_y: float, fps: int) -> None:
        self._kinematics = kinematics
        self._left, self._top = YARD_X[0] - MARGIN, YARD_Y[1] + MARGIN
        width = (YARD_X[1] - YARD_X[0] + 2 * MARGIN) * PX_PER_UNIT
        height = (YARD_Y[1] - YARD_Y[0] + 2 * MARGIN) * PX_PER_UNIT
        self.size = (int(width), int(height))
        self._window = PygameWindow(self.size, fps, "rlsuite TruckBackerUpper")
        self._pygame = self._window.pygame
        self._background = self._draw_background(target_y)

    def set_target(self, target_y: float) -> None:
        """Move the drawn dock (the env drew a new target)."""
        self._background = self._draw_background(target_y)

    def _px(self, point: Point) -> Point:
        """World (x right, y up) to pixels (x right, y down)."""
        return ((point[0] - self._left) * PX_PER_UNIT, (self._top - point[1]) * PX_PER_UNIT)

    def _draw_background(self, target_y: float):
        pygame = self._pygame
        surface = pygame.Surface(self.size)
        surface.fill(GROUND)
        corners = [
            (YARD_X[0], YARD_Y[1]),
            (YARD_X[1], YARD_Y[1]),
            (YARD_X[1], YARD_Y[0]),
            (YARD_X[0], YARD_Y[0]),
        ]
        pygame.draw.polygon(surface, YARD, [self._px(c) for c in corners])
        wall_width = max(2, PX_PER_UNIT // 3)
        pygame.draw.line(surface, WALL, self._px((0.0, YARD_Y[0])), self._px((0.0, YARD_Y[1])), wall_width)
        dock = (self._px((0.0, target_y - DOCK_TOLERANCE)), self._px((0.0, target_y + DOCK_TOLERANCE)))
        pygame.draw.line(surface, DOCK, *dock, wall_width)
        return surface

    def _body(self, back: Point, heading: float, length: float) -> list[Point]:
        """Pixel corners of a rectangle of ``length`` from ``back`` along ``heading``, BODY_WIDTH wide."""
        c, s = math.cos(heading), math.sin(heading)
        half = BODY_WIDTH / 2
        corners = [(0.0, -half), (length, -half), (length, half), (0.0, half)]
        return [self._px((back[0] + u * c - v * s, back[1] + u * s + v * c)) for u, v in corners]

    def _frame(self, state: np.ndarray, steer: float):
        pygame, kinematics = self._pygame, self._kinematics
        frame = self._background.copy()
        x, y, theta0, theta1 = (float(v) for v in state)
        rear = (
            x - kinematics.trailer_length * math.cos(theta1),
            y - kinematics.trailer_length * math.sin(theta1),
        )
        pygame.draw.polygon(frame, TRAILER, self._body(rear, theta1, kinematics.trailer_length))
        pygame.draw.polygon(frame, CAB, self._body((x, y), theta0, kinematics.cab_length))
        # Front wheels at the cab's front corners, turned by φ relative to the cab.
        c, s = math.cos(theta0), math.sin(theta0)
        wheel_c, wheel_s = math.cos(theta0 + steer), math.sin(theta0 + steer)
        for side in (-BODY_WIDTH / 2, BODY_WIDTH / 2):
            hub = (x + kinematics.cab_length * c - side * s, y + kinematics.cab_length * s + side * c)
            half = (WHEEL_LENGTH / 2 * wheel_c, WHEEL_LENGTH / 2 * wheel_s)
            ends = (
                self._px((hub[0] - half[0], hub[1] - half[1])),
                self._px((hub[0] + half[0], hub[1] + half[1])),
            )
            pygame.draw.line(frame, WHEEL, *ends, max(2, PX_PER_UNIT // 5))
        pygame.draw.circle(frame, WALL, self._px((x, y)), max(2, PX_PER_UNIT // 6))  # the hitch
        return frame

    def rgb_array(self, state: np.ndarray, steer: float) -> np.ndarray:
        """``[H_px, W_px, 3]`` uint8 picture of the truck in state (x, y, θ0, θ1) steering at ``steer``."""
        return self._window.to_array(self._frame(state, steer))

    def show(self, state: np.ndarray, steer: float) -> None:
        """Draw into the window (reopened if another env took it) and wait to keep ``fps``."""
        self._window.show(self._frame(state, steer))

    def close(self) -> None:
        self._window.close()
