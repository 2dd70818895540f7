import json

import gymnasium as gym
import numpy as np
import pytest

from core.errors import UserError
from core.evaluation import evaluate_policy


def pole_angle_policy(obs):
    """Push toward the side the pole leans: balances for a while, then fails at varied times."""
    return (obs[:, 2] > 0).astype(np.int64)


def zeros_policy(obs):
    return np.zeros(len(obs), dtype=np.int64)


def test_cartpole_results_do_not_depend_on_n_envs():
    results = [
        evaluate_policy(pole_angle_policy, "CartPole-v1", n_episodes=6, seed=3, n_envs=n) for n in (1, 4)
    ]
    again = evaluate_policy(pole_angle_policy, "CartPole-v1", n_episodes=6, seed=3, n_envs=4)
    assert len(set(results[0].returns)) > 1  # the test means something only if episodes differ
    for other in (results[1], again):
        assert np.array_equal(other.returns, results[0].returns)
        assert np.array_equal(other.lengths, results[0].lengths)
        assert other.to_dict() == results[0].to_dict()


def test_instance_matches_id():
    from_id = evaluate_policy(pole_angle_policy, "CartPole-v1", n_episodes=4, seed=1)
    from_instance = evaluate_policy(pole_angle_policy, gym.make("CartPole-v1"), n_episodes=4, seed=1)
    assert np.array_equal(from_id.returns, from_instance.returns)


@pytest.mark.parametrize("n_envs", [1, 3, 8])
def test_episode_i_is_seeded_with_seed_plus_i(countdown, target_of, n_envs):
    result = evaluate_policy(zeros_policy, countdown, 7, seed=10, n_envs=n_envs)
    expected = [target_of(10 + i) for i in range(7)]
    assert result.returns.tolist() == expected  # one reward per step, so return = length = target
    assert result.lengths.tolist() == expected


def test_rates_and_means_from_final_info(countdown, target_of):
    result = evaluate_policy(zeros_policy, countdown, 20, n_envs=4)
    targets = np.array([target_of(i) for i in range(20)])
    # is_success -> success_rate; final_distance is averaged without being asked for
    assert result.rates == {
        "success_rate": np.mean(targets % 2 == 0),
        "mean_final_distance": targets.mean(),
    }
    asked = evaluate_policy(zeros_policy, countdown, 20, n_envs=4, final_info_keys=["final_distance"])
    assert asked.rates == result.rates
    summary = result.to_dict()
    assert summary["success_rate"] == result.rates["success_rate"]
    json.dumps(summary)


def test_summary_statistics(countdown):
    result = evaluate_policy(zeros_policy, countdown, 30)
    summary = result.to_dict()
    assert summary["episodes"] == 30
    assert summary["mean_return"] == pytest.approx(result.returns.mean())
    assert summary["std_return"] == pytest.approx(result.returns.std())
    assert summary["mean_length"] == pytest.approx(result.lengths.mean())
    low, high = result.ci95
    assert low < result.mean_return < high
    assert result.ci95 == evaluate_policy(zeros_policy, countdown, 30).ci95


def test_predict_style_policy_and_max_steps():
    class Agent:
        def predict(self, obs, deterministic=True):
            assert deterministic is False
            return np.ones(len(obs), dtype=np.int64), None

    result = evaluate_policy(Agent(), "CartPole-v1", n_episodes=3, deterministic=False, max_steps=5)
    assert result.lengths.tolist() == [5, 5, 5]


def test_closes_the_envs_it_makes_but_not_an_instance(countdown):
    made = []

    def factory():
        made.append(countdown())
        return made[-1]

    evaluate_policy(zeros_policy, factory, n_episodes=3)
    assert len(made) == 3 and all(env.closed for env in made)
    instance = countdown()
    evaluate_policy(zeros_policy, instance, n_episodes=3)
    assert not instance.closed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "NoSuchEnv-v0"}, "unknown environment: NoSuchEnv-v0"),
        ({"n_episodes": 0}, "n_episodes must be a positive integer"),
        ({"n_envs": 0}, "n_envs must be a positive integer"),
        ({"max_steps": -1}, "max_steps must be a positive integer"),
        ({"seed": -2}, "seed must be an integer"),
        ({"final_info_keys": ["nope"]}, "final info key 'nope' appeared in no episode"),
        ({"env": 42}, "an env must be an id, a factory or a gymnasium.Env"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = {"env": "CartPole-v1", "n_episodes": 2, "max_steps": 3} | kwargs
    with pytest.raises(UserError, match=message):
        evaluate_policy(pole_angle_policy, **args)


def test_instance_cannot_be_copied():
    with pytest.raises(UserError, match="n_envs > 1 needs an env id or factory"):
        evaluate_policy(pole_angle_policy, gym.make("CartPole-v1"), n_episodes=2, n_envs=2)


class StepsSinceStart:
    """A policy with memory: it alternates its action every 3 steps counted from the episode's start."""

    def __init__(self) -> None:
        self.steps = np.zeros(0, dtype=int)

    def reset_episodes(self, mask):
        if len(self.steps) != len(mask):
            self.steps = np.zeros(len(mask), dtype=int)
        self.steps[mask] = 0

    def predict(self, obs, deterministic=True):
        actions = (self.steps // 3) % 2
        self.steps += 1
        return actions, None


def test_a_policy_with_memory_is_told_when_episodes_start():
    # Without the episode starts, each copy's counter would run on across episodes and the results would
    # depend on how the episodes are spread over the copies.
    one = evaluate_policy(StepsSinceStart(), "CartPole-v1", n_episodes=6, seed=3, n_envs=1)
    four = evaluate_policy(StepsSinceStart(), "CartPole-v1", n_episodes=6, seed=3, n_envs=4)
    np.testing.assert_array_equal(one.returns, four.returns)
