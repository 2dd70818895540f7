import csv

import pytest

from core.metrics import MetricsLogger


def _rows(path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_csv_columns_grow_to_the_union_of_keys(tmp_path):
    with MetricsLogger(tmp_path, tensorboard=False) as logger:
        logger.log(1, loss=0.5)
        logger.log(2, loss=0.25, reward=3)
        logger.log(3, reward=4.0)
    assert _rows(tmp_path / "metrics.csv") == [
        ["step", "loss", "reward"],
        ["1", "0.5", ""],
        ["2", "0.25", "3.0"],
        ["3", "", "4.0"],
    ]
    assert logger.history[1] == {"step": 2, "loss": 0.25, "reward": 3.0}


def test_resumed_run_appends_to_existing_csv(tmp_path):
    with MetricsLogger(tmp_path, tensorboard=False) as logger:
        logger.log(1, loss=1.0)
    with MetricsLogger(tmp_path, tensorboard=False) as logger:
        assert logger.history == [{"step": 1, "loss": 1.0}]
        logger.log(2, loss=0.5, lr=0.1)
    assert _rows(tmp_path / "metrics.csv") == [["step", "loss", "lr"], ["1", "1.0", ""], ["2", "0.5", "0.1"]]


def test_in_memory_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    logger = MetricsLogger(None)
    logger.log(0, x=1.0)
    logger.close()
    assert logger.history == [{"step": 0, "x": 1.0}]
    assert not any(tmp_path.iterdir())


def test_tensorboard_events_are_written(tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    with MetricsLogger(tmp_path) as logger:
        logger.log(10, loss=0.5)
        logger.log(20, loss=0.25)
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    events = event_accumulator.EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(10, 0.5), (20, 0.25)]
