"""Gradient MPC: the action sequence is the parameter, optimised by backprop through the unrolled model.

(a_1 … a_T) = argmin C(G(… G(s_0, a_1) …, a_T)) by Adam, the gradient flowing back through every step of
the model (backprop through time, the Kelley-Bryson adjoint method of optimal control). Bounds hold by
construction: either a = mid + half·tanh(u) with u free (``bounds="tanh"``) or a projection onto the box
after every step (``bounds="clip"``, projected gradient descent). Several sequences are optimised at once
as one batch (``restarts``): the warm start and ``restarts − 1`` others, to escape the local minima a
non-convex cost has (an obstacle straight ahead splits the way round into two). The others are uniformly
random sequences (``restart_plans="random"``) or constant ones spread evenly over the bounds
(``"constant"``: each a manoeuvre held throughout, e.g. a hard turn either way, where which way to turn
is the choice to make and random sequences mostly average out to going straight).
``optimize_starts`` does the same for a batch of starts at once, each with its own warm start (e.g. many
episodes stepped side by side), and ``optimize`` is its one-start case.
"""

from __future__ import annotations

import torch
from torch import Tensor

from core.errors import UserError
from planners.base import Bound, MPCPlanner
from planners.rollout import Cost, Dynamics

BOUND_MODES = ("tanh", "clip")
RESTART_PLANS = ("random", "constant")
TANH_EDGE = 1 - 1e-4  # atanh of a warm start on the bound would be infinite


class GradientMPC(MPCPlanner):
    """Receding-horizon gradient shooting; see the module docstring and :class:`MPCPlanner`."""

    def __init__(
        self,
        dynamics: Dynamics,
        cost: Cost,
        horizon: int,
        action_low: Bound,
        action_high: Bound,
        iterations: int = 10,
        lr: float = 0.1,
        restarts: int = 1,
        bounds: str = "tanh",
        restart_plans: str = "random",
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__(dynamics, cost, horizon, action_low, action_high, seed, dtype)
        if not isinstance(iterations, int) or iterations < 1:
            raise UserError(f"iterations must be a positive integer; got {iterations!r}")
        if not isinstance(restarts, int) or restarts < 1:
            raise UserError(f"restarts must be a positive integer; got {restarts!r}")
        if bounds not in BOUND_MODES:
            raise UserError(f"unknown bounds mode {bounds!r}; choose one of {', '.join(BOUND_MODES)}")
        if restart_plans not in RESTART_PLANS:
            raise UserError(
                f"unknown restart_plans {restart_plans!r}; choose one of {', '.join(RESTART_PLANS)}"
            )
        if lr <= 0:
            raise UserError(f"lr must be positive; got {lr}")
        self.iterations, self.lr, self.restarts, self.bounds = iterations, lr, restarts, bounds
        self.restart_plans = restart_plans
        self._mid, self._half = (self.high + self.low) / 2, (self.high - self.low) / 2

    def _to_actions(self, params: Tensor) -> Tensor:
        return self._mid + self._half * torch.tanh(params) if self.bounds == "tanh" else params

    def _to_params(self, actions: Tensor) -> Tensor:
        if self.bounds == "clip":
            return actions.clone()
        return torch.atanh(((actions - self._mid) / self._half).clamp(-TANH_EDGE, TANH_EDGE))

    def optimize(self, start: Tensor, init: Tensor) -> Tensor:
        return self.optimize_starts(start, init.unsqueeze(0))[0]

    def optimize_starts(self, starts: Tensor, init: Tensor) -> Tensor:
        """``[B, T, A]`` a good action sequence per start ``[B, S]``, the search starting at ``init
        [B, T, A]`` (row b from row b: e.g. each episode of a batch with its own warm start): each row's
        warm start and ``restarts − 1`` other sequences (see the module docstring) are optimised, its
        cheapest kept."""
        batch, restarts = starts.shape[0], self.restarts
        shape = (restarts - 1, batch, self.horizon, self.action_dim)
        if self.restart_plans == "constant":  # the middles of restarts − 1 equal shares of the range
            levels = (torch.arange(restarts - 1, dtype=self.dtype) + 0.5) / (restarts - 1)
            others = (self.low + (self.high - self.low) * levels[:, None])[:, None, None, :].expand(shape)
        else:
            others = self.low + (self.high - self.low) * torch.rand(
                shape, generator=self.generator, dtype=self.dtype
            )
        # Restart-major rows: row r·B + b is restart r of start b (restart 0 the warm start).
        plans, costs = self.optimize_rows(
            starts.repeat(restarts, 1), torch.cat((init.unsqueeze(0), others), dim=0).flatten(0, 1)
        )
        best = costs.reshape(restarts, batch).argmin(dim=0)
        return plans.reshape(restarts, batch, self.horizon, self.action_dim)[best, torch.arange(batch)]

    def optimize_rows(self, starts: Tensor, init: Tensor) -> tuple[Tensor, Tensor]:
        """Row by row, the cheapest of the sequences Adam visits from ``init [N, T, A]`` (included) from
        ``starts [N, S]``, and its cost: ``([N, T, A], [N])``. The rows do not interact (the summed cost's
        gradient is each row's own, Adam's steps are elementwise), so N problems cost one batched one."""
        params = self._to_params(init).requires_grad_(True)
        optimizer = torch.optim.Adam([params], lr=self.lr)
        best, best_cost = init.detach().clone(), torch.full((len(init),), float("inf"), dtype=self.dtype)
        for iteration in range(self.iterations + 1):
            actions = self._to_actions(params)
            costs = self.evaluate(starts, actions)
            # Keep the best sequence seen (the warm start included): a step may overshoot.
            values = costs.detach()
            better = values < best_cost
            best = torch.where(better[:, None, None], actions.detach(), best)
            best_cost = torch.where(better, values, best_cost)
            if iteration == self.iterations:  # the last evaluation only
                break
            optimizer.zero_grad()
            costs.sum().backward()
            optimizer.step()
            if self.bounds == "clip":
                with torch.no_grad():
                    params.copy_(torch.minimum(torch.maximum(params, self.low), self.high))
        return best, best_cost
