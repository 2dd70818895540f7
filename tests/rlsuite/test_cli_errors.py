"""Every user mistake: exit status 2 and one line on stderr, through click's parser and the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import assert_user_error


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["frobnicate"], "frobnicate"),
        (["solve"], "ENV"),
        (["solve", "rlsuite/GridWorld-v0", "--gamma", "1.5"], "--gamma"),
        (["solve", "rlsuite/GridWorld-v0", "--algo", "dp"], "dp"),
        (["solve", "rlsuite/GridWorld-v0", "--noise", "-0.1"], "--noise"),
        (["solve", "rlsuite/NoSuchGrid-v0"], "NoSuchGrid"),
        (["train", "q-learning"], "--env"),
        (["list", "--verbose"], "--verbose"),
    ],
)
def test_usage_errors_are_one_line(run_cli, args, fragment):
    assert_user_error(run_cli(*args), fragment)


def test_console_script_reports_unknown_env_in_one_line(tmp_path):
    script = Path(sys.executable).with_name("rlsuite")
    result = subprocess.run(
        [script, "train", "q-learning", "--env", "Nope-v3", "--out", tmp_path / "run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("rlsuite: error: ") and "Nope" in result.stderr


def test_help_exits_zero(run_cli):
    result = run_cli("--help")
    assert result.exit_code == 0 and "solve" in result.stdout


def test_bare_command_prints_the_help(run_cli):
    result = run_cli()
    assert result.exit_code == 0 and "Commands:" in result.stdout and not result.stderr
