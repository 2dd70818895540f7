"""Policy learning through a model with and without uncertainty regularisation (PPUU), on the car."""

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from core.errors import UserError
from envs.car.env import KinematicCarEnv
from envs.car.kinematics import CarKinematics
from planners.offline_policy import (
    STATE_DIM,
    CarPolicy,
    CarTaskCost,
    OfflinePolicyConfig,
    evaluate_in_env,
    scenario_of,
    train_offline_policy,
    unroll,
)
from worldmodels.ensemble import EnsembleConfig, ProbabilisticEnsemble

START = torch.tensor([[0.0, 0.0, 0.0, 1.0, 0.0]])


class TrueCar(nn.Module):
    """The car's own equations in the observation layout, and certain of them (u = 0): a perfect model,
    so these tests see what the policy learns apart from any model error."""

    state_dim, action_dim = STATE_DIM, 2

    def __init__(self, kinematics: CarKinematics | None = None) -> None:
        super().__init__()
        self.kinematics = kinematics or CarKinematics()

    def step_with_uncertainty(self, state: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        x, y, sin, cos, speed = state.unbind(-1)
        following = self.kinematics.step(
            torch.stack((x, y, torch.atan2(sin, cos), speed), -1), action.to(state)
        )
        x, y, theta, speed = following.unbind(-1)
        return torch.stack((x, y, theta.sin(), theta.cos(), speed), -1), torch.zeros_like(speed)


def _scenarios(n: int, seed: int = 0, obstacles: int = 1) -> torch.Tensor:
    env = KinematicCarEnv(target=None, obstacles=obstacles)
    rows = []
    for k in range(n):
        env.reset(seed=seed + k)
        rows.append(scenario_of(env))
    return torch.from_numpy(np.array(rows))


def test_true_car_agrees_with_the_env():
    env = KinematicCarEnv()
    obs, _ = env.reset(seed=0)
    model, state = TrueCar(), torch.from_numpy(obs[None, :STATE_DIM]).double()
    for action in ([0.3, 1.0], [-0.5, 2.0], [0.1, -0.5]):
        obs, *_ = env.step(np.array(action))
        state, uncertainty = model.step_with_uncertainty(state, torch.tensor([action]))
        np.testing.assert_allclose(state[0].numpy(), obs[:STATE_DIM], atol=1e-5)
        assert float(uncertainty) == 0.0


def test_policy_stays_within_the_bounds_and_the_cost_scores_the_task():
    torch.manual_seed(0)
    policy = CarPolicy(1)
    scenario = torch.tensor([[5.0, 1.0, 2.5, 0.5, 0.5]])
    states = torch.randn(64, STATE_DIM) * 10
    actions = policy(states, scenario.expand(64, -1))
    assert actions.shape == (64, 2)
    assert (actions[:, 0].abs() <= 0.5).all() and (actions[:, 1].abs() <= 2.0).all()
    cost = CarTaskCost()
    at_target = torch.tensor([[5.0, 1.0, 0.0, 1.0, 0.0]]).expand(1, 4, -1)
    through_obstacle = torch.tensor([[2.0, 0.5, 0.0, 1.0, 0.0]]).expand(1, 4, -1)
    assert float(cost(at_target, scenario)) < 1e-3
    free = CarTaskCost(obstacle_weight=0.0)(through_obstacle, scenario)
    assert float(cost(through_obstacle, scenario)) > float(free) + 1.0


def test_bad_inputs_are_named():
    policy, model = CarPolicy(1), TrueCar()
    with pytest.raises(UserError, match="starts"):
        train_offline_policy(policy, model, START, _scenarios(2), CarTaskCost(), OfflinePolicyConfig(), 1.0)
    with pytest.raises(UserError, match="data_uncertainty"):
        train_offline_policy(policy, model, START, _scenarios(1), CarTaskCost(), OfflinePolicyConfig(), 0.0)
    with pytest.raises(UserError, match="1 obstacles"):
        policy(START, torch.zeros(1, 2))
    with pytest.raises(UserError, match="one options dict per seed"):
        evaluate_in_env(policy, KinematicCarEnv(obstacles=1), [0, 1], [{}])


def test_training_through_the_true_car_lowers_the_task_cost_and_drives_the_env():
    torch.manual_seed(0)
    scenarios = _scenarios(64, obstacles=0)
    policy = CarPolicy(0)
    config = OfflinePolicyConfig(horizon=30, iterations=40, batch_size=32, lr=1e-2)
    log = train_offline_policy(policy, TrueCar(), START.expand(64, -1), scenarios, CarTaskCost(), config, 1.0)
    assert np.mean(log.task_cost[-5:]) < 0.8 * np.mean(log.task_cost[:5])
    result = evaluate_in_env(policy, KinematicCarEnv(target=None, max_steps=30), [1, 2])
    assert result["episodes"] == 2 and 0.0 <= result["success_rate"] <= 1.0
    assert result["mean_closest_distance"] < 6.0  # it drove towards the targets (4 to 8 m away)


def test_the_regulariser_keeps_the_policy_where_the_model_is_sure():
    # An ensemble that saw the car only at speeds below 1 m/s; the task wants speed.
    rng = np.random.default_rng(0)
    n = 3000
    theta = rng.uniform(-0.5, 0.5, n)
    raw = np.stack((rng.uniform(-1, 8, n), rng.uniform(-3, 3, n), theta, rng.uniform(0, 1, n)), -1)
    actions = np.stack((rng.uniform(-0.5, 0.5, n), rng.uniform(-2, 2, n)), -1).astype(np.float32)
    car = TrueCar()
    states = torch.from_numpy(
        np.stack((raw[:, 0], raw[:, 1], np.sin(theta), np.cos(theta), raw[:, 3]), -1)
    ).float()
    nexts, _ = car.step_with_uncertainty(states, torch.from_numpy(actions))
    torch.manual_seed(0)
    model = ProbabilisticEnsemble(EnsembleConfig(STATE_DIM, 2, members=3, hidden=(32, 32)))
    model.fit(states.numpy(), actions, nexts.numpy(), epochs=15)
    with torch.no_grad():
        data_uncertainty = float(model.step_with_uncertainty(states, torch.from_numpy(actions))[1].mean())
    scenarios = _scenarios(32, obstacles=0)
    uncertainties = []
    for weight in (0.0, 3.0):
        torch.manual_seed(0)
        policy = CarPolicy(0)
        config = OfflinePolicyConfig(
            horizon=20, iterations=30, batch_size=32, lr=3e-3, uncertainty_weight=weight
        )
        train_offline_policy(
            policy, model, START.expand(32, -1), scenarios, CarTaskCost(), config, data_uncertainty
        )
        with torch.no_grad():
            _, _, uncertainty = unroll(policy, model, START.expand(32, -1), scenarios, 20)
        uncertainties.append(float(uncertainty.mean()))
    assert uncertainties[1] < 0.7 * uncertainties[0]
