"""JEPA: the Dynamics contract, the EMA target, training without collapse, and planning to a goal image."""

import numpy as np
import pytest
import torch

from core.errors import UserError
from envs.gridworld.env import GridWorldEnv
from envs.gridworld.pixels import AGENT, PixelPainter
from planners.rollout import Dynamics
from supervised.trainer import Trainer, TrainerConfig
from worldmodels.batches import ArrayBatches
from worldmodels.jepa import JEPA, GoalPlanner, JEPAConfig, jepa_loss
from worldmodels.pixel_world_model import collect_pixel_sequences, pool_frames

CONFIG = dict(frame_shape=(12, 12, 3), n_actions=4, embed_dim=8, channels=(8, 16), predictor_hidden=(64,))


def test_contract_and_ema_target():
    model = JEPA(JEPAConfig(**CONFIG, ema=0.5))
    assert isinstance(model, Dynamics) and model.state_dim == 8
    frames = torch.zeros(3, 12, 12, 3, dtype=torch.uint8)
    s = model.embed(frames)
    assert s.shape == (3, 8)
    assert model.step(s, torch.eye(4)[:3]).shape == (3, 8)
    assert not any(p.requires_grad for p in model.target_encoder.parameters())
    with torch.no_grad():
        for p in model.context_encoder.parameters():
            p.add_(1.0)
    before = [p.clone() for p in model.target_encoder.parameters()]
    model.update_target()
    for old, new, online in zip(
        before, model.target_encoder.parameters(), model.context_encoder.parameters(), strict=True
    ):
        torch.testing.assert_close(new, 0.5 * old + 0.5 * online)
    with pytest.raises(UserError, match="too small"):
        JEPAConfig((4, 4, 3), 4)


def test_learns_without_collapse():
    env = GridWorldEnv("open-4x4", noise=0.0, obs="pixels")
    data = collect_pixel_sequences(env, 200, 3, seed=0, warmup=10)
    frames = pool_frames(data["frames"], 3)
    torch.manual_seed(0)
    model = JEPA(JEPAConfig(**{**CONFIG, "embed_dim": 4, "predictor_hidden": (128, 128)}))
    cfg = TrainerConfig(epochs=25, batch_size=32, learning_rate=2e-3, schedule="cosine", progress_bar=False)
    history = Trainer(model, jepa_loss, cfg).fit(ArrayBatches(frames, data["actions"]))
    first, last = history[0], history[-1]
    assert last["train_loss"] < 0.8 * first["train_loss"]  # (the prediction error starts near 0: collapsed)
    assert last["train_variance"] < first["train_variance"]
    model.eval()
    with torch.no_grad():
        embeddings = model.embed(frames.reshape(-1, 12, 12, 3))
    assert embeddings.std(0).min() > 0.1  # no dimension collapsed (the benchmark probes and plans with it)


