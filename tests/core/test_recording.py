import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest

from core.errors import UserError
from core.recording import record_episode, write_video


def zeros_policy(obs):
    return np.zeros(len(obs), dtype=np.int64)


def test_gif_has_one_frame_per_step_plus_reset(tmp_path, countdown, target_of):
    info = record_episode(
        zeros_policy, lambda: countdown(render_mode="rgb_array"), tmp_path / "ep.gif", seed=4
    )
    length = target_of(4)
    assert info == {
        "path": str(tmp_path / "ep.gif"),
        "frames": length + 1,
        "return": float(length),
        "length": length,
    }
    frames = iio.imread(tmp_path / "ep.gif", index=None)
    assert frames.shape == (length + 1, 8, 12, 3)


def test_mp4_of_cartpole(tmp_path, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")  # headless pygame
    info = record_episode(zeros_policy, "CartPole-v1", tmp_path / "ep.mp4", max_steps=5)
    assert info["length"] == 5
    frames = iio.imread(tmp_path / "ep.mp4", plugin="FFMPEG")
    assert frames.shape == (6, 400, 600, 3)


def test_env_instance_is_left_open(tmp_path, countdown):
    env = countdown(render_mode="rgb_array")
    record_episode(zeros_policy, env, tmp_path / "ep.gif")
    assert not env.closed


def test_needs_rgb_array_rendering(tmp_path):
    with pytest.raises(UserError, match="recording needs render_mode='rgb_array'"):
        record_episode(zeros_policy, gym.make("CartPole-v1"), tmp_path / "ep.gif")


def test_suffix_must_be_gif_or_mp4(tmp_path):
    with pytest.raises(UserError, match="must end in .gif or .mp4"):
        record_episode(zeros_policy, "CartPole-v1", tmp_path / "ep.avi")
    with pytest.raises(UserError, match="must end in .gif or .mp4"):
        write_video([np.zeros((4, 4, 3), np.uint8)], tmp_path / "ep.png")


def test_write_video_checks_frames(tmp_path):
    with pytest.raises(ValueError, match="at least one frame"):
        write_video([], tmp_path / "x.gif")
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        write_video([np.zeros((4, 4), np.float32)], tmp_path / "x.gif")


def test_a_policy_with_memory_is_told_the_episode_starts(tmp_path):
    starts = []

    class Remembering:
        def reset_episodes(self, mask):
            starts.append(mask.tolist())

        def predict(self, obs, deterministic=True):
            return np.zeros(len(obs), dtype=np.int64), None

    record_episode(Remembering(), "CartPole-v1", tmp_path / "cartpole.gif", max_steps=3)
    assert starts == [[True]]
