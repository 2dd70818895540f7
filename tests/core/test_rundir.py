import json
import re

import pytest

from core.errors import UserError
from core.rundir import RunDir


def test_create_lays_out_paths(tmp_path):
    run = RunDir.create(tmp_path, "exp")
    assert run.path == tmp_path / "exp" and run.path.is_dir()
    assert run.config_path.name == "config.json"
    assert run.model_path.name == "model.pt"
    assert run.metrics_path.name == "metrics.csv"
    assert run.eval_path.name == "eval.json"
    assert run.tensorboard_dir == run.path / "tb"
    assert run.media_path("episode.gif") == run.path / "episode.gif"


def test_default_names_are_timestamps_and_do_not_collide(tmp_path):
    first = RunDir.create(tmp_path)
    first.write_config({})
    second = RunDir.create(tmp_path)
    assert re.fullmatch(r"\d{8}-\d{6}", first.path.name)
    assert second.path != first.path


def test_refuses_a_non_empty_folder_without_resume(tmp_path):
    RunDir.create(tmp_path, "exp").write_config({"algo": "dqn"})
    with pytest.raises(UserError, match=r"run directory .*exp already exists and is not empty"):
        RunDir.create(tmp_path, "exp")
    assert RunDir.create(tmp_path, "exp", resume=True).read_config()["algo"] == "dqn"


def test_accepts_an_existing_empty_folder(tmp_path):
    (tmp_path / "exp").mkdir()
    assert RunDir.create(tmp_path, "exp").path.is_dir()


def test_resume_needs_an_existing_folder(tmp_path):
    with pytest.raises(UserError, match=r"cannot resume: run directory .*exp does not exist"):
        RunDir.create(tmp_path, "exp", resume=True)


@pytest.mark.parametrize("name", ["", "..", "a/b"])
def test_rejects_names_that_are_paths(tmp_path, name):
    with pytest.raises(UserError, match="invalid run name"):
        RunDir.create(tmp_path, name)


def test_open_errors(tmp_path):
    with pytest.raises(UserError, match="run directory not found"):
        RunDir.open(tmp_path / "missing")
    with pytest.raises(UserError, match=r"not a run directory \(no config.json\)"):
        RunDir.open(tmp_path)


def test_config_round_trip_with_versions(tmp_path):
    RunDir.create(tmp_path, "exp").write_config({"algo": "dqn", "lr": 1e-3})
    config = RunDir.open(tmp_path / "exp").read_config()
    assert config["algo"] == "dqn" and config["lr"] == 1e-3
    assert set(config["versions"]) == {"python", "rlsuite", "numpy", "torch", "gymnasium"}


def test_malformed_config_is_a_user_error(tmp_path):
    run = RunDir.create(tmp_path, "exp")
    run.config_path.write_text("{not json")
    with pytest.raises(UserError, match="malformed JSON: .*config.json"):
        RunDir.open(run.path).read_config()


def test_write_json(tmp_path):
    run = RunDir.create(tmp_path, "exp")
    path = run.write_json("eval.json", {"mean_return": 1.5})
    assert path == run.eval_path
    assert json.loads(path.read_text()) == {"mean_return": 1.5}
    with pytest.raises(UserError, match="invalid file name"):
        run.write_json("../escape.json", {})
