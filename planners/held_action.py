"""Held actions: one planner action is applied for ``repeat`` steps of the wrapped dynamics.

A planner over T held actions sees T · repeat steps ahead for the price of T decisions: the truck's
MPC needs hundreds of steps (the trailer rear moves 0.1 per step in a 40-wide yard) to see the dock at
all, which one decision per step would make a long and ill-conditioned sequence to optimise. The
executed control is then held for ``repeat`` env steps too (a control period of ``repeat`` steps), so
the planner's warm start, its last plan shifted by one action, lines up with what happened.
"""

from __future__ import annotations

from torch import Tensor

from core.errors import UserError
from planners.rollout import Dynamics


class HeldAction:
    """A :class:`Dynamics` whose ``step(state [B, S], action [B, A])`` applies ``action`` ``repeat`` times
    to ``dynamics`` (differentiable when it is)."""

    def __init__(self, dynamics: Dynamics, repeat: int) -> None:
        if not isinstance(repeat, int) or repeat < 1:
            raise UserError(f"repeat must be a positive integer; got {repeat!r}")
        self.dynamics, self.repeat = dynamics, repeat
        self.state_dim, self.action_dim = dynamics.state_dim, dynamics.action_dim

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        for _ in range(self.repeat):
            state = self.dynamics.step(state, action)
        return state
