"""DQN: the TD target against hand-computed values, bootstrapping, target syncs, save/load, learning."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.dqn import DQN
from agents.dqn_callbacks import StopOnEvalReturn, StopOnTrainingReturn
from core.errors import UserError
from core.evaluation import evaluate_policy
from perception import ConvEncoder, ConvEncoderConfig

FAST = {"learning_starts": 50, "train_freq": 16, "gradient_steps": 8, "batch_size": 16, "net_arch": (16,)}


class OneStepEnv(gym.Env):
    """A constant observation, one action, reward 1; every step ends the episode (terminated or truncated)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(1)

    def __init__(self, terminates: bool) -> None:
        self.terminates = terminates

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        return np.zeros(1, dtype=np.float32), 1.0, self.terminates, not self.terminates, {}


class TinyImageEnv(gym.Env):
    """Random 16x16 RGB frames, two actions, ten-step episodes: enough to exercise the conv path."""

    observation_space = gym.spaces.Box(0, 255, shape=(16, 16, 3), dtype=np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        self.t += 1
        return self.observation_space.sample(), float(action), self.t == 10, False, {}


def linear_agent(double_q: bool) -> DQN:
    """2-D observations, 3 actions, linear Q-networks with weights set by hand (no bias)."""
    env = gym.make("CartPole-v1")  # only its spaces are replaced
    env.observation_space = gym.spaces.Box(-10.0, 10.0, shape=(2,), dtype=np.float32)
    env.action_space = gym.spaces.Discrete(3)
    agent = DQN(env, net_arch=(), double_q=double_q)
    online = [[0.0, 1.0], [1.0, 0.0], [-1.0, -1.0]]
    target = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    for net, weight in ((agent.q_net, online), (agent.q_target, target)):
        layer = net.body.net[0]
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(weight))
            layer.bias.zero_()
    return agent


@pytest.mark.parametrize("double_q", [False, True])
def test_td_target_by_hand(double_q):
    agent = linear_agent(double_q)
    next_obs = torch.tensor([[1.0, 2.0], [3.0, -1.0], [5.0, 5.0]])
    # Q⁻(s') rows: [1, 2, 3], [3, -1, 2], [5, 5, 10]; Q(s') rows: [2, 1, -3], [-1, 3, -2], [5, 5, -10].
    rewards = torch.tensor([1.0, 0.5, 2.0])
    discounts = torch.tensor([0.9, 0.81, 0.9])
    terminated = torch.tensor([0.0, 0.0, 1.0])
    y = agent.td_target(rewards, next_obs, agent.q_target(next_obs), terminated, discounts)
    if double_q:  # the online net picks actions 0 and 1, the target net values them: 1 and -1
        expected = [1 + 0.9 * 1, 0.5 + 0.81 * -1, 2.0]
    else:  # max of the target net: 3 and 3
        expected = [1 + 0.9 * 3, 0.5 + 0.81 * 3, 2.0]
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("terminates, value", [(True, 1.0), (False, 2.0)])
def test_truncation_bootstraps_and_termination_does_not(terminates, value):
    # Every episode is one step of reward 1. Terminated: Q = 1. Cut by a time limit: Q = 1 + γQ = 2 (γ = ½).
    agent = DQN(
        OneStepEnv(terminates),
        gamma=0.5,
        learning_rate=0.01,
        learning_starts=20,
        train_freq=1,
        gradient_steps=1,
        batch_size=8,
        target_update_interval=5,
        net_arch=(8,),
        loss="mse",
    )
    agent.learn(1500, progress_bar=False)
    q = agent.q_net(torch.zeros(1, 1)).item()
    assert q == pytest.approx(value, abs=0.05)


def test_hard_target_sync_copies_and_waits_for_its_interval():
    agent = DQN("CartPole-v1", **{**FAST, "target_update_interval": 10**9})
    initial = [p.clone() for p in agent.q_target.parameters()]
    agent.learn(200, progress_bar=False)
    assert agent.n_updates > 0
    for before, target, online in zip(
        initial, agent.q_target.parameters(), agent.q_net.parameters(), strict=True
    ):
        assert torch.equal(before, target) and not torch.equal(target, online)
    agent._sync_target()
    for target, online in zip(agent.q_target.parameters(), agent.q_net.parameters(), strict=True):
        assert torch.equal(target, online)


