"""The registry resolves every name it lists and names the choices when it cannot."""

from __future__ import annotations

import pytest

from core.errors import UserError
from rlsuite.registry import ALGORITHMS, get_algorithm


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_loads(name):
    algorithm = get_algorithm(name)
    target = algorithm.load()
    assert callable(target)
    assert (algorithm.kind == "agent") == isinstance(target, type)


def test_unknown_name_lists_the_choices():
    names = ", ".join(sorted(ALGORITHMS))
    assert {"vi", "pi", "qi", "q-learning"} <= set(ALGORITHMS)
    with pytest.raises(UserError, match=f"unknown algorithm 'sarsa'; choose one of: {names}$"):
        get_algorithm("sarsa")


def test_kind_filter():
    assert get_algorithm("vi", kind="planner").name == "vi"
    agents = ", ".join(sorted(name for name, a in ALGORITHMS.items() if a.kind == "agent"))
    assert "q-learning" in agents and "vi" not in agents
    with pytest.raises(UserError, match=f"unknown agent algorithm 'vi'; choose one of: {agents}$"):
        get_algorithm("vi", kind="agent")
