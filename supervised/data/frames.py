"""Frames from an env with pixel observations, labelled with where the agent is: data for position probes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from core.errors import UserError
from core.validation import check_positive_int, check_seed
from supervised.data.array import ArrayDataset

LabelFn = Callable[[dict[str, Any]], Any]


def agent_cell(info: dict[str, Any]) -> Any:
    """The agent's `(row, col)` from a step's info (GridWorld reports it as `info["cell"]`)."""
    if "cell" not in info:
        raise UserError("the env's info has no 'cell'; pass a label_fn that reads the target from info")
    return info["cell"]


def frame_images(frames: np.ndarray) -> np.ndarray:
    """uint8 frames `[N, H, W, C]` (Gymnasium's layout) as float32 images `[N, C, H, W]` in [0, 1]."""
    return frames.transpose(0, 3, 1, 2) / np.float32(255.0)


def frames_dataset(
    env_factory: Callable[[], gym.Env],
    n: int,
    seed: int = 0,
    label_fn: LabelFn = agent_cell,
    max_episode_steps: int = 100,
) -> ArrayDataset:
    """`n` frames seen by a uniformly random policy, each labelled with `label_fn(info)`.

    Observations must be uint8 images `[H, W, C]` (Gymnasium's layout); they become `[C, H, W]` in
    [0, 1]. The first reset uses `seed` and the action space is seeded with it, so the same seed gives
    the same frames. Reset frames are included; an episode is cut after `max_episode_steps` steps so
    that a long random walk does not crowd out the start. All frames are held in memory.
    """
    n = check_positive_int(n, "n")
    seed = check_seed(seed)
    max_episode_steps = check_positive_int(max_episode_steps, "max_episode_steps")
    env = env_factory()
    try:
        space = env.observation_space
        if not (isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3):
            raise UserError(f"frames_dataset needs uint8 image observations [H, W, C], got {space}")
        env.action_space.seed(seed)
        frames = np.empty((n, *space.shape), dtype=np.uint8)
        labels: list[Any] = []
        obs, info = env.reset(seed=seed)
        steps = 0
        for i in range(n):
            frames[i] = obs
            labels.append(label_fn(info))
            obs, _, terminated, truncated, info = env.step(env.action_space.sample())
            steps += 1
            if terminated or truncated or steps >= max_episode_steps:
                obs, info = env.reset()
                steps = 0
    finally:
        env.close()
    return ArrayDataset(frame_images(frames), np.asarray(labels, dtype=np.int64))
