"""The probabilistic ensemble (fit, member assignment, gradients) and the PETS loop around it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from envs.pendulum_dynamics import pendulum_cost
from planners import MPPI, GradientMPC
from worldmodels.ensemble import EnsembleConfig, ProbabilisticEnsemble
from worldmodels.pets import PETS


def linear_transitions(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """s' = s + 0.1 (a, −a) with a little noise."""
    rng = np.random.default_rng(seed)
    states = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(n, 1)).astype(np.float32)
    noise = 0.001 * rng.standard_normal((n, 2)).astype(np.float32)
    return states, actions, states + 0.1 * np.concatenate((actions, -actions), axis=1) + noise


def small_ensemble(**kwargs) -> ProbabilisticEnsemble:
    return ProbabilisticEnsemble(EnsembleConfig(2, 1, members=3, hidden=(32, 32), batch_size=64), **kwargs)


def test_fit_lowers_the_loss_and_predicts_the_change() -> None:
    torch.manual_seed(0)
    model = small_ensemble()
    states, actions, next_states = linear_transitions()
    losses = model.fit(states, actions, next_states, epochs=20)
    assert losses[-1] < losses[0] - 1.0
    with torch.no_grad():
        predicted = model.step(torch.from_numpy(states[:100]), torch.from_numpy(actions[:100]))
    error = np.abs(predicted.numpy() - next_states[:100]).mean()
    assert error < 0.01  # the change itself is 0.05 on average


def test_row_b_is_predicted_by_member_b_mod_e() -> None:
    torch.manual_seed(1)
    model = small_ensemble()
    model.fit(*linear_transitions(200), epochs=1)
    state, action = torch.randn(7, 2), torch.randn(7, 1)  # 7 rows, 3 members: padded inside
    with torch.no_grad():
        batched = model.step(state, action)
        x = model.inputs(torch.cat((state, action), dim=-1))
        mean, _ = model(x.unsqueeze(0).expand(3, -1, -1))  # every member on every row
        every = state + model.changes.inverse(mean)  # [E, 7, 2]
    for b in range(7):
        assert torch.allclose(batched[b], every[b % 3, b], atol=1e-6)


def test_steps_are_differentiable_for_gradient_planners() -> None:
    model = small_ensemble()
    model.fit(*linear_transitions(200), epochs=1)
    planner = GradientMPC(model, lambda s, a: s[:, -1].pow(2).sum(-1), 4, -1.0, 1.0, iterations=3)
    planner.plan(np.array([0.5, 0.5], dtype=np.float32))
    assert planner.plan_actions.shape == (4, 1)


def test_sampling_draws_around_the_mean() -> None:
    model = small_ensemble(sample=True, seed=3)
    model.fit(*linear_transitions(200), epochs=2)
    state, action = torch.zeros(6, 2), torch.zeros(6, 1)
    with torch.no_grad():
        draws = model.step(state, action)
    assert not torch.equal(draws[0], draws[3])  # same member, same input, two draws


def test_pets_fits_and_plans_within_its_budget() -> None:
    env = gym.make("Pendulum-v1", max_episode_steps=40)

    def make_planner(model: ProbabilisticEnsemble) -> MPPI:
        return MPPI(model, pendulum_cost, 5, -2.0, 2.0, samples=30)

    # Pendulum's observation is (cos θ, sin θ, θ̇); the planner gets it, the cost reads (θ, θ̇): wrap.
    agent = PETS(env, make_planner, random_steps=40, refit_every=40, epochs=2, ensemble={"hidden": (16,)})
    agent.planner.cost = lambda states, actions: pendulum_cost(
        torch.stack((torch.atan2(states[..., 1], states[..., 0]), states[..., 2]), dim=-1), actions
    )
    agent.learn(100)
    assert agent.num_timesteps == 100 and len(agent.episodes) == 2
    assert len(agent.fit_losses) == 2  # after the random steps, and 40 steps later
    assert agent.seconds["planning"] > 0
    action, _ = agent.predict(np.array([1.0, 0.0, 0.0], dtype=np.float32))
    assert action.shape == (1,) and -2.0 <= action[0] <= 2.0


def test_step_with_uncertainty_is_the_members_mean_and_grows_off_the_data():
    torch.manual_seed(0)
    model = small_ensemble()
    states, actions, next_states = linear_transitions()
    model.fit(states, actions, next_states, epochs=20)
    s, a = torch.from_numpy(states[:50]), torch.from_numpy(actions[:50]).requires_grad_(True)
    following, uncertainty = model.step_with_uncertainty(s, a)
    with torch.no_grad():
        x = model.inputs(torch.cat((s, a), dim=-1))
        every = s + model.changes.inverse(model(x.expand(3, -1, -1))[0])  # [E, 50, 2]
    torch.testing.assert_close(following.detach(), every.mean(0), atol=1e-5, rtol=1e-5)
    assert uncertainty.shape == (50,) and (uncertainty >= 0).all()
    uncertainty.sum().backward()  # a policy's regulariser needs its gradient
    assert a.grad is not None and a.grad.abs().sum() > 0
    with torch.no_grad():
        off = model.step_with_uncertainty(s * 5 + 4, a)[1]
    assert off.mean() > 10 * uncertainty.mean()


def test_save_and_load_round_trip(tmp_path):
    from worldmodels.ensemble import load_ensemble, save_ensemble

    model = small_ensemble()
    model.fit(*linear_transitions(200), epochs=1)
    save_ensemble(model, tmp_path / "ensemble.pt")
    loaded = load_ensemble(tmp_path / "ensemble.pt")
    assert loaded.config_dict() == model.config_dict()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
