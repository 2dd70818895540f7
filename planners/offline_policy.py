"""Policy learning through a learned model, with and without uncertainty regularisation (PPUU, Henaff et
al. 2019, "Model-predictive policy learning with uncertainty regularization"), for the kinematic car.

The policy never touches the env while it learns: from fixed starts and sampled scenarios (a target
and K obstacles) it is unrolled for T steps through a learned model that also says how unsure it is,
s_{t+1}, u_t = M(s_t, π(s_t)), and trained by backpropagation through time on

    L = task(s_1 … s_T) + λ · (1/T) Σ_t u_t / u_data,

where u_t is the model's disagreement with itself (ensemble members, or dropout masks) and u_data its
mean disagreement on the data it was trained on. With λ = 0 the policy is free to steer into states
the model never saw, where its predictions, and so the cost, can be arbitrarily wrong and low: it
"falls off the manifold". With λ > 0 it pays for leaving the data, so it learns mostly where the
model knows the car. ``evaluate_in_env`` tells which held: the policy drives the real KinematicCar-v0.

States are the first five entries of the car env's observation, (x, y, sin θ, cos θ, s); a scenario
row is (target_x, target_y) followed by (x, y, radius) of each of the K obstacles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import UserError
from core.validation import check_positive_int
from envs.car.env import CAR_RADIUS, KinematicCarEnv
from envs.car.kinematics import CarKinematics
from perception.mlp import MLP, MLPConfig

STATE_DIM = 5  # (x, y, sin θ, cos θ, s): the car env's observation without its target
REVERSING = 0.5  # m/s: an episode "reversed" if the car went backwards faster than this


class UncertainDynamics(Protocol):
    """A model (an ``nn.Module``) that predicts the next state and how unsure it is, differentiably."""

    state_dim: int
    action_dim: int

    def step_with_uncertainty(self, state: Tensor, action: Tensor) -> tuple[Tensor, Tensor]: ...


class CarPolicy(nn.Module):
    """``state [B, 5], scenario [B, 2 + 3K] -> (φ, a) [B, 2]`` within the car's bounds (tanh, scaled).

    Features are in the car's frame, so one policy serves every target and obstacle: the target's and
    each obstacle's offsets rotated by −θ (scaled by 1/5 m), the obstacles' radii and the speed.
    """

    def __init__(
        self, obstacles: int = 0, hidden: tuple[int, ...] = (64, 64), kinematics: CarKinematics | None = None
    ) -> None:
        super().__init__()
        self.obstacles = obstacles
        self.kinematics = kinematics or CarKinematics()
        self.mlp = MLP(MLPConfig(3 + 3 * obstacles, 2, hidden=hidden, activation="tanh", out_gain=0.1))
        self.register_buffer("scale", torch.tensor(self.kinematics.action_high, dtype=torch.float32))

    def features(self, state: Tensor, scenario: Tensor) -> Tensor:
        x, y, sin, cos, speed = state.unbind(-1)

        def in_car_frame(px: Tensor, py: Tensor) -> tuple[Tensor, Tensor]:
            dx, dy = px - x, py - y
            return (cos * dx + sin * dy) / 5, (cos * dy - sin * dx) / 5

        if scenario.shape[-1] != 2 + 3 * self.obstacles:
            raise UserError(
                f"a policy for {self.obstacles} obstacles needs scenarios [B, {2 + 3 * self.obstacles}]; "
                f"got {tuple(scenario.shape)}"
            )
        parts = [*in_car_frame(scenario[:, 0], scenario[:, 1])]
        for k in range(self.obstacles):
            column = 2 + 3 * k
            parts += [*in_car_frame(scenario[:, column], scenario[:, column + 1]), scenario[:, column + 2]]
        return torch.stack((*parts, speed / 2), dim=-1)

    def forward(self, state: Tensor, scenario: Tensor) -> Tensor:
        features = self.features(state.float(), scenario.float())
        return torch.tanh(self.mlp(features)) * self.scale


@dataclass
class CarTaskCost:
    """``[B]`` cost of predicted car trajectories for their scenarios: the mean distance to the target
    over t = 1 … T (arrive early, stay), ``speed_weight`` s_T² (be still at the end) and
    ``obstacle_weight`` Σ_t Σ_k max(0, r_k + CAR_RADIUS + margin − gap)² for both axle centres (as
    planners.costs.Obstacles, but different obstacles on every row)."""

    speed_weight: float = 1.0
    obstacle_weight: float = 30.0
    margin: float = 0.1
    wheelbase: float = CarKinematics().wheelbase

    def __call__(self, states: Tensor, scenario: Tensor) -> Tensor:
        after = states[:, 1:]
        position = after[..., :2]
        distance = ((position - scenario[:, None, :2]).pow(2).sum(-1) + 1e-9).sqrt()
        cost = distance.mean(-1) + self.speed_weight * after[:, -1, 4].pow(2)
        circles = scenario[:, 2:].reshape(len(scenario), 1, 1, -1, 3)  # [B, 1, 1, K, (x, y, r)]
        if circles.shape[-2] == 0:
            return cost
        heading = torch.stack((after[..., 3], after[..., 2]), dim=-1)  # (cos θ, sin θ)
        points = torch.stack((position, position + self.wheelbase * heading), dim=-2)  # [B, T, 2, 2]
        gap = ((points.unsqueeze(-2) - circles[..., :2]).pow(2).sum(-1) + 1e-9).sqrt()  # [B, T, 2, K]
        intrusion = (circles[..., 2] + CAR_RADIUS + self.margin - gap).clamp(min=0.0)
        return cost + self.obstacle_weight * intrusion.pow(2).sum(dim=(-3, -2, -1))


@dataclass
class OfflinePolicyConfig:
    """BPTT through the model: ``iterations`` Adam steps on batches of scenarios, each unrolled
    ``horizon`` steps; ``uncertainty_weight`` is λ (0: the task cost alone)."""

    horizon: int = 80
    iterations: int = 300
    batch_size: int = 128
    lr: float = 1e-3
    grad_clip: float = 1.0
    uncertainty_weight: float = 0.0
    seed: int = 0


@dataclass
class OfflinePolicyLog:
    """Per iteration: the task cost and the mean uncertainty u_t / u_data along the predicted rollouts."""

    task_cost: list[float] = field(default_factory=list)
    uncertainty: list[float] = field(default_factory=list)


def unroll(
    policy: CarPolicy, model: UncertainDynamics, starts: Tensor, scenario: Tensor, horizon: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Predicted states ``[B, T+1, S]``, actions ``[B, T, 2]`` and uncertainties ``[B, T]`` of the policy
    driving the model from ``starts [B, S]`` (all differentiable)."""
    states, actions, uncertainties = [starts], [], []
    for _ in range(horizon):
        action = policy(states[-1], scenario)
        state, uncertainty = model.step_with_uncertainty(states[-1], action)
        states.append(state)
        actions.append(action)
        uncertainties.append(uncertainty)
    return torch.stack(states, 1), torch.stack(actions, 1), torch.stack(uncertainties, 1)


