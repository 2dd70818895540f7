"""Policy gradients: the estimator against a bandit's closed form, baselines, GAE and returns-to-go by hand,
the tanh-squashed Gaussian's density, action shapes, save/load, and learning on CartPole."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.pg import A2C, REINFORCE
from agents.pg.policies import CategoricalPolicy, GaussianPolicy, make_policy
from agents.pg.rollout import RolloutBuffer, gae, returns_to_go
from core.errors import UserError
from rlsuite.registry import get_algorithm

ARM_REWARDS = np.array([6.0, 5.0])  # an offset of 5 on both arms: a baseline has something to remove
LOGITS = np.array([0.5, -0.5])


class BanditEnv(gym.Env):
    """A two-armed bandit: one step, a constant observation, reward ARM_REWARDS[action]."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        return np.zeros(1, dtype=np.float32), float(ARM_REWARDS[action]), True, False, {}


def bandit_gradient(baseline: str, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """The agent's estimate of ∇J with respect to the logits, and its per-component standard error."""
    agent = REINFORCE(BanditEnv(), baseline=baseline, net_arch=(), n_envs=1, n_steps=n, seed=3)
    layer = agent.policy.logits.net[0]  # with no hidden layers, logits = W·0 + b = b
    with torch.no_grad():
        layer.bias.copy_(torch.tensor(LOGITS))
    buffer = agent.collect()
    policy_loss, _ = agent.losses(buffer)
    policy_loss.backward()
    estimate = -layer.bias.grad.numpy()
    # per-sample terms ∇_b log π(a) (G − b) = (onehot(a) − π)(G − b), for the standard error
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum()
    advantages, _ = agent.advantages(buffer)
    samples = (np.eye(2)[buffer.actions[:, 0]] - probs) * advantages[:, 0, None]
    return estimate, samples.std(axis=0) / math.sqrt(n)


def closed_form_gradient() -> np.ndarray:
    """J = Σ_a π_a r_a with π = softmax(b): ∂J/∂b_k = π_k (r_k − J)."""
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum()
    return probs * (ARM_REWARDS - probs @ ARM_REWARDS)


@pytest.mark.parametrize("baseline", ["none", "mean", "value"])
def test_policy_gradient_on_a_bandit_matches_the_closed_form(baseline):
    estimate, stderr = bandit_gradient(baseline)
    np.testing.assert_array_less(np.abs(estimate - closed_form_gradient()), 4 * stderr + 1e-6)


def test_a_baseline_keeps_the_expected_gradient_and_cuts_its_variance():
    _, stderr_none = bandit_gradient("none")
    estimate, stderr_mean = bandit_gradient("mean")
    np.testing.assert_array_less(np.abs(estimate - closed_form_gradient()), 4 * stderr_mean)
    assert (stderr_mean < stderr_none / 5).all()  # the offset of 5 dominated the spread


class CounterEnv(gym.Env):
    """Observation: the step count; reward 0; truncated after three steps (never terminated)."""

    observation_space = gym.spaces.Box(0.0, 10.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.float32([self.t]), {}

    def step(self, action):
        self.t += 1
        return np.float32([self.t]), 0.0, False, self.t == 3, {}


def test_collection_bootstraps_truncation_from_the_true_final_observation():
    agent = A2C(CounterEnv(), net_arch=(), n_envs=1, n_steps=7)
    with torch.no_grad():  # V(s) = s
        agent.value.net[0].weight.fill_(1.0)
        agent.value.net[0].bias.zero_()
    buffer = agent.collect()
    np.testing.assert_array_equal(buffer.obs[:, 0, 0], [0, 1, 2, 0, 1, 2, 0])  # SAME_STEP: reset obs at once
    np.testing.assert_array_equal(buffer.truncated[:, 0], [0, 0, 1, 0, 0, 1, 0])
    # at a truncation V(s_{t+1}) is V(final obs) = 3, not V(reset obs) = 0
    np.testing.assert_array_equal(buffer.next_values[:, 0], [1, 2, 3, 1, 2, 3, 1])


def hand_trajectory() -> RolloutBuffer:
    """One env, four steps: truncated at t=1 (V(final obs) = 2), terminated at t=2, cut off after t=3."""
    buffer = RolloutBuffer(4, 1, (1,), (), np.int64)
    values = [0.5, 0.6, 0.7, 0.8]
    truncated = [False, True, False, False]
    terminated = [False, False, True, False]
    for t in range(4):
        flags = np.array([terminated[t]]), np.array([truncated[t]])
        buffer.add(
            np.zeros((1, 1)),
            np.zeros(1),
            np.array([t + 1.0]),
            *flags,
            np.zeros(1),
            np.array([values[t]]),
            np.array([2.0]),
        )
    buffer.finish(np.array([0.9]))
    return buffer


def test_gae_on_a_hand_computed_trajectory():
    b = hand_trajectory()
    np.testing.assert_allclose(b.next_values[:, 0], [0.6, 2.0, 0.0, 0.9])
    advantages, targets = gae(b.rewards, b.values, b.next_values, b.terminated, b.truncated, 0.9, 0.8)
    # δ = [1 + .9·.6 − .5, 2 + .9·2 − .6, 3 − .7, 4 + .9·.9 − .8]; A_0 = δ_0 + .72 A_1, the rest end episodes
    deltas = [1.04, 3.2, 2.3, 4.01]
    np.testing.assert_allclose(advantages[:, 0], [1.04 + 0.72 * 3.2, *deltas[1:]], rtol=1e-6)
    np.testing.assert_allclose(targets, advantages + b.values, rtol=1e-6)


def test_returns_to_go_by_hand():
    b = hand_trajectory()
    returns = returns_to_go(b.rewards, b.next_values, b.terminated, b.truncated, 0.9)
    # G_3 = 4 + .9·.9 (cut off); G_2 = 3 (terminated); G_1 = 2 + .9·2 (truncated); G_0 = 1 + .9 G_1
    np.testing.assert_allclose(returns[:, 0], [1 + 0.9 * 3.8, 3.8, 3.0, 4.81], rtol=1e-6)


def test_gae_with_lambda_one_is_returns_to_go_minus_values():
    rng = np.random.default_rng(0)
    shape = (20, 3)
    rewards, values, final_values = (rng.normal(size=shape).astype(np.float32) for _ in range(3))
    terminated, truncated = rng.random(shape) < 0.1, rng.random(shape) < 0.1
    # as a finished buffer links them: V(s_{t+1}) is the next row's value unless step t ended an episode
    following = np.concatenate([values[1:], final_values[-1:]])
    next_values = np.where(terminated | truncated, final_values, following)
    advantages, _ = gae(rewards, values, next_values, terminated, truncated, 0.95, 1.0)
    returns = returns_to_go(rewards, next_values, terminated, truncated, 0.95)
    np.testing.assert_allclose(advantages, returns - values, atol=1e-5)


def squashed_policy() -> GaussianPolicy:
    space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    policy = GaussianPolicy(1, space, (), "tanh", squash=True, log_std_init=math.log(0.8))
    with torch.no_grad():
        policy.mean.net[0].bias.fill_(0.3)
    return policy


def test_tanh_gaussian_log_prob_is_the_density_of_the_squashed_action():
    policy = squashed_policy()
    obs = torch.zeros(1, 1)
    a = torch.linspace(-0.9999, 0.9999, 20001)
    u = torch.atanh(a)[:, None]
    with torch.no_grad():
        density = policy.evaluate(obs.expand(len(a), 1), u)[0].exp()
        # change of variables: the density integrates to one over (−1, 1)
        assert torch.trapezoid(density, a).item() == pytest.approx(1.0, abs=2e-3)
        # and matches a histogram of tanh(u) for u sampled from the Gaussian
        n = 200_000
        samples, _ = policy.act(obs.expand(n, 1), generator=torch.Generator().manual_seed(0))
    counts, edges = np.histogram(np.tanh(samples.numpy()[:, 0]), bins=20, range=(-0.95, 0.95))
    centres = torch.as_tensor((edges[:-1] + edges[1:]) / 2, dtype=torch.float32)
    with torch.no_grad():
        at_centres = policy.evaluate(obs.expand(20, 1), torch.atanh(centres)[:, None])[0].exp().numpy()
    empirical = counts / (n * (edges[1] - edges[0]))
    np.testing.assert_allclose(empirical, at_centres, rtol=0.05, atol=0.01)


def test_categorical_actions_and_log_probs_have_batch_shape():
    policy = CategoricalPolicy(4, 3, (8,), "tanh")
    actions, log_probs = policy.act(torch.randn(5, 4), generator=torch.Generator().manual_seed(0))
    assert actions.shape == (5,) and actions.dtype == torch.int64 and log_probs.shape == (5,)
    assert ((actions >= 0) & (actions < 3)).all() and (log_probs <= 0).all()


@pytest.mark.parametrize("squash", [True, False])
def test_gaussian_actions_land_in_the_box(squash):
    space = gym.spaces.Box(np.float32([-2.0, 0.0]), np.float32([2.0, 1.0]))
    policy = make_policy(gym.spaces.Box(-1, 1, (3,)), space, (8,), "tanh", squash=squash)
    actions, log_probs = policy.act(torch.randn(6, 3), generator=torch.Generator().manual_seed(0))
    assert actions.shape == (6, 2) and log_probs.shape == (6,)
    extreme = policy.env_action(torch.tensor([[-50.0, -50.0], [50.0, 50.0], [0.0, 0.0]]))
    assert space.contains(extreme[0].numpy()) and space.contains(extreme[1].numpy())
    np.testing.assert_allclose(extreme[:2].numpy(), [[-2.0, 0.0], [2.0, 1.0]])
    assert extreme[2].tolist() == ([0.0, 0.5] if squash else [0.0, 0.0])


def test_an_unsupported_action_space_is_a_user_error_naming_it():
    with pytest.raises(UserError, match="MultiDiscrete"):
        make_policy(gym.spaces.Box(-1, 1, (3,)), gym.spaces.MultiDiscrete([2, 2]), (8,), "tanh")


def test_bad_hyperparameters_are_user_errors():
    with pytest.raises(UserError, match="baseline"):
        REINFORCE("CartPole-v1", baseline="median")
    with pytest.raises(UserError, match="optimizer"):
        A2C("CartPole-v1", optimizer="sgd")


@pytest.mark.parametrize(
    ("algo", "env_id", "options"),
    [
        (A2C, "CartPole-v1", {}),
        (REINFORCE, "Pendulum-v1", {}),
        (REINFORCE, "CartPole-v1", {"baseline": "none"}),
    ],
)
def test_save_load_round_trip_gives_identical_actions(algo, env_id, options, tmp_path):
    agent = algo(env_id, n_envs=2, n_steps=16, net_arch=(16,), **options).learn(64, progress_bar=False)
    agent.save(tmp_path / "model.pt")
    loaded = algo.load(tmp_path / "model.pt")
    obs = np.stack([agent.env.observation_space.sample() for _ in range(8)])
    np.testing.assert_array_equal(loaded.predict(obs)[0], agent.predict(obs)[0])
    assert loaded.num_timesteps == agent.num_timesteps and loaded.n_updates == agent.n_updates


def test_a2c_return_rises_on_cartpole():
    agent = A2C("CartPole-v1", seed=0).learn(8_000, progress_bar=False)
    returns = agent.episode_returns
    assert np.mean(returns[-10:]) > 2 * np.mean(returns[:10])


@pytest.mark.parametrize("algo", [A2C, REINFORCE])
def test_continuous_actions_run_on_pendulum(algo):
    agent = algo("Pendulum-v1", n_envs=2, n_steps=50).learn(400, progress_bar=False)
    assert len(agent.episode_returns) == 2  # both copies were truncated at 200 steps
    action, _ = agent.predict(agent.env.observation_space.sample(), deterministic=False)
    assert action.shape == (1,) and agent.env.action_space.contains(action)


def test_a2c_is_registered():
    assert get_algorithm("a2c", "agent").load() is A2C


def test_a2c_can_standardise_its_advantages():
    agent = A2C("CartPole-v1", n_envs=2, n_steps=16, normalize_advantage=True, seed=2)
    buffer = agent.collect()
    agent.losses(buffer)[0].backward()
    b = buffer
    advantages, _ = gae(b.rewards, b.values, b.next_values, b.terminated, b.truncated, 0.99, 1.0)
    standard = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    assert abs(standard.mean()) < 1e-5 and standard.std() == pytest.approx(1.0, rel=1e-4)
    obs, actions = (torch.as_tensor(x.reshape(32, *x.shape[2:])) for x in (b.obs, b.actions))
    layer = agent.policy.logits.net[-1]
    got = layer.weight.grad.clone()
    layer.weight.grad = None
    log_probs, _ = agent.policy.evaluate(obs, actions)
    (-(log_probs * torch.as_tensor(standard.reshape(-1))).mean()).backward()
    torch.testing.assert_close(got, layer.weight.grad, rtol=1e-4, atol=1e-7)
