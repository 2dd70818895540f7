"""Q-learning: it finds the optimal policy of the book grid, and its API behaves like SB3's."""

from __future__ import annotations

import os
import signal

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers rlsuite/GridWorld-v0)
from agents.tabular import QLearning, value_iteration
from core.errors import UserError
from core.metrics import MetricsLogger

GRID = "rlsuite/GridWorld-v0"  # the book layout, noise 0.2, living reward 0 by default


class OneStateEnv(gym.Env):
    """One state, one action, reward 1; every step ends the episode, by termination or by a time limit."""

    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, terminates: bool) -> None:
        self.terminates = terminates

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 1.0, self.terminates, not self.terminates, {}


class CtrlCAtStep(gym.Wrapper):
    """Presses Ctrl-C inside ``env.step`` number ``at``: where a real one most likely lands."""

    def __init__(self, env: gym.Env, at: int) -> None:
        super().__init__(env)
        self.at, self.steps = at, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return self.env.step(action)


def learn(steps: int, **hyperparams) -> QLearning:
    return QLearning(GRID, **hyperparams).learn(steps, progress_bar=False)


def assert_same_agent(a: QLearning, b: QLearning) -> None:
    assert a.num_timesteps == b.num_timesteps
    np.testing.assert_array_equal(a.q_table, b.q_table)
    assert a.episode_returns == b.episode_returns
    assert a.episode_lengths == b.episode_lengths


def test_greedy_policy_is_optimal_on_book():
    plan = value_iteration(gym.make(GRID).unwrapped.mdp(), gamma=0.9)
    agent = learn(50_000, gamma=0.9)
    states = np.arange(len(plan.policy))
    greedy, _ = agent.predict(states)
    # Two cells off the optimal path have near-ties (their two best actions differ by 0.010 and 0.011,
    # well below the sampling noise of 50k steps); everywhere else the greedy action is the optimal one.
    loss = plan.q_values.max(axis=1) - plan.q_values[states, greedy]
    gap = np.diff(np.sort(plan.q_values, axis=1)[:, -2:], axis=1).ravel()
    clear = gap > 0.02
    assert clear.sum() == 7
    np.testing.assert_array_equal(greedy[clear], plan.policy[clear])
    assert loss.max() <= 0.02


def test_learning_curve_rises():
    returns = learn(20_000).episode_returns
    assert np.mean(returns[-200:]) > np.mean(returns[:200]) + 0.5


def test_same_seed_same_q_table_other_seed_differs():
    assert_same_agent(learn(3_000, seed=1), learn(3_000, seed=1))
    assert not np.array_equal(learn(3_000, seed=1).q_table, learn(3_000, seed=2).q_table)


@pytest.mark.parametrize(("terminates", "value"), [(True, 1.0), (False, 1.0 / (1.0 - 0.9))])
def test_truncation_bootstraps_termination_does_not(terminates, value):
    agent = QLearning(OneStateEnv(terminates), lr_schedule="constant", gamma=0.9)
    agent.learn(500, progress_bar=False)
    assert agent.q_table[0, 0] == pytest.approx(value, abs=1e-6)


def test_save_load_predicts_and_learns_as_if_never_saved(tmp_path):
    agent = learn(5_000)
    agent.save(tmp_path / "model.pt")
    loaded = QLearning.load(tmp_path / "model.pt")
    states = np.arange(agent.q_table.shape[0])
    assert loaded.config == agent.config
    np.testing.assert_array_equal(loaded.predict(states)[0], agent.predict(states)[0])
    assert_same_agent(loaded.learn(5_000, progress_bar=False), agent.learn(5_000, progress_bar=False))