def test_polyak_sync_moves_tau_of_the_way():
    agent = DQN("CartPole-v1", tau=0.1, net_arch=(8,))
    with torch.no_grad():
        for p in agent.q_net.parameters():
            p.add_(1.0)
    old = [p.clone() for p in agent.q_target.parameters()]
    agent._sync_target()
    for before, target, online in zip(
        old, agent.q_target.parameters(), agent.q_net.parameters(), strict=True
    ):
        torch.testing.assert_close(target, 0.9 * before + 0.1 * online)


def test_same_seed_same_parameters_and_save_load_round_trip(tmp_path):
    a = DQN("CartPole-v1", seed=7, double_q=True, **FAST).learn(400, progress_bar=False)
    b = DQN("CartPole-v1", seed=7, double_q=True, **FAST).learn(400, progress_bar=False)
    c = DQN("CartPole-v1", seed=8, double_q=True, **FAST).learn(400, progress_bar=False)
    for pa, pb, pc in zip(a.q_net.parameters(), b.q_net.parameters(), c.q_net.parameters(), strict=True):
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    assert a.episode_returns == b.episode_returns

    a.save(tmp_path / "dqn.pt")
    loaded = DQN.load(tmp_path / "dqn.pt")
    assert loaded.config == a.config and loaded.num_timesteps == 400 and loaded.n_updates == a.n_updates
    assert loaded.episode_returns == a.episode_returns
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(obs)[0], a.predict(obs)[0])
    assert loaded.rng.bit_generator.state == a.rng.bit_generator.state
    assert loaded.optimizer.state_dict()["state"][0]["step"] == a.optimizer.state_dict()["state"][0]["step"]
    loaded.learn(100, progress_bar=False)  # a loaded agent trains on
    assert loaded.num_timesteps == 500


def test_predict_shapes_follow_sb3():
    agent = DQN("CartPole-v1", net_arch=(8,))
    one, state = agent.predict(np.zeros(4, dtype=np.float32))
    assert state is None and one.shape == () and one in (0, 1)
    many, _ = agent.predict(np.zeros((5, 4), dtype=np.float32), deterministic=False)
    assert many.shape == (5,)


def test_spaces_it_cannot_handle_are_user_errors():
    with pytest.raises(UserError, match=r"Discrete action space, got Box"):
        DQN("Pendulum-v1")
    with pytest.raises(UserError, match="unknown hyperparameter"):
        DQN("CartPole-v1", learning_rat=0.1)
    with pytest.raises(UserError, match="loss"):
        DQN("CartPole-v1", loss="l1")
    with pytest.raises(UserError, match="bad hyperparameter value for DQNConfig"):
        DQN("CartPole-v1", net_arch=64)  # a list of widths is due


def test_image_observations_go_through_the_conv_trunk():
    agent = DQN(TinyImageEnv(), learning_starts=20, train_freq=10, gradient_steps=2, batch_size=4)
    agent.learn(60, progress_bar=False)
    assert agent.buffer.obs.dtype == np.uint8 and agent.n_updates > 0
    assert agent.predict(np.zeros((3, 16, 16, 3), dtype=np.uint8))[0].shape == (3,)


def test_vector_envs_and_discrete_observations():
    agent = DQN("rlsuite/GridWorld-v0", n_envs=3, **FAST).learn(300, progress_bar=False)
    assert agent.num_timesteps == 300 and agent.n_updates > 0 and agent.episode_returns
    actions, _ = agent.predict(np.arange(5))
    assert actions.shape == (5,)


def test_return_rises_on_cartpole():
    agent = DQN("CartPole-v1", seed=0).learn(8_000, progress_bar=False)
    returns = agent.episode_returns
    assert np.mean(returns[-5:]) > np.mean(returns[:20]) + 50


