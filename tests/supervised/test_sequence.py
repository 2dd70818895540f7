import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401
from core.errors import UserError
from supervised.sequence import OrderClassifier, OrderConfig, order_dataset, shuffles


def grid():
    return gym.make("rlsuite/GridWorld-v0", obs="pixels", layout="open-5x5", noise=0.0)


def test_shuffles_leave_out_the_identity_and_the_reversal():
    assert len(shuffles(3)) == 4 and (0, 1, 2) not in shuffles(3) and (2, 1, 0) not in shuffles(3)
    assert len(shuffles(4)) == 22


def test_order_dataset_is_balanced_seeded_and_shuffles_in_order_clips():
    data = order_dataset(grid, 40, length=4, seed=0)
    assert data.images.shape == (40, 4, 40 * 40 * 3) and data.labels.tolist() == [1, 0] * 20
    assert np.array_equal(order_dataset(grid, 40, length=4, seed=0).images, data.images)
    # In an in-order clip every step moves the agent by at most one cell: its frames differ in at most
    # two cells' worth of pixels; the shuffled clips hold the same kind of frames in another order.
    assert data.images.min() >= 0 and data.images.max() <= 1
    with pytest.raises(UserError, match="at least 3 frames"):
        order_dataset(grid, 4, length=2)


def test_order_classifier_standardises_frames_and_sees_order():
    data = order_dataset(grid, 20, length=4, seed=1)
    torch.manual_seed(0)
    model = OrderClassifier(OrderConfig(dim=16, depth=1, heads=2, dropout=0.0), 4, data.images.shape[-1])
    model.fit_normalisation(data.images)
    clips = torch.from_numpy(data.images[:2])
    logits = model(clips)
    assert logits.shape == (2, 2)
    reordered = model(clips[:, [1, 0, 2, 3]])
    assert not torch.allclose(logits, reordered)  # positions make the order matter
