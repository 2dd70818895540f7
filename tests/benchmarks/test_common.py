import importlib.util
import json
import math
from pathlib import Path

# The benchmarks are scripts beside the packages, not an installed package: load their shared module by path.
_spec = importlib.util.spec_from_file_location(
    "bench_common", Path(__file__).resolve().parents[2] / "benchmarks" / "common.py"
)
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)


def test_results_file_keeps_the_runs_that_wrote_it(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    for i in range(common.COMMANDS_KEPT + 2):
        monkeypatch.setattr(common.sys, "argv", ["bench.py", "--only", f"part{i}"])
        path = common.write_results("demo", {"figure": math.nan if i == 0 else float(i)})
    record = json.loads(path.read_text())
    commands = [entry["command"].split()[-1] for entry in record["commands"]]
    last = common.COMMANDS_KEPT + 1
    assert commands == [f"part{i}" for i in range(2, last + 1)]  # latest last, the oldest dropped
    assert record["command"].endswith(f"part{last}") and record["figure"] == float(last)


def test_results_file_is_strict_json(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    path = common.write_results("demo", {"spearman": math.nan})
    assert json.loads(path.read_text())["spearman"] is None