def train_offline_policy(
    policy: CarPolicy,
    model: UncertainDynamics,
    starts: Tensor,
    scenarios: Tensor,
    cost: CarTaskCost,
    config: OfflinePolicyConfig,
    data_uncertainty: float,
) -> OfflinePolicyLog:
    """Train ``policy`` in place through ``model`` only: batches of rows of ``starts [N, S]`` and
    ``scenarios [N, 5]`` (the pool drawn once, before training), loss = task + λ · u / u_data."""
    if len(starts) != len(scenarios) or len(starts) == 0:
        raise UserError(f"need as many starts as scenarios (> 0); got {len(starts)} and {len(scenarios)}")
    if not data_uncertainty > 0:
        raise UserError(f"data_uncertainty must be positive; got {data_uncertainty}")
    check_positive_int(config.horizon, "horizon")
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    # The model is fixed: only the policy learns (its weights need no gradient while it does).
    frozen = [parameter for parameter in model.parameters() if parameter.requires_grad]
    for parameter in frozen:
        parameter.requires_grad_(False)
    log = OfflinePolicyLog()
    for _ in range(config.iterations):
        rows = torch.randint(len(starts), (config.batch_size,), generator=generator)
        states, actions, uncertainty = unroll(policy, model, starts[rows], scenarios[rows], config.horizon)
        task = cost(states, scenarios[rows]).mean()
        regulariser = (uncertainty / data_uncertainty).mean()
        loss = task + config.uncertainty_weight * regulariser
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(policy.parameters(), config.grad_clip)
        optimizer.step()
        log.task_cost.append(float(task.detach()))
        log.uncertainty.append(float(regulariser.detach()))
    for parameter in frozen:
        parameter.requires_grad_(True)
    return log


def scenario_of(env: KinematicCarEnv) -> np.ndarray:
    """The scenario row of the env's current episode: its target, then each obstacle's (x, y, r)."""
    return np.array([*env.target, *(v for circle in env.obstacles for v in circle)], dtype=np.float32)


def evaluate_in_env(
    policy: CarPolicy,
    env: KinematicCarEnv,
    seeds: list[int],
    options: list[dict] | None = None,
    reach_distance: float = 0.3,
) -> dict[str, float]:
    """Drive the real env once per seed, reset with ``options[i]`` if given (the env's ``"state"``,
    ``"target"``, ``"obstacles"``). ``success_rate``: the env's
    ``is_success`` (within 0.1 m of the target, slower than 0.05 m/s) at some step of an episode with no
    collision; ``reached_rate``: within ``reach_distance`` of the target at some step, no collision;
    ``reversing_rate``: the car backed up faster than 0.5 m/s at some step."""
    successes, reached, collisions, reversed_, closest, fastest = 0, 0, 0, 0, [], []
    policy.eval()
    if options is not None and len(options) != len(seeds):
        raise UserError(f"need one options dict per seed; got {len(options)} for {len(seeds)} seeds")
    for i, seed in enumerate(seeds):
        obs, info = env.reset(seed=seed, options=options[i] if options is not None else None)
        scenario = torch.from_numpy(scenario_of(env))[None]
        best, top, slowest, done, success = info["distance"], 0.0, 0.0, False, False
        while not done:
            with torch.no_grad():
                action = policy(torch.from_numpy(obs[None, :STATE_DIM]), scenario)[0].numpy()
            obs, _, terminated, truncated, info = env.step(action)
            best, top = min(best, info["distance"]), max(top, abs(info["speed"]))
            slowest = min(slowest, info["speed"])
            success, done = success or info["is_success"], terminated or truncated
        collided = info["collision"]
        successes += success and not collided
        reached += best < reach_distance and not collided
        collisions += collided
        reversed_ += slowest < -REVERSING
        closest.append(best)
        fastest.append(top)
    return {
        "success_rate": successes / len(seeds),
        "reached_rate": reached / len(seeds),
        "collision_rate": collisions / len(seeds),
        "mean_closest_distance": float(np.mean(closest)),
        "mean_top_speed": float(np.mean(fastest)),
        "reversing_rate": reversed_ / len(seeds),
        "episodes": len(seeds),
    }
