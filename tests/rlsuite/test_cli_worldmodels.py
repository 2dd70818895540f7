"""``rlsuite train dynamics|ensemble|cvae|pixel-wm|jepa`` and ``rlsuite dream``: figures, errors."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from PIL import Image

from rlsuite.worldmodel_tasks import episode_transitions, one_step_errors, random_episodes
from worldmodels.cvae import load_cvae
from worldmodels.emulator import load_emulator
from worldmodels.ensemble import load_ensemble

from .conftest import assert_user_error

GRID = "rlsuite/GridWorld-v0"
TINY = {
    "dynamics": ["--set", "epochs=2", "--set", "hidden=[32]"],
    "ensemble": ["--set", "epochs=2", "--set", "hidden=[32]", "--set", "members=3"],
    "cvae": ["--set", "epochs=2", "--set", "hidden=[32]"],
}
LOADERS = {
    "dynamics": load_emulator,
    "ensemble": load_ensemble,
    "cvae": lambda p: load_cvae(p, z_mode="zero"),
}


def _eval(out) -> dict:
    return json.loads((out / "eval.json").read_text())


@pytest.mark.parametrize("task", ["dynamics", "ensemble", "cvae"])
def test_vector_model_trains_and_its_saved_model_gives_the_figures(run_cli, tmp_path, task):
    out = tmp_path / task
    result = run_cli("train", task, "--env", "Pendulum-v1", "--steps", "400", "--out", out, *TINY[task])
    assert result.exit_code == 0, result.stderr
    figures = _eval(out)
    assert figures["transitions"] == 400
    errors = [figures[f"open_loop_error_{t}"] for t in (1, 5, 10, 20)]
    assert all(np.isfinite(errors)) and errors[0] < errors[-1]  # errors compound open loop
    assert (out / "horizon_error.png").is_file()
    if task == "ensemble":
        assert -1.0 <= figures["uncertainty_spearman"] <= 1.0
    # The saved model reproduces the held-out one-step figure (same held-out episodes, seed + 1,000,003).
    model = LOADERS[task](out / "model.pt")
    test = episode_transitions(random_episodes(gym.make("Pendulum-v1"), 2_000, 1_000_003))
    assert one_step_errors(model, test)["test_mse"] == pytest.approx(figures["test_mse"], rel=1e-4)
    config = json.loads((out / "config.json").read_text())
    assert config["hyperparams"]["hidden"] == [32] and "horizon" in config["hyperparams"]


def test_discrete_actions_enter_one_hot_and_a_seed_repeats_the_run(run_cli, tmp_path):
    runs = []
    for name in ("a", "b"):
        result = run_cli(
            "train",
            "dynamics",
            "--env",
            "CartPole-v1",
            "--steps",
            "300",
            "--out",
            tmp_path / name,
            *TINY["dynamics"],
        )
        assert result.exit_code == 0, result.stderr
        runs.append(_eval(tmp_path / name))
    assert runs[0]["test_mse"] == runs[1]["test_mse"]
    assert load_emulator(tmp_path / "a" / "model.pt").action_dim == 2


def test_resume_trains_again_with_the_new_budget_on_the_same_env(run_cli, tmp_path):
    out = tmp_path / "run"
    assert run_cli("train", "dynamics", "--env", "Pendulum-v1", "--steps", "200", "--out", out).exit_code == 0
    result = run_cli("train", "dynamics", "--steps", "300", "--out", out, "--resume")
    assert result.exit_code == 0, result.stderr
    assert _eval(out)["transitions"] == 300
    assert_user_error(
        run_cli("train", "dynamics", "--env", "CartPole-v1", "--out", out, "--resume"), "Pendulum-v1"
    )


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["dynamics", "--env", "Pendulum-v1", "--set", "width=3"],
            ["unknown hyperparameter width", "valid:"],
        ),
        (["cvae"], ["--env ENV_ID"]),
        (["ensemble", "--env", "Pendulum-v1", "--data", "digits"], ["--data"]),
        (["dynamics", "--env", GRID], ["flat vector state", "obs=coords"]),
        (["dynamics", "--env", "CartPole-v1", "--set", "horizon=600"], ["lasts 600 steps"]),
        (["dynamics", "--env", "Pendulum-v1", "--steps", "50"], ["at least 100"]),
        (["ensemble", "--env", "Pendulum-v1", "--set", "members=0"], ["members"]),
        (["pixel-wm", "--env", "Pendulum-v1"], ["discrete actions", "Box"]),
        (["jepa", "--env", "tests/NoPictures-v0"], ["no image observations nor rgb_array render"]),
        (["pixel-wm", "--env", GRID, "--set", "max_side=0"], ["max_side"]),
    ],
)
def test_bad_requests_are_one_line_errors_and_leave_no_folder(run_cli, tmp_path, args, fragments):
    out = tmp_path / "run"
    assert_user_error(run_cli("train", *args, "--out", out), *fragments)
    assert not out.exists()


class _NoPictures(gym.Env):
    """Discrete actions, a vector observation and no rgb_array render: nothing a frame model can see."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)
    metadata = {"render_modes": []}


