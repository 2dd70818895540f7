"""Model-predictive path integral control: perturb the plan, average the perturbations by exp(−cost/λ).

Williams et al. 2017 (information-theoretic MPC): with N noisy copies a_n = μ + ε_n of the plan,
the update is μ ← μ + Σ_n w_n ε_n with w_n = softmax_n(−C_n / λ). The temperature λ sets how greedy
the average is (λ → 0: the best sample; λ → ∞: the plain mean). The noise is clipped so every sample
stays inside the bounds; the next call starts from μ shifted.
"""

from __future__ import annotations

import torch
from torch import Tensor

from core.errors import UserError
from planners.base import Bound, MPCPlanner
from planners.rollout import Cost, Dynamics


class MPPI(MPCPlanner):
    """Receding-horizon MPPI; see the module docstring and :class:`MPCPlanner`.

    ``noise_std`` defaults to a quarter of the action range.
    """

    def __init__(
        self,
        dynamics: Dynamics,
        cost: Cost,
        horizon: int,
        action_low: Bound,
        action_high: Bound,
        samples: int = 1000,
        temperature: float = 1.0,
        noise_std: Bound | None = None,
        iterations: int = 1,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__(dynamics, cost, horizon, action_low, action_high, seed, dtype)
        if not isinstance(samples, int) or samples < 1:
            raise UserError(f"samples must be a positive integer; got {samples!r}")
        if temperature <= 0:
            raise UserError(f"temperature must be positive; got {temperature}")
        if not isinstance(iterations, int) or iterations < 1:
            raise UserError(f"iterations must be a positive integer; got {iterations!r}")
        self.samples, self.temperature, self.iterations = samples, temperature, iterations
        self.noise_std = (
            (self.high - self.low) / 4 if noise_std is None else self._bound(noise_std, "noise_std")
        )

    def optimize(self, start: Tensor, init: Tensor) -> Tensor:
        mean = init
        with torch.no_grad():
            for _ in range(self.iterations):
                noise = self.noise_std * torch.randn(
                    (self.samples, *mean.shape), generator=self.generator, dtype=self.dtype
                )
                noise[0] = 0.0  # the unperturbed plan is one of the samples
                candidates = torch.minimum(torch.maximum(mean + noise, self.low), self.high)
                costs = self.evaluate(start, candidates)
                weights = torch.softmax(-(costs - costs.min()) / self.temperature, dim=0)
                mean = mean + (weights[:, None, None] * (candidates - mean)).sum(0)
        return mean
