"""A small env whose future is multimodal: another agent reaches a fork and turns left or right at random.

The test bed for stochastic forward models (the PPUU lesson): from the state just before the fork the
other agent's next position is one of two points, so a model trained with MSE predicts their average,
a position it never takes, while a latent-variable model can predict either.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from core.errors import UserError
from core.validation import check_positive_int, check_range

SIZE = 64  # pixels of the rgb_array picture
EXTENT = 6.0  # the picture shows [-EXTENT, EXTENT] in x and y
START_EXTENT = 3.0  # the ego starts with |x|, |y| <= this


class ForkEnv(gym.Env):
    """Steer an ego point to a goal while another agent drives up the y axis and forks at y = 0.

    Observation ``[4]`` float32: ``(ego_x, ego_y, other_x, other_y)``. Action ``[2]`` in [-1, 1]: the ego's
    velocity (times ``ego_speed``). The other agent moves ``other_speed`` up per step; on the step that
    takes it from y < 0 to y >= 0 it also moves ``lateral`` left (probability ``p_left``) or right, and
    it keeps drifting that way after. Its start y is drawn from {-1, ..., -fork_after} steps before the
    fork, so every episode holds one fork transition. Reward: minus the ego's distance to the goal
    (0, 4); touching the other agent (distance < ``collision_radius``) ends the episode with -10.
    Episodes are truncated after ``max_steps``; the observation space bounds what that many steps can
    reach, and stepping an ended episode raises.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        p_left: float = 0.5,
        lateral: float = 1.0,
        other_speed: float = 1.0,
        ego_speed: float = 0.5,
        fork_after: int = 4,
        max_steps: int = 8,
        collision_radius: float = 0.3,
        render_mode: str | None = None,
    ) -> None:
        self.p_left = check_range("p_left", p_left, 0.0, 1.0)
        self.lateral = check_range("lateral", lateral, 0.0, EXTENT, low_open=True)
        self.other_speed = check_range("other_speed", other_speed, 0.0, EXTENT, low_open=True)
        self.ego_speed = check_range("ego_speed", ego_speed, 0.0, EXTENT, low_open=True)
        self.fork_after = check_positive_int(fork_after, "fork_after")
        self.max_steps = check_positive_int(max_steps, "max_steps")
        self.collision_radius = check_range("collision_radius", collision_radius, 0.0, EXTENT)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise UserError(f"unknown render mode {render_mode!r}; ForkEnv renders 'rgb_array' only")
        self.render_mode = render_mode
        self.goal = np.array([0.0, 4.0])
        # What max_steps steps can reach: the ego starts in [-3, 3] x [-3, -1] and moves at most
        # ego_speed per axis per step; the other agent starts at most fork_after steps below the fork,
        # climbs other_speed and drifts lateral sideways per step.
        ego = START_EXTENT + self.ego_speed * self.max_steps
        other_y = max(self.fork_after, self.max_steps) * self.other_speed
        high = np.array([ego, ego, self.lateral * self.max_steps, other_y], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
        self._ego = np.zeros(2)
        self._other = np.zeros(2)
        self._steps = 0
        self._done = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        rng = self.np_random
        self._ego = np.array([rng.uniform(-START_EXTENT, START_EXTENT), rng.uniform(-START_EXTENT, -1.0)])
        before = int(rng.integers(1, self.fork_after + 1))  # steps until the fork
        self._other = np.array([0.0, -before * self.other_speed + rng.uniform(0.0, 0.5 * self.other_speed)])
        self._steps = 0
        self._done = False
        return self._obs(), {}

    def step(self, action: np.ndarray):
        if self._done:
            raise RuntimeError("call reset() before step() (the episode has ended)")
        action = np.clip(np.asarray(action, dtype=np.float64).reshape(2), -1.0, 1.0)
        self._ego = self._ego + self.ego_speed * action
        x, y = self._other
        y_next = y + self.other_speed
        if x == 0.0 and y < 0.0 <= y_next:  # the fork: left or right at random
            x = -self.lateral if self.np_random.random() < self.p_left else self.lateral
        elif x != 0.0:  # after the fork it keeps the side it chose
            x = x + np.sign(x) * self.lateral
        self._other = np.array([x, y_next])
        self._steps += 1
        collided = bool(np.linalg.norm(self._ego - self._other) < self.collision_radius)
        reward = -float(np.linalg.norm(self._ego - self.goal)) - (10.0 if collided else 0.0)
        truncated = not collided and self._steps >= self.max_steps
        self._done = collided or truncated
        return self._obs(), reward, collided, truncated, {"collided": collided}

    def _obs(self) -> np.ndarray:
        return np.concatenate([self._ego, self._other]).astype(np.float32)

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array'")
            return None
        image = np.full((SIZE, SIZE, 3), 235, dtype=np.uint8)
        image[:, SIZE // 2] = (200, 200, 200)  # the road up to the fork
        for point, colour in (
            (self.goal, (60, 170, 80)),
            (self._other, (200, 60, 60)),
            (self._ego, (30, 90, 200)),
        ):
            col = int((point[0] + EXTENT) / (2 * EXTENT) * (SIZE - 1))
            row = int((EXTENT - point[1]) / (2 * EXTENT) * (SIZE - 1))
            if 0 <= row < SIZE and 0 <= col < SIZE:
                image[max(row - 2, 0) : row + 3, max(col - 2, 0) : col + 3] = colour
        return image