class GridCoordinates:
    """A stand-in for a trained JEPA whose embedding is the agent's (row, col) and whose predictor moves
    it exactly (walls of the open grid clamp): the planner alone is then under test."""

    state_dim, action_dim = 2, 4
    moves = torch.tensor([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, -1.0]])  # N E S W

    def __init__(self, painter):
        self.painter = painter

    def embed(self, frames):
        k = self.painter.cell_px
        cells = [np.argwhere((f == AGENT).all(-1)).mean(0) // k for f in np.asarray(frames)]
        return torch.tensor(np.array(cells), dtype=torch.float32)

    embed_target = embed

    def step(self, state, action):
        return (state + action @ self.moves).clamp(0, 3)


def test_goal_planner_reaches_every_cell_with_an_exact_model():
    env = GridWorldEnv("open-4x4", noise=0.0, obs="pixels")
    painter = PixelPainter(env.layout)
    model = GridCoordinates(painter)
    goals = [(0, 0), (1, 2), (2, 3), (3, 3), (0, 2), (1, 1)]
    for goal in goals:
        obs, info = env.reset(seed=0)
        planner = GoalPlanner(model, painter.paint(goal), horizon=6, samples=100, elites=10)
        for _ in range(8):
            obs, _, _, _, info = env.step(planner.act(obs))
            if info["cell"] == goal:
                break
        assert info["cell"] == goal


def test_car_pictures_continuous_training_and_bounded_plans():
    from envs.car.env import KinematicCarEnv
    from worldmodels.car_pixels import CarPictures, collect_car_sequences

    env = KinematicCarEnv(obstacles=0, max_steps=10_000)
    pictures = CarPictures(env, max_side=24)
    data = collect_car_sequences(env, pictures, 16, 2, seed=0)
    h, w, c = pictures.frame_shape
    assert c == 6 and max(h, w) <= 24
    assert data["frames"].shape == (16, 3, h, w, 6) and data["frames"].dtype == np.uint8
    assert data["actions"].shape == (16, 2, 2) and data["states"].shape == (16, 3, 4)
    torch.testing.assert_close(  # a stack's older half is the previous stack's newer half
        torch.as_tensor(data["frames"][:, 1:, ..., :3]), torch.as_tensor(data["frames"][:, :-1, ..., 3:])
    )

    torch.manual_seed(0)
    model = JEPA(JEPAConfig(pictures.frame_shape, 2, embed_dim=4, channels=(8, 8), continuous=True))
    assert model.predict(model.embed(data["frames"][:, 0]), torch.as_tensor(data["actions"])).shape == (
        16,
        2,
        4,
    )
    with pytest.raises(UserError, match="2 coordinates"):
        model.one_hot(torch.zeros(3, 1))
    cfg = TrainerConfig(epochs=8, batch_size=8, learning_rate=2e-3, progress_bar=False)
    history = Trainer(model, jepa_loss, cfg).fit(ArrayBatches(data["frames"], data["actions"]))
    assert history[-1]["train_loss"] < history[0]["train_loss"]

    model.eval()
    low, high = env.action_space.low, env.action_space.high
    goal = pictures.frame(np.array([3.0, 1.0, 0.5, 0.0]), 0.0)
    planner = GoalPlanner(model, pictures.stack(goal, goal), 4, 30, 5, 2, 0, low, high)
    start = pictures.frame(np.zeros(4), 0.0)
    action = planner.act(pictures.stack(start, start))
    assert action.shape == (2,) and (low <= action).all() and (action <= high).all()
    with pytest.raises(UserError, match="both"):
        GoalPlanner(model, pictures.stack(goal, goal), action_low=low)


def test_keypoints_and_history():
    from worldmodels.jepa import SpatialSoftmax

    maps = torch.full((1, 2, 5, 7), -30.0)  # 2 channels of 5x7 maps, flattened as a conv trunk gives them
    maps[0, 0, 0, 6] = maps[0, 1, 4, 0] = 30.0  # top right, bottom left
    keypoints = SpatialSoftmax(2, 5, 7)(maps.flatten(1))
    torch.testing.assert_close(keypoints, torch.tensor([[1.0, -1.0, -1.0, 1.0]]))  # (x, y) a channel

    cfg = JEPAConfig((12, 12, 6), 2, embed_dim=4, channels=(8, 8), continuous=True, keypoints=True, history=2)
    model = JEPA(cfg)
    assert model.state_dim == 8
    state = torch.randn(3, 8)
    following = model.step(state, torch.zeros(3, 2))
    torch.testing.assert_close(following[:, :4], state[:, 4:])  # the older embedding shifts out
    frames = torch.randint(0, 255, (5, 4, 12, 12, 6), dtype=torch.uint8)
    loss, metrics = model.loss(frames, torch.zeros(5, 3, 2))
    assert torch.isfinite(loss) and set(metrics) == {"prediction", "variance", "covariance", "smoothness"}
    with pytest.raises(UserError, match="nothing to predict"):
        model.loss(frames[:, :2], torch.zeros(5, 1, 2))
    goal = np.zeros((12, 12, 6), dtype=np.uint8)
    planner = GoalPlanner(model.eval(), goal, 3, 20, 4, 2, 0, (-1.0, -1.0), (1.0, 1.0))
    for _ in range(2):
        assert planner.act(goal).shape == (2,)
    assert len(planner.recent) == 2
