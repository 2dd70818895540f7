"""Record a policy's episode as a GIF or MP4, from the env's `rgb_array` frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

from core.env_source import EnvSource, env_factory
from core.errors import UserError
from core.policy import Policy, act_one, start_episodes
from core.validation import check_positive_int, check_seed

VIDEO_SUFFIXES = (".gif", ".mp4")


def record_episode(
    policy: Policy,
    env: EnvSource,
    path: str | Path,
    seed: int = 0,
    max_steps: int = 1000,
    fps: int = 10,
    deterministic: bool = True,
) -> dict[str, Any]:
    """Run one episode (reset with `seed`) and write its frames to `path` (.gif or .mp4).

    An env id is made with `render_mode="rgb_array"`; a factory or instance must already have
    it. Returns `{"path", "frames", "return", "length"}`; frames = length + 1 (the reset frame).
    """
    path = _check_video_path(path)
    seed = check_seed(seed)
    max_steps = check_positive_int(max_steps, "max_steps")
    owned = not isinstance(env, gym.Env)
    instance = env_factory(env, render_mode="rgb_array")()
    try:
        if instance.render_mode != "rgb_array":
            raise UserError(f"recording needs render_mode='rgb_array', the env has {instance.render_mode!r}")
        obs, _ = instance.reset(seed=seed)
        start_episodes(policy, [True])
        frames = [instance.render()]
        total, length = 0.0, 0
        while length < max_steps:
            obs, reward, terminated, truncated, _ = instance.step(
                act_one(policy, obs, instance, deterministic)
            )
            frames.append(instance.render())
            total += float(reward)
            length += 1
            if terminated or truncated:
                break
    finally:
        if owned:
            instance.close()
    write_video(frames, path, fps)
    return {"path": str(path), "frames": len(frames), "return": total, "length": length}


def write_video(frames: list[np.ndarray], path: str | Path, fps: int = 10) -> None:
    """Write RGB frames (H x W x 3, uint8) as a looping GIF or an H.264 MP4, by `path`'s suffix.

    The GIF encoder merges identical consecutive frames into one longer frame, so playback
    time is exact but a GIF may hold fewer frames than were given.
    """
    path = _check_video_path(path)
    if not frames:
        raise ValueError("write_video needs at least one frame")
    fps = check_positive_int(fps, "fps")
    stack = np.stack([np.asarray(f) for f in frames])
    if stack.ndim != 4 or stack.shape[-1] != 3 or stack.dtype != np.uint8:
        raise ValueError(f"frames must be H x W x 3 uint8 images, got {stack.shape} {stack.dtype}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        iio.imwrite(path, stack, duration=1000 / fps, loop=0)
    else:
        # Block size 2: H.264 with yuv420p needs even sides; 16 (the default) would rescale most frames.
        iio.imwrite(path, stack, plugin="FFMPEG", fps=fps, macro_block_size=2)


def _check_video_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise UserError(f"video path must end in .gif or .mp4, got {path}")
    return path