gym.register("tests/NoPictures-v0", entry_point=_NoPictures)


@pytest.fixture(scope="module")
def pixel_run(tmp_path_factory):
    from click.testing import CliRunner

    from rlsuite.cli import cli

    out = tmp_path_factory.mktemp("wm") / "pixel"
    args = ["train", "pixel-wm", "--env", GRID, "--steps", "200", "--out", str(out)]
    args += ["--set", "vae_epochs=2", "--set", "dynamics_epochs=4"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out


def test_pixel_world_model_reports_against_copying_and_writes_its_dream(pixel_run):
    figures = _eval(pixel_run)
    assert figures["sequences"] == 20 and figures["frame_shape"] == [18, 24, 3]
    assert all(figures[f"mse_ratio_vs_copy_{k}"] > 0 for k in (1, 5, 10))
    assert (pixel_run / "dream.gif").is_file() and (pixel_run / "horizon_error.png").is_file()


def test_dream_writes_the_real_rollout_beside_the_dream(run_cli, pixel_run, tmp_path):
    gif = tmp_path / "dream.gif"
    result = run_cli("dream", pixel_run, "--gif", gif, "--steps", "6", "--seed", "3", "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["steps"] == 6 and summary["gif"] == str(gif)
    with Image.open(gif) as picture:
        assert picture.n_frames == 7  # the first frame and six steps
        assert picture.size == (3 * (24 + 2 + 24), 3 * 18)  # real | gap | dream, scaled 3 times


def test_jepa_run_saves_its_model_and_dream_refuses_it(run_cli, tmp_path):
    out = tmp_path / "jepa"
    result = run_cli(
        "train",
        "jepa",
        "--env",
        GRID,
        "--steps",
        "150",
        "--out",
        out,
        "--set",
        "epochs=1",
        "--set",
        "embed_dim=4",
    )
    assert result.exit_code == 0, result.stderr
    figures = _eval(out)
    assert figures["min_std"] >= 0 and np.isfinite(figures["probe_r2"]) and figures["probe_r2"] <= 1
    assert "prediction_error_ratio_vs_copy_10" in figures
    # The saved JEPA embeds the same held-out frames (seed + 1,000,003) with the same spread.
    from rlsuite.worldmodel_tasks import TEST_WINDOWS, frame_env, frame_sequences
    from worldmodels.jepa import load_jepa

    test = frame_sequences(frame_env(GRID, {}, 32, "jepa"), TEST_WINDOWS * 10 // 2, 10, 1_000_003)
    with torch.no_grad():
        embeddings = load_jepa(out / "model.pt").embed(test["frames"]).reshape(-1, 4)
    assert float(embeddings.std(0).min()) == pytest.approx(figures["min_std"], rel=1e-5)
    assert_user_error(run_cli("dream", out, "--gif", tmp_path / "x.gif"), "jepa run", "pixel-wm")
    assert_user_error(run_cli("dream", tmp_path / "missing", "--gif", tmp_path / "x.gif"), "not found")
    assert not (tmp_path / "x.gif").exists()


def test_demo_world_model_section_writes_its_run_and_dream(tmp_path):
    from rlsuite.demo import SECTIONS, DemoContext, open_demo_dir, world_model_section

    assert world_model_section in [section for _, section in SECTIONS]
    ctx = DemoContext(open_demo_dir(tmp_path / "demo"), seed=0)
    world_model_section(ctx)
    assert ctx.files["pixel-wm dream"] == tmp_path / "demo" / "pixel-wm" / "dream.gif"
    assert ctx.files["pixel-wm dream"].stat().st_size > 1000
    figures = _eval(tmp_path / "demo" / "pixel-wm")
    assert figures["mse_ratio_vs_copy_1"] < 1  # a noise-free grid: the dream beats copying the first frame


def test_dream_longer_than_the_envs_episodes_is_a_one_line_error(run_cli, pixel_run, tmp_path):
    result = run_cli("dream", pixel_run, "--gif", tmp_path / "long.gif", "--steps", "300")
    assert_user_error(result, "sequences of 300 steps", "episodes end sooner")
    assert not (tmp_path / "long.gif").exists()


def test_an_env_without_image_observations_is_seen_through_its_render():
    from rlsuite.worldmodel_tasks import frame_env

    env = frame_env("CartPole-v1", {}, 32, "pixel-wm")  # 400x600 renders pooled 19 times, a few rows cut
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape == (21, 31, 3) and obs.dtype == np.uint8
    assert obs.min() < 128 < obs.max()  # the cart and pole, dark on white
    env.close()


def test_shrink_frames_pools_by_the_smallest_factor_that_fits():
    from worldmodels.pixel_world_model import shrink_frames

    frames = np.random.default_rng(0).integers(0, 256, (2, 65, 100, 3), dtype=np.uint8)
    small = shrink_frames(frames, 32)  # factor 4: 64x100 kept, 16x25 blocks
    assert small.shape == (2, 16, 25, 3)
    assert small[1, 0, 0, 2] == round(frames[1, :4, :4, 2].mean())
    assert shrink_frames(frames, 100) is frames
