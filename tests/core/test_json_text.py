import json
import math

from core.json_text import finite_or_none, json_text
from core.rundir import RunDir


def test_non_finite_numbers_become_null_at_any_depth():
    obj = {"a": math.nan, "b": [1.5, math.inf, (-math.inf, 2)], "c": {"d": math.nan, "e": "nan"}}
    assert finite_or_none(obj) == {"a": None, "b": [1.5, None, [None, 2]], "c": {"d": None, "e": "nan"}}
    assert json.loads(json_text(obj)) == finite_or_none(obj)
    assert "NaN" not in json_text(obj) and "Infinity" not in json_text(obj)


def test_finite_figures_are_written_as_json_would():
    obj = {"x": 0.1, "n": 3, "ok": True, "none": None, "s": "text"}
    assert json_text(obj, indent=2) == json.dumps(obj, indent=2)


def refuse_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def test_run_folder_json_is_strict(tmp_path):
    path = RunDir.create(tmp_path, name="run").write_json("eval.json", {"spearman": math.nan})
    assert json.loads(path.read_text(), parse_constant=refuse_constant) == {"spearman": None}
