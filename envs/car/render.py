"""Pygame pictures of the car, its path, its plan, the target and the obstacles (an RGB array or a window).

pygame is imported on first use (see ``envs.pygame_window``), so importing the env needs no display.
The view is a fixed window of the plane around the usual scenarios (start at the origin, target ahead).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from envs.car.env import CAR_RADIUS, SUCCESS_DISTANCE
from envs.car.kinematics import CarKinematics
from envs.pygame_window import PygameWindow

PX_PER_UNIT = 50
VIEW_X, VIEW_Y = (-2.0, 10.0), (-4.5, 4.5)
OVERHANG, BODY_WIDTH, WHEEL_LENGTH = 0.25, 0.5, 0.3  # the body fits the two collision discs
GROUND = (235, 235, 228)
GRID = (215, 215, 205)
TARGET = (40, 170, 60)
OBSTACLE = (90, 90, 90)
PATH = (60, 90, 200)
PLAN = (230, 140, 30)
CAR = (210, 70, 50)
WHEEL = (20, 20, 20)

Point = tuple[float, float]


class CarCanvas:
    """Draws one frame of the car scene; the front wheels turn by the steering angle."""

    def __init__(self, kinematics: CarKinematics, fps: int) -> None:
        self._kinematics = kinematics
        self.size = (
            int((VIEW_X[1] - VIEW_X[0]) * PX_PER_UNIT),
            int((VIEW_Y[1] - VIEW_Y[0]) * PX_PER_UNIT),
        )
        self._window = PygameWindow(self.size, fps, "rlsuite KinematicCar")
        self._pygame = self._window.pygame
        self._background = self._draw_background()

    def _px(self, point: Sequence[float]) -> Point:
        """World (x right, y up) to pixels (x right, y down)."""
        return (float(point[0] - VIEW_X[0]) * PX_PER_UNIT, float(VIEW_Y[1] - point[1]) * PX_PER_UNIT)

    def _draw_background(self):
        pygame = self._pygame
        surface = pygame.Surface(self.size)
        surface.fill(GROUND)
        for x in range(math.ceil(VIEW_X[0]), math.floor(VIEW_X[1]) + 1):
            pygame.draw.line(surface, GRID, self._px((x, VIEW_Y[0])), self._px((x, VIEW_Y[1])))
        for y in range(math.ceil(VIEW_Y[0]), math.floor(VIEW_Y[1]) + 1):
            pygame.draw.line(surface, GRID, self._px((VIEW_X[0], y)), self._px((VIEW_X[1], y)))
        return surface

    def _frame(self, state, steer, target, obstacles, path, plan):
        pygame = self._pygame
        frame = self._background.copy()
        for cx, cy, r in obstacles:
            pygame.draw.circle(frame, OBSTACLE, self._px((cx, cy)), r * PX_PER_UNIT)
        tx, ty = self._px(target)
        pygame.draw.circle(frame, TARGET, (tx, ty), max(SUCCESS_DISTANCE, 0.15) * PX_PER_UNIT, 2)
        pygame.draw.line(frame, TARGET, (tx - 8, ty - 8), (tx + 8, ty + 8), 2)
        pygame.draw.line(frame, TARGET, (tx - 8, ty + 8), (tx + 8, ty - 8), 2)
        if len(path) > 1:
            pygame.draw.lines(frame, PATH, False, [self._px(p) for p in path], 2)
        if plan is not None and len(plan) > 1:
            pygame.draw.lines(frame, PLAN, False, [self._px(p) for p in np.asarray(plan)[:, :2]], 2)
        self._draw_car(frame, state, steer)
        return frame

    def _draw_car(self, frame, state: np.ndarray, steer: float) -> None:
        pygame = self._pygame
        x, y, theta = (float(v) for v in state[:3])
        c, s = math.cos(theta), math.sin(theta)

        def world(u: float, v: float) -> Point:  # car frame (u forward from the rear axle, v left)
            return self._px((x + u * c - v * s, y + u * s + v * c))

        half, nose = BODY_WIDTH / 2, self._kinematics.wheelbase + OVERHANG
        corners = [(-OVERHANG, -half), (nose, -half), (nose, half), (-OVERHANG, half)]
        pygame.draw.polygon(frame, CAR, [world(u, v) for u, v in corners])
        for axle, turn in ((0.0, 0.0), (self._kinematics.wheelbase, steer)):
            for side in (-half, half):
                du, dv = WHEEL_LENGTH / 2 * math.cos(turn), WHEEL_LENGTH / 2 * math.sin(turn)
                ends = (world(axle - du, side - dv), world(axle + du, side + dv))
                pygame.draw.line(frame, WHEEL, *ends, 4)
        for point in self._kinematics.footprint(torch.as_tensor(state, dtype=torch.float64)).tolist():
            pygame.draw.circle(frame, WHEEL, self._px(point), CAR_RADIUS * PX_PER_UNIT, 1)

    def rgb_array(self, state, steer, target, obstacles, path, plan) -> np.ndarray:
        """``[H_px, W_px, 3]`` uint8 picture of the scene."""
        return self._window.to_array(self._frame(state, steer, target, obstacles, path, plan))

    def show(self, state, steer, target, obstacles, path, plan) -> None:
        """Draw into the window and wait to keep ``fps``."""
        self._window.show(self._frame(state, steer, target, obstacles, path, plan))

    def close(self) -> None:
        self._window.close()
