"""Strict JSON text for the files and lines the suite writes: a non-finite number becomes null.

Python's json writes NaN and Infinity, which are not JSON: browsers, jq and most other readers refuse the
whole file. A figure that could not be computed (a Spearman correlation of a constant input, the mean of
no episodes) is written as null instead, which every reader takes.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite_or_none(obj: Any) -> Any:
    """``obj`` with every non-finite float inside dicts, lists and tuples replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: finite_or_none(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_none(value) for value in obj]
    return obj


def json_text(obj: Any, indent: int | None = None, default: Any = None) -> str:
    """``json.dumps`` that never writes NaN or Infinity (see the module docstring)."""
    return json.dumps(finite_or_none(obj), indent=indent, default=default, allow_nan=False)
