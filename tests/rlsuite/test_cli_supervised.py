"""`rlsuite train classify|vae|simclr|vicreg|barlow --data ...`: supervised tasks from the command line."""

from __future__ import annotations

import json

from .conftest import assert_user_error


def test_classify_digits_writes_a_run(run_cli, tmp_path):
    out = tmp_path / "cls"
    result = run_cli(
        "train", "classify", "--data", "digits", "--steps", "2", "--set", "feature_dim=32", "--out", out
    )
    assert result.exit_code == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert (
        config["task"] == "classify" and config["data"] == "digits" and config["model"]["feature_dim"] == 32
    )
    assert json.loads((out / "eval.json").read_text())["test_accuracy"] > 0.3
    assert (out / "model.pt").is_file() and "test_accuracy" in result.stdout


def test_vicreg_on_gridworld_frames_probes_positions(run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr("rlsuite.supervised_tasks.FRAMES", 300)
    out = tmp_path / "vicreg"
    result = run_cli(
        "train", "vicreg", "--data", "frames:rlsuite/GridWorld-v0", "--steps", "1",
        "--set", "batch_size=64", "--set", "feature_dim=16", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "eval.json").read_text())
    assert "position_r2" in summary and summary["epochs"] == 1
    assert json.loads((out / "config.json").read_text())["ssl"]["channels_last"] is True


def test_vae_writes_its_pictures(run_cli, tmp_path):
    out = tmp_path / "vae"
    result = run_cli("train", "vae", "--steps", "1", "--set", "latent_dim=4", "--out", out)
    assert result.exit_code == 0, result.stderr
    for name in ("samples", "reconstructions", "interpolation"):
        assert (out / f"{name}.png").is_file()
    assert json.loads((out / "eval.json").read_text())["test_nelbo_per_pixel"] > 0


def test_bad_data_and_hyperparameters_are_one_line_errors(run_cli, tmp_path):
    assert_user_error(
        run_cli("train", "simclr", "--data", "imagenet", "--out", tmp_path / "a"), "--data", "imagenet"
    )
    assert_user_error(
        run_cli("train", "classify", "--data", "mnist:/nowhere", "--out", tmp_path / "b"), "not found"
    )
    result = run_cli("train", "classify", "--set", "colour=red", "--out", tmp_path / "c")
    assert_user_error(result, "unknown hyperparameter colour")
    result = run_cli("train", "classify", "--set", "stem_channels=32", "--out", tmp_path / "d")
    assert_user_error(result, "stem_channels", "not read by model 'cnn'")
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_order_task_learns_clips_of_env_frames(run_cli, tmp_path):
    out = tmp_path / "order"
    result = run_cli(
        "train", "order", "--steps", "2", "--set", "clips=200", "--set", "length=3", "--set", "dim=32",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "eval.json").read_text())
    assert summary["n_train"] + summary["n_test"] == 200 and 0 <= summary["test_accuracy"] <= 1
    assert json.loads((out / "config.json").read_text())["model"]["dim"] == 32
    assert (out / "model.pt").is_file()


def test_order_task_refuses_image_data_and_unknown_settings(run_cli, tmp_path):
    assert_user_error(run_cli("train", "order", "--data", "digits", "--out", tmp_path / "a"), "--data")
    result = run_cli("train", "order", "--set", "frames=5", "--out", tmp_path / "b")
    assert_user_error(result, "unknown hyperparameter frames", "clips")
    assert_user_error(run_cli("train", "order", "--set", "length=2", "--out", tmp_path / "c"), "3 frames")
    assert not any((tmp_path / name).exists() for name in "abc")
