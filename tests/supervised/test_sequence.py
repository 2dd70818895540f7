import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from core.errors import UserError
from supervised.sequence import (
    OrderClassifier,
    OrderConfig,
    order_dataset,
    shuffles,
    train_order_classifier,
)
from supervised.trainer import TrainerConfig


def grid():
    return gym.make("rlsuite/GridWorld-v0", obs="pixels", layout="open-5x5", noise=0.0)


def test_shuffles_leave_out_the_identity_and_the_reversal():
    assert len(shuffles(3)) == 4 and (0, 1, 2) not in shuffles(3) and (2, 1, 0) not in shuffles(3)
    assert len(shuffles(4)) == 22


def test_order_dataset_is_balanced_seeded_and_shuffles_in_order_clips():
    data = order_dataset(grid, 40, length=4, seed=0)
    assert data.images.shape == (40, 4, 40 * 40 * 3) and data.labels.tolist() == [1, 0] * 20
    assert np.array_equal(order_dataset(grid, 40, length=4, seed=0).images, data.images)
    assert data.images.min() >= 0 and data.images.max() <= 1
    # In order, no frame repeats the one before it: bumps into walls are left out of the clips.
    assert (np.abs(np.diff(data.images[data.labels == 1], axis=1)).sum(-1) > 0).all()
    with pytest.raises(UserError, match="at least 3 frames"):
        order_dataset(grid, 4, length=2)
    with pytest.raises(UserError, match="hold"):
        order_dataset(grid, 4, hold=1.0)


def test_order_dataset_holds_actions():
    # A uniformly random walker often steps straight back (and then other orders of its clip are walks
    # too); one that holds its actions does so less often.
    def back_steps(hold):
        clips = order_dataset(grid, 400, length=3, seed=0, hold=hold).images[::2]  # the in-order clips
        return np.mean([np.array_equal(clip[0], clip[2]) for clip in clips])

    assert back_steps(0.9) < back_steps(0.0) - 0.1


def test_order_classifier_centres_and_scales_frames_and_sees_order():
    data = order_dataset(grid, 20, length=4, seed=1)
    torch.manual_seed(0)
    model = OrderClassifier(OrderConfig(dim=16, depth=1, heads=2, dropout=0.0), 4, data.images.shape[-1])
    model.fit_normalisation(data.images)
    clips = torch.from_numpy(data.images[:2])
    logits = model(clips)
    assert logits.shape == (2, 2)
    reordered = model(clips[:, [1, 0, 2, 3]])
    assert not torch.allclose(logits, reordered)  # positions make the order matter
    centred = (clips - model.mean) / model.scale
    frames = torch.from_numpy(data.images).reshape(-1, data.images.shape[-1])
    assert torch.allclose(((frames - model.mean) / model.scale).pow(2).sum(-1).mean(), torch.tensor(1.0))
    assert centred.shape == clips.shape


def test_order_classifier_learns_above_chance_on_a_tiny_budget():
    data = order_dataset(grid, 800, length=4, seed=0)  # about two seconds
    cfg = TrainerConfig(epochs=15, batch_size=32, learning_rate=1e-3, progress_bar=False)
    _, metrics = train_order_classifier(data, cfg, OrderConfig(dim=32, depth=1, heads=2, dropout=0.0))
    assert metrics["test_accuracy"] > 0.6 and metrics["n_test"] == 160  # chance is 0.5