@pytest.fixture
def default_ctrl_c():
    """Python's own Ctrl-C handling, as in a terminal: a process started in the background by a
    non-interactive shell (``cmd &``) inherits SIGINT ignored, and Python then leaves it ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_checkpoint_resumes_exactly(tmp_path, default_ctrl_c):
    """learn(10k) cut by Ctrl-C, saved, loaded and given the remaining steps == learn(10k) uninterrupted."""
    interrupted = QLearning(CtrlCAtStep(gym.make(GRID), at=5_555))
    with pytest.raises(KeyboardInterrupt):
        interrupted.learn(10_000, progress_bar=False)
    assert interrupted.num_timesteps == 5_555  # the step under way was finished first
    # Stopped mid-episode, so the loaded agent must replay the episode in progress to continue it.
    assert sum(interrupted.episode_lengths) < interrupted.num_timesteps
    interrupted.save(tmp_path / "model.pt")
    resumed = QLearning.load(tmp_path / "model.pt")
    resumed.learn(10_000 - resumed.num_timesteps, progress_bar=False)
    straight = learn(10_000)
    assert_same_agent(resumed, straight)
    assert_same_agent(resumed.learn(2_000, progress_bar=False), straight.learn(2_000, progress_bar=False))


def test_callback_false_stops_and_logger_gets_episode_ends():
    agent = QLearning(GRID)
    with MetricsLogger(None) as logger:
        agent.learn(5_000, callback=lambda a: a.num_timesteps < 1_234, progress_bar=False, logger=logger)
    assert agent.num_timesteps == 1_234
    assert len(logger.history) == len(agent.episode_returns) > 0
    row = logger.history[-1]
    assert {"episode_return", "episode_length", "epsilon", "learning_rate"} <= row.keys()
    assert row["step"] == sum(agent.episode_lengths)


def test_predict_scalar_and_batch():
    agent = learn(1_000)
    action, state = agent.predict(4)
    assert np.shape(action) == () and state is None
    batch = np.array([0, 4, 7, 7])
    assert agent.predict(batch)[0].shape == (4,)
    assert agent.predict(batch, deterministic=False)[0].shape == (4,)


@pytest.mark.parametrize(
    ("hyperparams", "message"),
    [
        ({"lr": 0.1}, "unknown hyperparameter lr .*valid: learning_rate, lr_schedule"),
        ({"lr_schedule": "cosine"}, "unknown lr_schedule 'cosine'; valid: constant, linear, visits"),
        ({"gamma": 1.5}, r"gamma must be a number in \[0.0, 1.0\], got 1.5"),
        ({"gamma": "high"}, "gamma must be a number"),
        ({"learning_rate": 0.0}, r"learning_rate must be a number in \(0.0, 1.0\]"),
        ({"seed": -1}, "seed must be"),
    ],
)
def test_bad_hyperparameters_are_user_errors(hyperparams, message):
    with pytest.raises(UserError, match=message):
        QLearning(GRID, **hyperparams)


def test_non_discrete_spaces_are_user_errors():
    with pytest.raises(UserError, match="Discrete observation space, got Box"):
        QLearning(gym.make(GRID, obs="coords"))
    env = OneStateEnv(terminates=True)
    env.action_space = gym.spaces.Box(-1.0, 1.0, (1,))
    with pytest.raises(UserError, match="Discrete action space, got Box"):
        QLearning(env)


def test_unknown_env_id_is_a_user_error():
    with pytest.raises(UserError, match="rlsuite/NoSuchEnv-v0"):
        QLearning("rlsuite/NoSuchEnv-v0")


def test_loading_a_corrupt_or_envless_checkpoint_is_a_user_error(tmp_path):
    (tmp_path / "corrupt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="corrupt checkpoint"):
        QLearning.load(tmp_path / "corrupt.pt")
    QLearning(OneStateEnv(terminates=True)).save(tmp_path / "envless.pt")
    with pytest.raises(UserError, match="no env id"):
        QLearning.load(tmp_path / "envless.pt")
    assert QLearning.load(tmp_path / "envless.pt", env=OneStateEnv(terminates=True)).num_timesteps == 0
