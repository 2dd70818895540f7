"""The lattice search for a truck docking: what it finds docks on replay; a doomed start gets nothing."""

import math

import pytest
import torch

from core.errors import UserError
from planners.truck_search import LatticeSearch, replay_docks, search_docking, searched_dockable

STRAIGHT = torch.tensor([10.0, 0.0, 0.0, 0.0], dtype=torch.float64)  # the rear at (6, 0), square to the dock
DOOMED = torch.tensor(
    [35.8, 0.0, math.pi, math.pi], dtype=torch.float64
)  # rear 0.2 from the far wall, into it


def test_a_start_on_the_dock_line_backs_straight_in():
    refs = search_docking(STRAIGHT)
    # 6 units at 0.1 a step: the rear reaches x = 0 on the 60th step (61st with rounding), square.
    assert refs is not None and len(refs) in (60, 61)
    assert replay_docks(STRAIGHT, refs)
    assert not replay_docks(STRAIGHT, refs[:-1])  # one step short: the rear has not reached the wall


def test_a_start_off_the_line_and_askew_is_docked_by_a_manoeuvre():
    # Near the top wall, the cab turned 71° down, folded 40° from the trailer (the benchmark's MPC missed it).
    start = torch.tensor([11.6, 6.4, math.radians(-71), math.radians(-31)], dtype=torch.float64)
    refs = search_docking(start, LatticeSearch(max_nodes=2000))  # a narrower search, for the test's time
    assert refs is not None and replay_docks(start, refs)
    assert not replay_docks(start, torch.zeros_like(refs))  # straight backing does not do it


def test_the_step_limit_and_a_doomed_start_give_no_plan():
    assert search_docking(STRAIGHT, LatticeSearch(max_steps=55)) is None
    assert search_docking(DOOMED) is None
    assert not replay_docks(STRAIGHT, torch.zeros(100, dtype=torch.float64), max_steps=50)
    assert searched_dockable(torch.stack((STRAIGHT, DOOMED))).tolist() == [True, False]


def test_lattice_search_rejects_empty_settings():
    with pytest.raises(UserError, match="folds"):
        LatticeSearch(folds=())