def test_prioritized_replay_weights_the_loss_and_updates_priorities():
    a, b = (DQN("CartPole-v1", net_arch=(8,), seed=3) for _ in range(2))
    obs = torch.randn(16, 4)
    actions = torch.randint(0, 2, (16,))
    y = torch.randn(16)
    a._update(obs, actions, y)
    b._update(obs, actions, y, weights=torch.ones(16))  # unit weights: the plain update
    for pa, pb in zip(a._params, b._params, strict=True):
        torch.testing.assert_close(pa, pb)

    agent = DQN("CartPole-v1", prioritized_replay=True, **FAST).learn(300, progress_bar=False)
    priorities = agent.buffer.tree[agent.buffer.leaves :]
    assert agent.n_updates > 0 and len(np.unique(priorities[priorities > 0])) > 10  # set from |δ|


def tiny_conv_encoder() -> ConvEncoder:
    return ConvEncoder(ConvEncoderConfig.nature((16, 16, 3), out_dim=32, channels_last=True))


@pytest.mark.parametrize("freeze", [True, False])
def test_prebuilt_encoder_frozen_or_trained_and_its_round_trip(tmp_path, freeze):
    encoder = tiny_conv_encoder()
    before = [p.clone() for p in encoder.parameters()]
    hp = {"learning_starts": 20, "train_freq": 10, "gradient_steps": 2, "batch_size": 4, "net_arch": (16,)}
    agent = DQN(TinyImageEnv(), encoder=encoder, freeze_encoder=freeze, **hp)
    head_before = [p.clone() for p in agent.q_net.body[1].parameters()]
    agent.learn(60, progress_bar=False)
    assert agent.n_updates > 0 and agent.q_net.body[0] is encoder
    assert agent.config.encoder_config["class"] == "ConvEncoder"
    unchanged = [torch.equal(a, b) for a, b in zip(before, encoder.parameters(), strict=True)]
    assert all(unchanged) if freeze else not any(unchanged)
    head = agent.q_net.body[1].parameters()
    assert not any(torch.equal(a, b) for a, b in zip(head_before, head, strict=True))

    agent.save(tmp_path / "dqn.pt")
    loaded = DQN.load(tmp_path / "dqn.pt", env=TinyImageEnv())
    assert loaded.config == agent.config and loaded.config.freeze_encoder == freeze
    for a, b in zip(agent.q_net.state_dict().values(), loaded.q_net.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    frames = np.random.default_rng(0).integers(0, 256, size=(32, 16, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(loaded.predict(frames)[0], agent.predict(frames)[0])
    assert all(not p.requires_grad for p in loaded.q_net.body[0].parameters()) == freeze


def test_encoder_misuse_is_a_user_error():
    with pytest.raises(UserError, match="encoder must be one of"):
        DQN(TinyImageEnv(), encoder=torch.nn.Linear(3, 3))
    with pytest.raises(UserError, match="encoder takes images of shape"):
        DQN("CartPole-v1", encoder=tiny_conv_encoder())
    with pytest.raises(UserError, match="freeze_encoder needs a prebuilt encoder"):
        DQN("CartPole-v1", freeze_encoder=True)


def test_learning_rate_decays_linearly_when_asked():
    constant = DQN("CartPole-v1", net_arch=(8,))
    decaying = DQN("CartPole-v1", **FAST, learning_rate=1e-3, final_learning_rate=1e-4)
    assert constant._learning_rate(0.7) == constant.config.learning_rate
    assert decaying._learning_rate(0.0) == 1e-3 and decaying._learning_rate(1.0) == pytest.approx(1e-4)
    assert decaying._learning_rate(0.5) == pytest.approx(5.5e-4)
    decaying.learn(300, progress_bar=False)  # the last phase ran at the step size of its progress
    assert decaying.optimizer.param_groups[0]["lr"] < 1e-3


def test_stop_on_training_return_reads_the_last_episodes():
    class Played:
        episode_returns: list[float] = []

    stop, agent = StopOnTrainingReturn(100.0, episodes=3), Played()
    agent.episode_returns = [50.0, 50.0]
    assert stop(agent) is True  # fewer than 3 episodes: go on
    agent.episode_returns.append(50.0)
    assert stop(agent) is True  # mean 50: go on
    agent.episode_returns.append(400.0)
    assert stop(agent) is False  # the last three average 166.7: stop

    dqn = DQN("CartPole-v1", **FAST)
    dqn.learn(5_000, callback=StopOnTrainingReturn(0.0, episodes=2), progress_bar=False)
    assert len(dqn.episode_returns) == 2 and dqn.num_timesteps == sum(dqn.episode_lengths)


def test_stop_on_eval_return_checks_fresh_seeds_and_restores_the_best_network():
    stop = StopOnEvalReturn("CartPole-v1", float("inf"), every=500, episodes=3, seed=7)
    agent = DQN("CartPole-v1", **FAST).learn(2_000, callback=stop, progress_bar=False)
    assert agent.num_timesteps == 2_000  # never reached: the whole budget
    assert [at for at, _ in stop.history] == [500, 1_000, 1_500, 2_000]
    assert stop.eval_steps > 0 and stop.best_return == max(value for _, value in stop.history)
    best = int(np.argmax([value for _, value in stop.history]))
    last = evaluate_policy(agent, "CartPole-v1", n_episodes=3, seed=7 + 3 * (len(stop.history) - 1))
    assert last.mean_return == stop.history[-1][1]  # check k played seeds 7 + 3k, 7 + 3k + 1, ...
    final = [p.clone() for p in agent.q_net.parameters()]
    stop.restore_best(agent)
    assert best < len(stop.history) - 1  # the test restores an earlier network, not the last one
    assert any(not torch.equal(a, b) for a, b in zip(final, agent.q_net.parameters(), strict=True))
    again = evaluate_policy(agent, "CartPole-v1", n_episodes=3, seed=7 + 3 * best)
    assert again.mean_return == stop.best_return
    for online, target in zip(agent.q_net.parameters(), agent.q_target.parameters(), strict=True):
        torch.testing.assert_close(online, target)

    stop = StopOnEvalReturn("CartPole-v1", 0.0, every=300, episodes=2)
    agent = DQN("CartPole-v1", **FAST).learn(2_000, callback=stop, progress_bar=False)
    assert agent.num_timesteps == 300 and len(stop.history) == 1  # the first check reached it
    with pytest.raises(UserError, match="every"):
        StopOnEvalReturn("CartPole-v1", 0.0, every=0)


def test_numpy_acting_agrees_with_the_torch_network():
    agent = DQN("CartPole-v1", **FAST).learn(300, progress_bar=False)
    assert agent._numpy_layers is not None  # a plain MLP: acting goes through numpy
    obs = np.random.default_rng(1).normal(size=(256, 4)).astype(np.float32)
    with torch.no_grad():
        expected = agent.q_net(torch.from_numpy(obs)).argmax(dim=1).numpy()
    np.testing.assert_array_equal(agent.predict(obs)[0], expected)
    assert DQN(TinyImageEnv())._numpy_layers is None


def test_replay_buffer_saved_on_request_lets_a_loaded_agent_train_at_once(tmp_path):
    agent = DQN("CartPole-v1", **{**FAST, "learning_starts": 200}).learn(300, progress_bar=False)
    agent.save(tmp_path / "plain.pt")
    agent.save(tmp_path / "full.pt", include_replay=True)
    plain, full = DQN.load(tmp_path / "plain.pt"), DQN.load(tmp_path / "full.pt")
    full.learn(0, progress_bar=False)  # restores the buffer; the running episode ends as truncated
    rows = int(agent.buffer.filled[0])
    np.testing.assert_array_equal(full.buffer.obs[:rows], agent.buffer.obs[:rows])
    np.testing.assert_array_equal(full.buffer.rewards[:rows], agent.buffer.rewards[:rows])
    assert full.buffer.transitions == agent.buffer.transitions and full.buffer.truncated[rows - 1, 0]
    plain.learn(100, progress_bar=False)
    full.learn(100, progress_bar=False)
    assert plain.n_updates == agent.n_updates  # refilling its learning_starts steps first
    assert full.n_updates > agent.n_updates
