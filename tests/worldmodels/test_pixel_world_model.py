"""Pixel world model: GridWorld frame sequences, pooling, and dreams that beat copying the last frame."""

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from core.errors import UserError
from envs.gridworld.env import GridWorldEnv
from supervised.trainer import TrainerConfig
from worldmodels.pixel_world_model import (
    PixelWorldModel,
    PixelWorldModelConfig,
    collect_pixel_sequences,
    fit_pixel_world_model,
    frame_errors,
    pool_frames,
    write_dream,
)


def _sequences(n, seed):
    env = GridWorldEnv("open-4x4", noise=0.0, obs="pixels")  # 9-pixel cells: 36x36 frames
    data = collect_pixel_sequences(env, n, 4, seed=seed, warmup=10)
    data["frames"] = pool_frames(data["frames"], 3)  # 12x12, 3 pixels a cell
    return data


def test_sequences_are_seeded_and_follow_the_actions():
    a, b = _sequences(6, 0), _sequences(6, 0)
    np.testing.assert_array_equal(a["frames"], b["frames"])
    assert a["frames"].shape == (6, 5, 12, 12, 3) and a["actions"].shape == (6, 4)
    moves = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}  # N E S W, noise 0
    for cells, actions in zip(a["cells"], a["actions"], strict=True):
        for t, action in enumerate(actions):
            expected = np.clip(cells[t] + moves[int(action)], 0, 3)
            np.testing.assert_array_equal(cells[t + 1], expected)


def test_pool_frames_averages_blocks():
    frames = np.arange(16, dtype=np.uint8).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(
        pool_frames(frames, 2)[0, :, :, 0], [[2, 4], [10, 12]]
    )  # 2.5, 4.5 round to even
    with pytest.raises(UserError, match="divide"):
        pool_frames(frames, 3)


def test_dreams_beat_copying_the_last_frame(tmp_path):
    torch.manual_seed(0)
    train, test = _sequences(80, 0), _sequences(40, 1)
    model = PixelWorldModel(PixelWorldModelConfig((12, 12, 3), 4, latent_dim=8, hidden=32, vae_hidden=(128,)))
    history = fit_pixel_world_model(
        model,
        train["frames"],
        train["actions"],
        TrainerConfig(epochs=40, batch_size=32, learning_rate=2e-3, progress_bar=False),
        TrainerConfig(epochs=40, batch_size=16, learning_rate=3e-3, progress_bar=False),
    )
    assert history["dynamics"][-1]["train_loss"] < 0.5 * history["dynamics"][0]["train_loss"]
    errors = frame_errors(model, test["frames"], test["actions"], (1, 4))
    for k in (1, 4):
        assert errors[k]["model_mse"] < 0.7 * errors[k]["copy_mse"], errors
    path = write_dream(model, test["frames"][0], test["actions"][0], tmp_path / "dream.gif", scale=2)
    assert iio.imread(path).shape[-3:-1] == (24, 52)  # real | 2-pixel gap | dream, twice the size
    with pytest.raises(UserError, match="actions"):
        model.imagine(test["frames"][:1, 0], np.array([[7]]))
