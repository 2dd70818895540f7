"""TruckController as an agent: observations in either layout, learn, save and load."""

import numpy as np
import pytest
import torch

from agents.truck_controller import TruckController
from core.errors import UserError
from envs.truck.env import TruckBackerUpperEnv


def test_predict_reads_both_observation_layouts_alike():
    raw = TruckController(TruckBackerUpperEnv(target_y=2.0), hidden=(8,))
    sincos = TruckController(TruckBackerUpperEnv(target_y=2.0, angles="sincos"), hidden=(8,))
    sincos.net.load_state_dict(raw.net.state_dict())
    obs_raw, _ = raw.env.reset(seed=4)
    obs_sincos, _ = sincos.env.reset(seed=4)
    action_raw, _ = raw.predict(obs_raw)
    action_sincos, _ = sincos.predict(obs_sincos)
    assert action_raw.shape == (1,) and raw.env.action_space.contains(action_raw)
    np.testing.assert_allclose(action_raw, action_sincos, atol=1e-5)
    state = torch.tensor(raw.env.unwrapped.state)[None]
    np.testing.assert_allclose(action_raw, raw.net(state, 2.0)[0].detach().numpy(), atol=1e-5)
    batch, _ = raw.predict(np.stack([obs_raw, obs_raw]))
    assert batch.shape == (2, 1)


def test_target_conditioned_controller_reads_the_target_from_the_observation():
    agent = TruckController(
        TruckBackerUpperEnv(target_conditioned=True, target_range=(-5.0, 5.0)), hidden=(8,)
    )
    obs, _ = agent.env.reset(seed=0)
    state, target = agent.states_of(obs)
    assert float(target[0]) == pytest.approx(agent.env.unwrapped.target_y, abs=1e-6)
    assert agent.net.cfg.target_conditioned


def test_learn_save_load_round_trip(tmp_path):
    agent = TruckController("rlsuite/TruckBackerUpper-v0", hidden=(8,), batch_size=4, seed=3)
    agent.learn(2, progress_bar=False)
    assert agent.num_timesteps == 2 and len(agent.log.success) == 2
    agent.save(tmp_path / "model.pt")
    loaded = TruckController.load(tmp_path / "model.pt")
    obs, _ = loaded.env.reset(seed=1)
    np.testing.assert_array_equal(agent.predict(obs)[0], loaded.predict(obs)[0])
    assert loaded.num_timesteps == 2 and loaded.log.lesson == agent.log.lesson


def test_bad_settings_are_user_errors():
    with pytest.raises(UserError, match="TruckBackerUpper"):
        TruckController("CartPole-v1")
    with pytest.raises(UserError, match="target_range"):
        TruckController(TruckBackerUpperEnv(), target_range=(3.0, -3.0))
    with pytest.raises(UserError, match="total_steps"):
        TruckController(TruckBackerUpperEnv()).learn(-1)
    with pytest.raises(UserError, match="hidden"):
        TruckController(TruckBackerUpperEnv(), hidden=5)
    with pytest.raises(UserError, match="lr"):
        TruckController(TruckBackerUpperEnv(), lr=-1.0)


def test_learn_zero_is_nothing_and_a_callback_sees_the_agent():
    agent = TruckController(TruckBackerUpperEnv(), hidden=(8,), batch_size=4, validation_size=4)
    assert agent.learn(0, progress_bar=False) is agent and agent.num_timesteps == 0
    seen = []
    agent.learn(2, progress_bar=False, callback=lambda a: seen.append(a.num_timesteps))
    assert seen == [1, 2]
    agent.learn(5, progress_bar=False, callback=lambda a: a.num_timesteps < 3)  # False at 3: stop
    assert agent.num_timesteps == 3 and len(agent.log.lesson) == 3


def test_paths_figure_and_docking_gif(tmp_path):
    from rlsuite.demo_truck import plot_truck_paths, record_docking

    agent = TruckController("rlsuite/TruckBackerUpper-v0", hidden=(8,))
    assert plot_truck_paths(agent, tmp_path / "paths.png", n=3).stat().st_size > 1000
    recording = record_docking(agent, tmp_path / "dock.gif", tries=1)
    assert recording["frames"] == recording["length"] + 1 and (tmp_path / "dock.gif").is_file()
