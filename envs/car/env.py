"""KinematicCar-v0: drive the tricycle to a target position and stop there, around circular obstacles.

The equations are :class:`CarKinematics` (the env steps them with B = 1 in float64, the same function a
planner differentiates through). The start is at rest at the origin facing +x unless
``reset(options={"state": (x, y, θ, s)})`` says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from core.errors import UserError
from envs.car.kinematics import CarKinematics

MAX_STEPS = 150  # 15 s at dt = 0.1
ARENA = 20.0  # the episode ends when |x| or |y| exceeds this
MAX_SPEED = 10.0  # or when |s| exceeds this (m/s)
CAR_RADIUS = 0.35  # the car's body for collisions: a disc of this radius round each axle centre
SUCCESS_DISTANCE = 0.1
SUCCESS_SPEED = 0.05
COLLISION_PENALTY = 10.0
# Sampled scenarios: a target 3 to 8 m ahead, obstacles on the straight way to it.
TARGET_X, TARGET_Y = (4.0, 8.0), (-3.0, 3.0)
OBSTACLE_FRACTIONS = ((0.4, 0.5), (0.7, 0.8))  # where along the start-target line, per obstacle
OBSTACLE_SIDE = 0.3  # at most this far off the line
OBSTACLE_RADIUS = (0.3, 0.6)

Obstacle = tuple[float, float, float]  # (cx, cy, r)


class KinematicCarEnv(gym.Env):
    """Reach ``target`` (x, y) and stop; avoid the obstacles (circles (cx, cy, r)).

    Action (φ, a): steering angle (rad) and acceleration (m/s²), clamped to the kinematics' bounds.
    Observation (float32): ``(x, y, sin θ, cos θ, s, target_x, target_y)``.
    Reward per step: −dt · distance to the target, and −10 on a collision.
    Terminated on a collision (a disc of radius 0.35 round either axle centre touches an obstacle), on
    leaving the arena [−20, 20]² or above 10 m/s; truncated after ``max_steps``. ``info``: ``distance``,
    ``speed``, ``collision``, ``is_success`` (within 0.1 of the target, |s| < 0.05), ``termination_reason``
    (``"collision"``, ``"left_arena"``, ``"too_fast"``, ``"time_limit"``; None while it goes on).

    ``target=None`` samples a target with each reset; ``obstacles`` is a number of obstacles to sample on
    the straight way to the target, or a list of circles. ``reset(options=...)`` may also give
    ``"state"``, ``"target"`` and ``"obstacles"``.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 10}

    def __init__(
        self,
        target: Sequence[float] | None = (5.0, 1.0),
        obstacles: int | Sequence[Sequence[float]] = 0,
        max_steps: int = MAX_STEPS,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            modes = ", ".join(self.metadata["render_modes"])
            raise UserError(f"unknown render mode {render_mode!r}; choose one of {modes}")
        if not isinstance(max_steps, int) or max_steps < 1:
            raise UserError(f"max_steps must be a positive integer; got {max_steps!r}")
        if isinstance(obstacles, int) and not 0 <= obstacles <= len(OBSTACLE_FRACTIONS):
            raise UserError(f"can sample 0 to {len(OBSTACLE_FRACTIONS)} obstacles; got {obstacles}")
        self.kinematics = CarKinematics()
        self._fixed_target = None if target is None else self._check_target(target)
        self._obstacle_setting = obstacles if isinstance(obstacles, int) else self._check_obstacles(obstacles)
        self._max_steps = max_steps
        self.render_mode = render_mode
        self.target = np.zeros(2)
        self.obstacles: list[Obstacle] = []
        self.path: list[tuple[float, float]] = []
        self.plan_path: np.ndarray | None = None  # a planner's predicted positions, drawn when set
        self._state = torch.zeros(1, 4, dtype=torch.float64)
        self._steer = 0.0
        self._steps = 0
        self._done = True
        self._canvas = None

        car = self.kinematics
        self.action_space = spaces.Box(
            np.array(car.action_low, dtype=np.float32), np.array(car.action_high, dtype=np.float32)
        )
        # One step beyond the arena or the speed limit (the step that ends the episode) stays inside.
        step = car.dt * MAX_SPEED + car.dt * car.max_accel
        reach, fastest = ARENA + step, MAX_SPEED + step
        high = np.array([reach, reach, 1.0, 1.0, fastest, ARENA, ARENA], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)

    @staticmethod
    def _check_target(value: Any) -> np.ndarray:
        target = np.asarray(value, dtype=np.float64).reshape(-1)
        if target.shape != (2,) or not np.isfinite(target).all() or np.abs(target).max() >= ARENA:
            raise UserError(f"target must be (x, y) inside the arena (|x|, |y| < {ARENA:g}); got {value!r}")
        return target

    @staticmethod
    def _check_obstacles(value: Any) -> list[Obstacle]:
        circles = np.asarray(value, dtype=np.float64).reshape(-1, 3) if len(value) else np.zeros((0, 3))
        if not np.isfinite(circles).all() or (circles[:, 2] <= 0).any():
            raise UserError(f"obstacles must be circles (cx, cy, r) with r > 0; got {value!r}")
        return [tuple(float(v) for v in c) for c in circles]

    @property
    def state(self) -> np.ndarray:
        """The kinematic state (x, y, θ, s), float64 (θ unwrapped)."""
        return self._state[0].numpy().copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        if "state" in options:
            state = np.asarray(options["state"], dtype=np.float64).reshape(-1)
            valid = state.shape == (4,) and np.isfinite(state).all()
            if not valid or np.abs(state[:2]).max() >= ARENA or abs(state[3]) > MAX_SPEED:
                raise ValueError(
                    f"options['state'] must be a finite (x, y, θ, s) in the arena, |s| <= {MAX_SPEED:g}; "
                    f"got {state!r}"
                )
            self._state = torch.as_tensor(state).reshape(1, 4).clone()
        else:
            self._state = torch.zeros(1, 4, dtype=torch.float64)
        if "target" in options:
            self.target = self._check_target(options["target"])
        elif self._fixed_target is not None:
            self.target = self._fixed_target.copy()
        else:
            self.target = self.np_random.uniform([TARGET_X[0], TARGET_Y[0]], [TARGET_X[1], TARGET_Y[1]])
        if "obstacles" in options:
            self.obstacles = self._check_obstacles(options["obstacles"])
        elif isinstance(self._obstacle_setting, int):
            self.obstacles = self._sample_obstacles(self._obstacle_setting)
        else:
            self.obstacles = list(self._obstacle_setting)
        self.path = [self._position()]
        self.plan_path = None
        self._steer, self._steps, self._done = 0.0, 0, False
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info(None)

    def _sample_obstacles(self, count: int) -> list[Obstacle]:
        """Circles centred on the straight line from the car to the target, a little to either side."""
        rng = self.np_random
        start, target = np.array(self._position()), self.target
        along = target - start
        normal = np.array([-along[1], along[0]]) / max(np.linalg.norm(along), 1e-9)
        circles = []
        for low, high in OBSTACLE_FRACTIONS[:count]:
            center = (
                start + rng.uniform(low, high) * along + rng.uniform(-OBSTACLE_SIDE, OBSTACLE_SIDE) * normal
            )
            circles.append((float(center[0]), float(center[1]), float(rng.uniform(*OBSTACLE_RADIUS))))
        return circles

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("call reset() before step() (the episode has ended)")
        controls = self._check_action(action)
        with torch.no_grad():
            self._state = self.kinematics.step(self._state, torch.as_tensor(controls).reshape(1, 2))
        self._steer = float(np.clip(controls[0], -self.kinematics.max_steer, self.kinematics.max_steer))
        self._steps += 1
        self.path.append(self._position())
        reason = self._ending()
        reward = -self.kinematics.dt * self._distance() - (
            COLLISION_PENALTY if reason == "collision" else 0.0
        )
        terminated = reason is not None
        truncated = not terminated and self._steps >= self._max_steps
        if truncated:
            reason = "time_limit"
        self._done = terminated or truncated
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, terminated, truncated, self._info(reason)

    @staticmethod
    def _check_action(action: Any) -> np.ndarray:
        try:
            controls = np.asarray(action, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as error:
            raise ValueError(f"action must be (steering φ, acceleration a); got {action!r}") from error
        if controls.shape != (2,) or not np.isfinite(controls).all():
            raise ValueError(
                f"action must be two finite numbers (steering φ, acceleration a); got {action!r}"
            )
        return controls

    def _position(self) -> tuple[float, float]:
        return float(self._state[0, 0]), float(self._state[0, 1])

    def _distance(self) -> float:
        return float(np.hypot(*(np.array(self._position()) - self.target)))

    def collides(self) -> bool:
        """Whether the car's body (a disc round each axle centre) overlaps an obstacle now."""
        points = self.kinematics.footprint(self._state[0]).tolist()
        return any(
            math.hypot(px - cx, py - cy) < r + CAR_RADIUS for px, py in points for cx, cy, r in self.obstacles
        )

    def _ending(self) -> str | None:
        if self.collides():
            return "collision"
        if max(abs(v) for v in self._position()) > ARENA:
            return "left_arena"
        if abs(float(self._state[0, 3])) > MAX_SPEED:
            return "too_fast"
        return None

    def _observation(self) -> np.ndarray:
        x, y, theta, speed = (float(v) for v in self._state[0])
        values = [x, y, math.sin(theta), math.cos(theta), speed, *self.target]
        return np.array(values, dtype=np.float32)

    def _info(self, reason: str | None) -> dict[str, Any]:
        distance, speed = self._distance(), float(self._state[0, 3])
        return {
            "distance": distance,
            "speed": speed,
            "collision": reason == "collision",
            "is_success": distance < SUCCESS_DISTANCE and abs(speed) < SUCCESS_SPEED,
            "termination_reason": reason,
        }

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to the constructor")
            return None
        if self._canvas is None:
            from envs.car.render import CarCanvas

            self._canvas = CarCanvas(self.kinematics, self.metadata["render_fps"])
        scene = (self.state, self._steer, self.target, self.obstacles, self.path, self.plan_path)
        if self.render_mode == "rgb_array":
            return self._canvas.rgb_array(*scene)
        self._canvas.show(*scene)
        return None

    def close(self) -> None:
        if self._canvas is not None:
            self._canvas.close()
            self._canvas = None
