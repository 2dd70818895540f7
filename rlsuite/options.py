"""Parsing repeated ``key=value`` options (``--set``, ``--env-kwarg``) into keyword arguments."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from core.errors import UserError
from core.validation import check_known_names


def parse_assignments(pairs: Iterable[str], option: str) -> dict[str, Any]:
    """Turn ``["lr=0.1", "double=true", "layout=book"]`` into ``{"lr": 0.1, "double": True, ...}``.

    Values are JSON literals when they parse as one (numbers, ``true``/``false``, ``null``, lists), and plain
    strings otherwise. A pair without ``=`` or without a key raises UserError naming ``option``.
    """
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"{option} expects key=value, got {pair!r}")
        try:
            parsed[key] = json.loads(raw)
        except json.JSONDecodeError:
            parsed[key] = raw
    return parsed


def split_settings(
    values: dict[str, Any], groups: Iterable[Iterable[str]], owner: str
) -> list[dict[str, Any]]:
    """``--set`` values sorted into ``groups`` of names (one dict per group, e.g. a trainer's and a
    model's config fields); a name in no group is a UserError naming ``owner`` and the valid names."""
    groups = [set(group) for group in groups]
    check_known_names(values, sorted(set().union(*groups)), owner)
    return [{k: v for k, v in values.items() if k in group} for group in groups]


def format_value(value: Any) -> str:
    """A setting or figure for a person to read: floats to 4 significant digits (in lists too)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
