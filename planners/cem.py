"""The cross-entropy method: sample sequences from a Gaussian, refit it to the best few, repeat.

For models that are not differentiable or whose gradients mislead (a learned ensemble, hard constraints).
Each iteration draws N sequences from N(μ, σ²) clipped to the bounds, keeps the K cheapest (the elites)
and moves (μ, σ) towards their mean and standard deviation (Rubinstein 1999; as PETS uses it,
Chua et al. 2018). The plan is μ; the next call starts from μ shifted, with σ reset.
"""

from __future__ import annotations

import torch
from torch import Tensor

from core.errors import UserError
from planners.base import Bound, MPCPlanner
from planners.rollout import Cost, Dynamics


class CEM(MPCPlanner):
    """Receding-horizon CEM; see the module docstring and :class:`MPCPlanner`.

    ``init_std`` defaults to half the action range; ``smoothing`` is the weight kept on the old (μ, σ).
    """

    def __init__(
        self,
        dynamics: Dynamics,
        cost: Cost,
        horizon: int,
        action_low: Bound,
        action_high: Bound,
        samples: int = 500,
        elites: int = 50,
        iterations: int = 5,
        init_std: Bound | None = None,
        smoothing: float = 0.1,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__(dynamics, cost, horizon, action_low, action_high, seed, dtype)
        if not (isinstance(samples, int) and isinstance(elites, int) and 1 <= elites <= samples):
            raise UserError(
                f"need 1 <= elites <= samples (integers); got elites={elites!r}, samples={samples!r}"
            )
        if not isinstance(iterations, int) or iterations < 1:
            raise UserError(f"iterations must be a positive integer; got {iterations!r}")
        if not 0 <= smoothing < 1:
            raise UserError(f"smoothing must be in [0, 1); got {smoothing}")
        self.samples, self.elites, self.iterations, self.smoothing = samples, elites, iterations, smoothing
        self.init_std = (self.high - self.low) / 2 if init_std is None else self._bound(init_std, "init_std")

    def optimize(self, start: Tensor, init: Tensor) -> Tensor:
        mean, std = init, self.init_std.expand_as(init)
        with torch.no_grad():
            for _ in range(self.iterations):
                noise = torch.randn((self.samples, *mean.shape), generator=self.generator, dtype=self.dtype)
                candidates = torch.minimum(torch.maximum(mean + std * noise, self.low), self.high)
                candidates[0] = mean  # the current mean competes too
                costs = self.evaluate(start, candidates)
                elites = candidates[torch.topk(costs, self.elites, largest=False).indices]
                mean = self.smoothing * mean + (1 - self.smoothing) * elites.mean(0)
                std = self.smoothing * std + (1 - self.smoothing) * elites.std(0, unbiased=False)
        return mean
