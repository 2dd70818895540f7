"""The truck backer-upper as a Gymnasium env; it steps the torch kinematics with B = 1 in float64."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from core.errors import UserError
from envs.truck.batch import START_TRAILER_OFFSET, START_X
from envs.truck.kinematics import MAX_STEER, YARD_X, YARD_Y, TruckKinematics, wrap_angle
from envs.truck.outcome import Outcome, is_valid_start, judge
from envs.truck.render import TruckCanvas

ANGLE_MODES = ("raw", "sincos")
# Backing straight from the far end of the yard takes 40 / 0.1 = 400 steps; turning round first (a
# half circle of radius up to 10 in the 20-wide yard, ≈ 315 steps) and straightening fit in 1000.
MAX_STEPS = 1000
# Observed points stay within this distance of the yard (the cab's hitch is within L of its front).
OBS_MARGIN = 2.0


class TruckBackerUpperEnv(gym.Env):
    """Back a cab and trailer so the trailer rear docks at (0, ``target_y``), square to the wall.

    The kinematics (state, angle convention, equations) are :class:`TruckKinematics`; how an episode
    ends and the reward are in :mod:`envs.truck.outcome`. The action is the steering angle
    φ ∈ [−π/4, π/4] (radians; values outside are clamped). The env truncates itself after
    ``max_steps`` steps, so that ``info["termination_reason"]`` can say ``"time_limit"``.

    Observations (float32): ``(x, y, θ0, x_rear, y_rear, θ1)`` with angles wrapped to [−π, π)
    (``angles="raw"``), or each angle as a ``(sin, cos)`` pair (``angles="sincos"``, 8 values);
    ``target_conditioned=True`` appends ``target_y``. ``target_range=(low, high)`` draws a new dock
    target ``target_y ~ U[low, high]`` at every reset (for a target-conditioned controller).

    ``info``: ``final_distance`` (trailer rear to the dock), ``final_angle_error_deg`` (|wrap θ1|),
    ``is_success``, ``jackknife``, ``termination_reason`` (None until the episode ends, then
    ``"docked"``, ``"missed_dock"``, ``"jackknife"``, ``"left_yard"`` or ``"time_limit"``).
    ``reset(options={"state": (x, y, θ0, θ1)})`` starts from a given valid state.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}

    def __init__(
        self,
        target_y: float = 0.0,
        angles: str = "raw",
        target_conditioned: bool = False,
        max_steps: int = MAX_STEPS,
        render_mode: str | None = None,
        target_range: tuple[float, float] | None = None,
    ) -> None:
        if angles not in ANGLE_MODES:
            raise UserError(f"unknown angles mode {angles!r}; choose one of {', '.join(ANGLE_MODES)}")
        if not YARD_Y[0] <= target_y <= YARD_Y[1]:
            raise UserError(
                f"target_y must be on the wall, in [{YARD_Y[0]:g}, {YARD_Y[1]:g}]; got {target_y}"
            )
        if target_range is not None:
            target_range = tuple(float(t) for t in target_range)
            if len(target_range) != 2 or not YARD_Y[0] <= target_range[0] <= target_range[1] <= YARD_Y[1]:
                raise UserError(
                    f"target_range must be (low, high) on the wall, within [{YARD_Y[0]:g}, {YARD_Y[1]:g}]; "
                    f"got {target_range}"
                )
        self.target_range = target_range
        if not isinstance(max_steps, int) or max_steps < 1:
            raise UserError(f"max_steps must be a positive integer; got {max_steps!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            modes = ", ".join(self.metadata["render_modes"])
            raise UserError(f"unknown render mode {render_mode!r}; choose one of {modes}")
        self.kinematics = TruckKinematics()
        self.target_y = float(target_y)
        self.render_mode = render_mode
        self._sincos = angles == "sincos"
        self.target_conditioned = bool(target_conditioned)
        self._max_steps = max_steps
        self._state = torch.zeros(1, 4, dtype=torch.float64)
        self._outcome: Outcome | None = None
        self._steps = 0
        self._steer = 0.0
        self._canvas: TruckCanvas | None = None

        self.action_space = spaces.Box(-MAX_STEER, MAX_STEER, shape=(1,), dtype=np.float32)
        self.observation_space = self._observation_box()

    def _observation_box(self) -> spaces.Box:
        x = (YARD_X[0] - OBS_MARGIN, YARD_X[1] + OBS_MARGIN)
        y = (YARD_Y[0] - OBS_MARGIN, YARD_Y[1] + OBS_MARGIN)
        angle = [(-1.0, 1.0), (-1.0, 1.0)] if self._sincos else [(-math.pi, math.pi)]
        bounds = [x, y, *angle, x, y, *angle]
        if self.target_conditioned:
            bounds.append(YARD_Y)
        low, high = np.array(bounds, dtype=np.float32).T
        return spaces.Box(low, high, dtype=np.float32)

    @property
    def state(self) -> np.ndarray:
        """The kinematic state (x, y, θ0, θ1), float64 (angles unwrapped)."""
        return self._state[0].numpy().copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if self.target_range is not None:
            self.target_y = float(self.np_random.uniform(*self.target_range))
            if self._canvas is not None:
                self._canvas.set_target(self.target_y)
        if options and "state" in options:
            self._state = self._given_state(options["state"])
        else:
            self._state = self._random_state()
        self._outcome = judge(self.kinematics, self._state, self.target_y)
        self._steps = 0
        self._steer = 0.0
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info(truncated=False)

    def _given_state(self, value: Any) -> torch.Tensor:
        state = torch.as_tensor(np.asarray(value, dtype=np.float64)).reshape(1, -1)
        if state.shape[1] != 4 or not is_valid_start(self.kinematics, state):
            raise ValueError(
                "options['state'] must be a finite (x, y, θ0, θ1) inside the yard and not jackknifed; "
                f"got {value!r}"
            )
        return state

    def _random_state(self) -> torch.Tensor:
        """θ0 ~ U[0, 2π), θ1 − θ0 ~ U[−π/4, π/4), x ~ U[10, 40], y ~ U[−10, 10], redrawn until valid."""
        rng = self.np_random
        while True:
            theta0 = rng.uniform(0.0, 2 * math.pi)
            theta1 = theta0 + rng.uniform(-START_TRAILER_OFFSET, START_TRAILER_OFFSET)
            x, y = rng.uniform(*START_X), rng.uniform(*YARD_Y)
            state = torch.tensor([[x, y, theta0, theta1]], dtype=torch.float64)
            if is_valid_start(self.kinematics, state):
                return state

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._outcome is None:
            raise RuntimeError("call reset() before step()")
        steer = self._check_action(action)
        with torch.no_grad():
            self._state = self.kinematics.step(self._state, torch.tensor([[steer]], dtype=torch.float64))
        before, self._outcome = self._outcome, judge(self.kinematics, self._state, self.target_y)
        self._steer = min(max(steer, -MAX_STEER), MAX_STEER)
        self._steps += 1
        reward = self._outcome.potential - before.potential + self._outcome.bonus
        terminated = self._outcome.terminated
        truncated = not terminated and self._steps >= self._max_steps
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, terminated, truncated, self._info(truncated)

    @staticmethod
    def _check_action(action: Any) -> float:
        try:
            values = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"action must be a steering angle φ of shape (1,); got {action!r}") from error
        if values.shape not in ((1,), ()):
            raise ValueError(f"action must be a steering angle φ of shape (1,); got shape {values.shape}")
        if not np.isfinite(values).all():
            raise ValueError(f"action (steering angle φ) must be finite; got {action!r}")
        return float(values.reshape(()))

    def _observation(self) -> np.ndarray:
        x, y, theta0, theta1 = self._state[0]
        rear_x, rear_y = self.kinematics.trailer_rear(self._state)[0]
        if self._sincos:
            angles0, angles1 = [theta0.sin(), theta0.cos()], [theta1.sin(), theta1.cos()]
        else:
            angles0, angles1 = [wrap_angle(theta0)], [wrap_angle(theta1)]
        values = [x, y, *angles0, rear_x, rear_y, *angles1]
        if self.target_conditioned:
            values.append(self.target_y)
        return np.array([float(v) for v in values], dtype=np.float32)

    def _info(self, truncated: bool) -> dict[str, Any]:
        outcome = self._outcome
        reason = "time_limit" if truncated else outcome.reason
        return {
            "final_distance": outcome.distance,
            "final_angle_error_deg": math.degrees(outcome.angle_error),
            "is_success": outcome.reason == "docked",
            "jackknife": outcome.reason == "jackknife",
            "termination_reason": reason,
        }

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to the constructor")
            return None
        if self._canvas is None:
            self._canvas = TruckCanvas(self.kinematics, self.target_y, self.metadata["render_fps"])
        if self.render_mode == "rgb_array":
            return self._canvas.rgb_array(self.state, self._steer)
        self._canvas.show(self.state, self._steer)
        return None

    def close(self) -> None:
        if self._canvas is not None:
            self._canvas.close()
            self._canvas = None
