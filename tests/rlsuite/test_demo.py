"""``rlsuite demo`` runs end to end, writes its figures, and can be run again into the same folder."""

from __future__ import annotations

import pytest

from rlsuite.demo import DEMO_MARKER, open_demo_dir

from .conftest import assert_user_error


@pytest.mark.timeout(900)  # the whole tour: a few minutes on two cores
def test_demo_end_to_end(run_cli, tmp_path):
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", out)
    assert result.exit_code == 0, result.stderr
    for name in ("book_values.png", "maze_values.png", "residuals.png"):
        assert (out / name).stat().st_size > 1000, name
    for name in ("learning_curve.png", "values.png", "greedy.gif", "model.pt", "eval.json"):
        assert (out / "q-learning" / name).is_file(), name
    for algo in ("dqn", "ppo"):
        for name in ("learning_curve.png", "greedy.gif", "model.pt", "eval.json"):
            assert (out / algo / name).is_file(), (algo, name)
    for name in ("car_obstacles.gif", "mpc_horizons.png"):
        assert (out / name).stat().st_size > 1000, name
    assert (out / "pixel-wm" / "dream.gif").stat().st_size > 1000
    assert "DIFFERENT" not in result.stdout
    assert run_cli("eval", out / "q-learning", "--episodes", "3").exit_code == 0


def test_demo_folder_is_replaced(tmp_path):
    first = open_demo_dir(tmp_path / "demo")
    first.write_config({"command": DEMO_MARKER})
    (first.path / "old.png").write_bytes(b"old")
    again = open_demo_dir(tmp_path / "demo")  # an earlier demo's folder is replaced, not refused
    assert again.path == first.path and not (again.path / "old.png").exists()


def test_demo_refuses_another_runs_folder(run_cli, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert_user_error(run_cli("demo", "--out", tmp_path / "busy"), "already exists")
