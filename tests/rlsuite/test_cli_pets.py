"""PETS as an agent: ``rlsuite train pets`` and ``rlsuite eval`` on InvertedPendulum-v5, save and load
(Reacher-v5 too), and clear errors for envs without a known cost, bad settings and broken checkpoints."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from core.checkpoint import load_checkpoint
from core.errors import UserError
from rlsuite.cli import cli
from rlsuite.pets_agent import PETSAgent
from rlsuite.training import TrainingInterrupted, TrainSpec, train

from .conftest import assert_user_error

# A small PETS: the first fit after 100 random steps, a refit every 100, shorter plans with fewer samples.
SMALL = {
    "random_steps": 100,
    "refit_every": 100,
    "epochs": 20,
    "samples": 100,
    "horizon": 10,
    "hidden": [64, 64],
}
SETS = [arg for key, value in SMALL.items() for arg in ("--set", f"{key}={json.dumps(value)}")]
ENV = ["--env", "InvertedPendulum-v5", "--env-kwarg", "max_episode_steps=200"]
TRAIN = ["train", "pets", *ENV, *SETS, "--eval-episodes", "3"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """PETS trained for 300 steps on InvertedPendulum-v5 (episodes cut at 200 steps)."""
    out = tmp_path_factory.mktemp("pets") / "run"
    result = invoke(*TRAIN, "--steps", "300", "--seed", "1", "--out", out)
    assert result.exit_code == 0, result.stderr
    return out


def test_train_writes_the_run_folder_with_the_settings_used(trained):
    for name in ("config.json", "model.pt", "metrics.csv", "eval.json", "learning_curve.png"):
        assert (trained / name).is_file(), name
    config = json.loads((trained / "config.json").read_text())
    assert config["algo"] == "pets" and config["steps"] == 300
    hyperparams = config["hyperparams"]
    assert hyperparams["horizon"] == 10 and hyperparams["hidden"] == [64, 64] and hyperparams["seed"] == 1
    assert hyperparams["temperature"] == 0.3 and hyperparams["noise_std"] == 1.0  # tuned for the env
    checkpoint = load_checkpoint(trained / "model.pt", kind="pets")
    assert checkpoint["num_timesteps"] == 300 and len(checkpoint["state"]["data"]["obs"]) == 300
    assert len(checkpoint["state"]["fit_losses"]) == 3  # at 100, 200 and 300 steps
    assert "model_loss" in (trained / "metrics.csv").read_text().splitlines()[0]


def test_planning_on_the_learned_model_balances_longer_than_random_actions(trained):
    config = json.loads((trained / "config.json").read_text())
    episodes = load_checkpoint(trained / "model.pt")["state"]["episodes"]
    random_lengths = [length for _, length, end in episodes if end <= config["hyperparams"]["random_steps"]]
    evaluation = json.loads((trained / "eval.json").read_text())
    assert evaluation["mean_length"] > 3 * np.mean(random_lengths)  # about 8x on seeds 0 to 3


def test_eval_reads_the_run(trained, tmp_path):
    result = invoke("eval", trained, "--episodes", "1", "--json", "--gif", tmp_path / "pendulum.gif")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["episodes"] == 1 and summary["mean_return"] > 0
    assert (tmp_path / "pendulum.gif").stat().st_size > 0


def test_resume_trains_the_remaining_steps(trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    result = invoke(*TRAIN, "--steps", "350", "--out", run, "--resume", "--eval-episodes", "1")
    assert result.exit_code == 0, result.stderr
    state = load_checkpoint(run / "model.pt")["state"]
    assert state["num_timesteps"] == 350 and len(state["data"]["obs"]) == 350


def test_ctrl_c_keeps_every_step_taken_and_resume_goes_on(tmp_path):
    spec = TrainSpec("pets", "InvertedPendulum-v5", {"max_episode_steps": 200}, SMALL, steps=250, seed=0)

    def ctrl_c_at_step_150(agent):
        if agent.num_timesteps == 150:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="--resume"):
        train(spec, tmp_path / "run", progress_bar=False, callback=ctrl_c_at_step_150)
    state = load_checkpoint(tmp_path / "run" / "model.pt")["state"]
    assert state["num_timesteps"] == 150 and len(state["data"]["obs"]) == 150 and state["fitted"]
    outcome = train(spec, tmp_path / "run", resume=True, eval_episodes=1, progress_bar=False)
    assert outcome.agent.num_timesteps == 250 and len(outcome.agent.pets.fit_losses) == 2


def test_broken_or_missing_checkpoints_are_one_line_errors(trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    data = (run / "model.pt").read_bytes()
    (run / "model.pt").write_bytes(data[: len(data) // 2])
    assert_user_error(invoke("eval", run), "corrupt checkpoint")
    (run / "model.pt").unlink()
    assert_user_error(invoke("eval", run), "no model")
    with pytest.raises(UserError, match="checkpoint not found"):
        PETSAgent.load(run / "model.pt")


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_an_env_without_a_known_cost_names_the_ones_with_one(env_id, tmp_path):
    result = invoke("train", "pets", "--env", env_id, "--steps", "10", "--out", tmp_path / "run")
    assert_user_error(result, env_id, "InvertedPendulum-v5", "Reacher-v5")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("members=3", "horizon"),  # unknown: the valid ones are named
        ("hidden=64", "hidden"),
        ("noise_std=x", "noise_std"),
        ("temperature=0", "temperature"),
        ("horizon=2.5", "horizon"),
        ("epochs=0", "epochs"),
    ],
)
def test_bad_settings_are_one_line_errors(setting, fragment, tmp_path):
    result = invoke("train", "pets", *ENV, "--set", setting, "--out", tmp_path / "run")
    assert_user_error(result, fragment)
    assert not (tmp_path / "run").exists()


def test_save_and_load_round_trip_on_reacher(tmp_path):
    tiny = {"random_steps": 20, "refit_every": 20, "epochs": 1, "samples": 16, "hidden": [16]}
    agent = PETSAgent("Reacher-v5", seed=2, **tiny)
    agent.learn(30, progress_bar=False)
    agent.save(tmp_path / "pets.pt")
    loaded = PETSAgent.load(tmp_path / "pets.pt")
    assert loaded.config == agent.config and loaded.config.temperature == 1.0  # Reacher's tuned setting
    assert loaded.num_timesteps == 30 and loaded.episode_returns == agent.episode_returns
    for key, value in agent.pets.model.state_dict().items():
        assert np.array_equal(loaded.pets.model.state_dict()[key].numpy(), value.numpy()), key
    obs = np.random.default_rng(0).normal(size=(2, 10)).astype(np.float32)
    agent.pets.reset_planners()  # the loaded agent plans afresh; so does this one now
    assert np.array_equal(loaded.predict(obs)[0], agent.predict(obs)[0])
    with pytest.raises(UserError, match="holds a pets, not a dqn"):
        load_checkpoint(tmp_path / "pets.pt", kind="dqn")
