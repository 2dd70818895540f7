"""What every receding-horizon planner shares: bounds, the warm start by shifting, and ``plan``.

Each call to :meth:`MPCPlanner.plan` optimises T actions from the current state, returns the first one
and keeps the rest: the next call starts from that plan shifted by one step (the last action repeated),
so a planner refines one plan over time instead of starting afresh at every step. Subclasses only say
how to optimise a sequence (:meth:`MPCPlanner.optimize`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from core.errors import UserError
from planners.rollout import Cost, Dynamics, rollout

Bound = float | Sequence[float] | np.ndarray | Tensor


def shifted(actions: Tensor) -> Tensor:
    """The next warm start: ``actions [..., T, A]`` one step on, the last action repeated."""
    return torch.cat((actions[..., 1:, :], actions[..., -1:, :]), dim=-2)


class MPCPlanner(ABC):
    """Model-predictive control on any :class:`Dynamics` and any :data:`Cost`.

    ``plan(state [S]) -> action [A]`` (numpy in, numpy out; a tensor in, a tensor out). After a call,
    ``plan_actions [T, A]`` and ``plan_states [T+1, S]`` hold the plan and the trajectory the model
    predicts for it, and ``plan_cost`` its cost. ``reset()`` forgets the plan (call it when an episode
    starts) and re-seeds the planner's random numbers.
    """

    def __init__(
        self,
        dynamics: Dynamics,
        cost: Cost,
        horizon: int,
        action_low: Bound,
        action_high: Bound,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if not isinstance(horizon, int) or horizon < 1:
            raise UserError(f"horizon must be a positive integer; got {horizon!r}")
        self.dynamics, self.cost, self.horizon, self.dtype = dynamics, cost, horizon, dtype
        self.action_dim = int(dynamics.action_dim)
        self.low = self._bound(action_low, "action_low")
        self.high = self._bound(action_high, "action_high")
        if not bool((self.low < self.high).all()):
            raise UserError(
                f"action_low must be below action_high; got {self.low.tolist()}, {self.high.tolist()}"
            )
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.plan_actions: Tensor | None = None
        self.plan_states: Tensor | None = None
        self.plan_cost = float("nan")

    def _bound(self, value: Bound, name: str) -> Tensor:
        bound = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=self.dtype).reshape(-1)
        if bound.numel() == 1:
            bound = bound.expand(self.action_dim).clone()
        if bound.numel() != self.action_dim or not bool(torch.isfinite(bound).all()):
            raise UserError(f"{name} must be {self.action_dim} finite numbers; got {value!r}")
        return bound

    def reset(self) -> None:
        """Forget the plan and restart the random numbers (same seed, same episode)."""
        self.plan_actions = self.plan_states = None
        self.plan_cost = float("nan")
        self.generator.manual_seed(self.seed)

    def warm_start(self) -> Tensor:
        """``[T, A]`` the first guess for the next call: the last plan shifted by one step, the last action
        repeated; with no plan yet, the middle of the bounds."""
        if self.plan_actions is None:
            return ((self.low + self.high) / 2).expand(self.horizon, self.action_dim).clone()
        return shifted(self.plan_actions)

    def plan(self, state: np.ndarray | Tensor) -> np.ndarray | Tensor:
        """Optimise the horizon from ``state [S]`` and return the first action ``[A]`` (receding horizon)."""
        start = torch.as_tensor(np.asarray(state) if not isinstance(state, Tensor) else state)
        start = start.detach().to(self.dtype).reshape(1, -1)
        if start.shape[1] != self.dynamics.state_dim:
            raise UserError(
                f"state must have {self.dynamics.state_dim} values; got shape {tuple(start.shape)}"
            )
        actions = self.optimize(start, self.warm_start())
        actions = torch.minimum(torch.maximum(actions.detach(), self.low), self.high)
        with torch.no_grad():
            states = rollout(self.dynamics, start, actions.unsqueeze(0))
            self.plan_cost = float(self.cost(states, actions.unsqueeze(0))[0])
        self.plan_actions, self.plan_states = actions, states[0]
        first = actions[0].clone()
        return first if isinstance(state, Tensor) else first.numpy().astype(np.float32)

    def evaluate(self, start: Tensor, actions: Tensor) -> Tensor:
        """``[N]`` costs of ``N`` action sequences ``[N, T, A]`` from one start ``[1, S]`` (or each from
        its own, ``[N, S]``)."""
        states = rollout(self.dynamics, start.expand(actions.shape[0], -1), actions)
        return self.cost(states, actions)

    @abstractmethod
    def optimize(self, start: Tensor, init: Tensor) -> Tensor:
        """``[T, A]`` a good action sequence from ``start [1, S]``, the search starting at ``init``."""
