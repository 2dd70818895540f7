"""Checks for user-given numbers, each failing with a one-line UserError."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real

from core.errors import UserError

MAX_SEED = 2**32 - 1  # numpy's legacy global RNG accepts seeds up to this


def check_known_names(names: Iterable[str], valid: Iterable[str], owner: str) -> None:
    """Raise UserError if any of ``names`` (``--set`` hyperparameters) is not in ``valid``, listing those
    (in the order given)."""
    valid = list(valid)
    unknown = sorted(set(names) - set(valid))
    if unknown:
        raise UserError(f"unknown hyperparameter {', '.join(unknown)} for {owner}; valid: {', '.join(valid)}")


def check_seed(seed: object) -> int:
    """Return `seed` as an int, or raise UserError if it is not an integer in [0, 2**32 - 1]."""
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed <= MAX_SEED:
        raise UserError(f"seed must be an integer between 0 and {MAX_SEED}, got {seed!r}")
    return int(seed)


def check_positive_int(value: object, name: str) -> int:
    """Return `value` as an int, or raise UserError naming `name` if it is not an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise UserError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_non_negative_int(value: object, name: str) -> int:
    """Return `value` as an int, or raise UserError naming `name` if it is not an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise UserError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_bool(value: object, name: str) -> bool:
    """Return `value`, or raise UserError naming `name` if it is not True or False."""
    if not isinstance(value, bool):
        raise UserError(f"{name} must be true or false, got {value!r}")
    return value


def check_range(name: str, value: object, low: float, high: float, low_open: bool = False) -> float:
    """Return `value` if it is a number in [low, high] (or (low, high]); else a UserError naming `name`."""
    is_number = isinstance(value, Real) and not isinstance(value, bool)
    if not (is_number and (low < value if low_open else low <= value) and value <= high):
        bound = "(" if low_open else "["
        raise UserError(f"{name} must be a number in {bound}{low}, {high}], got {value!r}")
    return value
