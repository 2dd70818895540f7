"""Headless plotting and rendering, a CLI runner, and a helper that checks the one-line error contract."""

from __future__ import annotations

import os

import matplotlib

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("MUJOCO_GL", "egl")
matplotlib.use("Agg")

import pytest  # noqa: E402
from click.testing import CliRunner, Result  # noqa: E402

from rlsuite.cli import cli  # noqa: E402

BOOK = ["rlsuite/GridWorld-v0", "--layout", "book"]


@pytest.fixture
def run_cli():
    """Invoke the CLI in-process: ``run_cli("solve", ...)`` returns click's Result (stdout, stderr apart)."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit status 2, nothing on stdout, one ``rlsuite: error:`` line on stderr mentioning each fragment."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rlsuite: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
