"""Checks for user-given numbers, each failing with a one-line UserError."""

from __future__ import annotations

from numbers import Integral

from core.errors import UserError

MAX_SEED = 2**32 - 1  # numpy's legacy global RNG accepts seeds up to this


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
