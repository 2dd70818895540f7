"""``--set`` / ``--env-kwarg`` values are JSON literals when they can be, strings otherwise."""

from __future__ import annotations

import pytest

from core.errors import UserError
from rlsuite.options import parse_assignments


def test_values_are_json_literals_or_strings():
    parsed = parse_assignments(
        ["lr=0.1", "n=3", "flag=true", "none=null", "sizes=[64, 64]", "name=book", "path=a=b"], "--set"
    )
    assert parsed == {
        "lr": 0.1,
        "n": 3,
        "flag": True,
        "none": None,
        "sizes": [64, 64],
        "name": "book",
        "path": "a=b",
    }


@pytest.mark.parametrize("pair", ["lr", "=3", ""])
def test_malformed_pairs_name_the_option(pair):
    with pytest.raises(UserError, match="--set expects key=value"):
        parse_assignments([pair], "--set")
