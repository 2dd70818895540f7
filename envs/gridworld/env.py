"""The grid world as a Gymnasium env that samples from its own exact tabular model."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from core.errors import UserError
from envs.gridworld.layout import Layout, get_layout
from envs.gridworld.model import ACTION_NAMES, build_mdp, state_index
from envs.gridworld.pixels import PixelPainter
from envs.gridworld.render import PygameCanvas, text_picture
from envs.mdp import TabularMDP

OBS_MODES = ("index", "coords", "pixels")


class GridWorldEnv(gym.Env):
    """A noisy grid world (the Berkeley CS188 / AIMA gridworld) on any :class:`Layout`.

    Actions 0..3 are N, E, S, W; an action slips to each perpendicular direction with probability
    ``noise / 2``. Every step from a non-terminal cell pays ``living_reward``; any action in a terminal
    cell pays its reward and terminates. ``step`` samples from the rows of :meth:`mdp`, so the env and
    the model used by the exact planners cannot disagree.

    Observations (``obs``):
      - ``"index"``: the state index, ``Discrete(n_states)``.
      - ``"coords"``: ``(row, col)`` as a float32 ``Box`` (a plain vector suits MLP policies as-is).
      - ``"pixels"``: a uint8 RGB image of the grid with the agent, 8+ pixels per cell (see PixelPainter).
    """

    metadata = {"render_modes": ["human", "rgb_array", "ansi"], "render_fps": 4}

    def __init__(
        self,
        layout: str | Layout = "book",
        noise: float = 0.2,
        living_reward: float = 0.0,
        obs: str = "index",
        render_mode: str | None = None,
        layout_seed: int = 0,
        cell_size: int = 48,
    ) -> None:
        if obs not in OBS_MODES:
            raise UserError(f"unknown observation mode {obs!r}; choose one of {', '.join(OBS_MODES)}")
        render_modes = self.metadata["render_modes"]
        if render_mode is not None and render_mode not in render_modes:
            raise UserError(f"unknown render mode {render_mode!r}; choose one of {', '.join(render_modes)}")
        self._layout = layout if isinstance(layout, Layout) else get_layout(layout, seed=layout_seed)
        self._mdp = build_mdp(self._layout, noise, living_reward)
        self._cell_to_state, self._state_to_cell = state_index(self._layout)
        self._start = int(self._cell_to_state[self._layout.start])
        self._state = self._start
        self._obs_mode = obs
        self.render_mode = render_mode
        self._cell_size = cell_size
        self._canvas: PygameCanvas | None = None

        height, width = self._layout.shape
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self._painter = PixelPainter(self._layout) if obs == "pixels" else None
        if obs == "index":
            self.observation_space = spaces.Discrete(self.n_states)
        elif obs == "coords":
            high = np.array([height - 1, width - 1], dtype=np.float32)
            self.observation_space = spaces.Box(np.zeros(2, dtype=np.float32), high, dtype=np.float32)
        else:
            self.observation_space = spaces.Box(0, 255, self._painter.shape, dtype=np.uint8)

    @property
    def layout(self) -> Layout:
        return self._layout

    @property
    def cell_to_state(self) -> np.ndarray:
        """``[H, W]`` int32 state index of each cell, -1 on walls."""
        return self._cell_to_state

    @property
    def state_to_cell(self) -> np.ndarray:
        """``[S, 2]`` int32 (row, col) of each state."""
        return self._state_to_cell

    @property
    def n_states(self) -> int:
        return self._mdp.n_states

    def mdp(self) -> TabularMDP:
        """The exact model this env samples from (built once, at construction)."""
        return self._mdp

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self._state = self._start
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(
                f"invalid action {action!r}: expected an integer in 0..3 ({', '.join(ACTION_NAMES)})"
            )
        state, action = self._state, int(action)
        reward = float(self._mdp.rewards[state, action])
        transitions = self._mdp.transitions
        row = state * len(ACTION_NAMES) + action
        begin, end = transitions.indptr[row], transitions.indptr[row + 1]
        terminated = bool(begin == end)  # an empty row: the episode ends after collecting the reward
        if not terminated:
            cumulative = np.cumsum(transitions.data[begin:end])
            # Searching the inner boundaries only keeps the pick in range whatever the rounding.
            u = self.np_random.random() * cumulative[-1]
            pick = np.searchsorted(cumulative[:-1], u, side="right")
            self._state = int(transitions.indices[begin + pick])
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward, terminated, False, self._info()

    def _cell(self) -> tuple[int, int]:
        row, col = self._state_to_cell[self._state]
        return int(row), int(col)

    def _observation(self) -> Any:
        if self._obs_mode == "index":
            return self._state
        if self._obs_mode == "coords":
            return np.array(self._cell(), dtype=np.float32)
        return self._painter.paint(self._cell())

    def _info(self) -> dict[str, Any]:
        return {"cell": self._cell()}

    def render(self) -> np.ndarray | str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to the constructor")
            return None
        if self.render_mode == "ansi":
            return text_picture(self._layout, self._cell())
        if self._canvas is None:
            self._canvas = PygameCanvas(self._layout, self._cell_size, self.metadata["render_fps"])
        if self.render_mode == "rgb_array":
            return self._canvas.rgb_array(self._cell())
        self._canvas.show(self._cell())
        return None

    def close(self) -> None:
        if self._canvas is not None:
            self._canvas.close()
            self._canvas = None
