"""The HTML report: variants grouped over seeds, IQM and its interval in the table, every image inline."""

import base64
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.recording import write_video
from rlsuite.report import find_runs, group_variants, learning_curves
from rlsuite.stats import iqm_interval
from tests.rlsuite.conftest import assert_user_error

SCORES = {0.001: [100.0, 150.0, 200.0, 500.0], 0.01: [20.0, 30.0, 25.0, 10.0]}


def _fake_run(folder: Path, learning_rate: float, seed: int, score: float | None, episodes: int = 40) -> None:
    """A run folder as rlsuite train writes it: config.json, metrics.csv and (when finished) eval.json."""
    folder.mkdir(parents=True)
    config = {
        "algo": "dqn",
        "env_id": "CartPole-v1",
        "env_kwargs": {},
        "hyperparams": {"learning_rate": learning_rate, "gamma": 0.99, "seed": seed},
        "steps": 1000,
        "seed": seed,
    }
    (folder / "config.json").write_text(json.dumps(config))
    rows = "".join(f"{25 * (i + 1)},{10 + i + seed},25,0.1\n" for i in range(episodes))
    (folder / "metrics.csv").write_text("step,episode_return,episode_length,epsilon\n" + rows)
    if score is not None:
        (folder / "eval.json").write_text(
            json.dumps({"mean_return": score, "std_return": 0.0, "episodes": 5})
        )


@pytest.fixture
def runs(tmp_path):
    for learning_rate, scores in SCORES.items():
        for seed, score in enumerate(scores):
            _fake_run(tmp_path / "sweep" / f"lr{learning_rate}-s{seed}", learning_rate, seed, score)
    _fake_run(tmp_path / "sweep" / "stopped", 0.01, 9, None, episodes=30)  # stopped early: no eval.json
    frames = [np.full((16, 16, 3), shade, dtype=np.uint8) for shade in (0, 128, 255)]
    write_video(frames, tmp_path / "sweep" / "lr0.001-s3" / "agent.gif")
    return tmp_path / "sweep"


class _Page(HTMLParser):
    """The images and the table rows of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_runs_differing_only_in_seed_form_one_variant(runs):
    variants = group_variants(find_runs([runs]))
    assert [v.label for v in variants] == ["dqn learning_rate=0.001", "dqn learning_rate=0.01"]
    assert [len(v.runs) for v in variants] == [4, 5] and [len(v.scored) for v in variants] == [4, 4]


def test_learning_curves_are_the_iqm_of_each_seeds_recent_mean(runs):
    short, long = group_variants(find_runs([runs]))[1], group_variants(find_runs([runs]))[0]
    steps, band = learning_curves(long)
    # Episode i ends at step 25(i+1) with return 10+i+seed in every run. At the first episode's end each
    # run's recent mean is 10+seed; at the 40th, the mean of its last 10 episodes, 44.5+seed. The IQM over
    # seeds 0..3 is the mean of seeds 1 and 2.
    assert (steps[0], steps[-1]) == (25, 1000)
    assert band.estimate[0] == pytest.approx(11.5) and band.estimate[-1] == pytest.approx(46.0)
    assert np.all(band.low <= band.estimate) and np.all(band.estimate <= band.high)
    # The stopped run (seed 9, 30 episodes) ends the other variant's curve at step 750, where the recent
    # means are 34.5+seed for seeds 0, 1, 2, 3, 9; the IQM of those five drops the lowest and the highest.
    steps, band = learning_curves(short)
    assert steps[-1] == 750 and band.estimate[-1] == pytest.approx(36.5)


def test_report_page_holds_the_tables_and_inline_images(runs, run_cli, tmp_path):
    out = tmp_path / "report.html"
    result = run_cli("report", runs, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "9 runs" in result.stdout
    page = _Page()
    page.feed(out.read_text())
    assert not re.search(r"(src|href)=\"(?!data:)", out.read_text())  # nothing to fetch: one file
    kinds = []
    for uri in page.images:
        mime, data = re.match(r"data:image/(png|gif);base64,(.*)", uri).groups()
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert image.format.lower() == mime and image.width > 10
        kinds.append(mime)
    assert kinds.count("png") == 3 and kinds.count("gif") == 1  # IQM, profiles, curves; the one GIF found

    results = {row[0]: row for row in page.rows if row and row[0].startswith("dqn ")}
    for learning_rate, scores in SCORES.items():
        interval = iqm_interval(np.array(scores)[:, None])
        row = results[f"dqn learning_rate={learning_rate}"]
        assert row[1] == f"4 / {4 if learning_rate == 0.001 else 5}"
        assert (
            row[2]
            == f"{float(interval.estimate):.2f} [{float(interval.low):.2f}, {float(interval.high):.2f}]"
        )
    assert float(results["dqn learning_rate=0.001"][2].split()[0]) == pytest.approx(175.0)  # mean of 150, 200
    run_rows = [row for row in page.rows if row and row[0] == "stopped"]
    assert run_rows and run_rows[0][-1].startswith("no eval")


def test_no_runs_is_a_user_error(run_cli, tmp_path):
    assert_user_error(run_cli("report", tmp_path, "--out", tmp_path / "r.html"), "no training runs")
    assert_user_error(run_cli("report", tmp_path / "nowhere"), "run folder not found")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_page_renders_in_headless_chromium(runs, tmp_path):
    from rlsuite.report import build_report

    page, shot = tmp_path / "report.html", tmp_path / "shot.png"
    build_report([runs], page, record_gifs=False)
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1100,3000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape == (3000, 1100) and image.std() > 10  # drawn, not a blank page
