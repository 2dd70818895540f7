"""REINFORCE (Williams 1992): the Monte-Carlo policy gradient with reward-to-go and an optional baseline.

The learning rule is :meth:`REINFORCE.advantages` (G_t − b) and :meth:`REINFORCE.losses`; the rest is the
shared on-policy machinery (:mod:`agents.pg.on_policy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agents.pg.on_policy import OnPolicyAgent, OnPolicyConfig, to_tensors
from agents.pg.rollout import RolloutBuffer, returns_to_go
from core.errors import UserError
from core.validation import check_range

BASELINES = ("none", "mean", "value")


@dataclass
class REINFORCEConfig(OnPolicyConfig):
    """Hyperparameters of :class:`REINFORCE`: large batches of steps per update, Adam, no entropy bonus.

    An episode that the batch cuts off (or a time limit truncates) is completed by V(s) with the value
    baseline, and left out (0) without it.
    """

    learning_rate: float = 3e-3
    n_steps: int = 512
    n_envs: int = 4
    max_grad_norm: float = 1.0
    baseline: str = "value"
    """b in (G_t − b): ``none``, ``mean`` (the batch's mean return-to-go) or ``value`` (a learned V(s_t))."""
    vf_coef: float = 0.5
    """Weight of the value baseline's MSE loss, (V(s_t) − G_t)²."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.baseline not in BASELINES:
            raise UserError(f"unknown baseline {self.baseline!r}; valid: {', '.join(BASELINES)}")
        check_range("vf_coef", self.vf_coef, 0.0, float("inf"))


class REINFORCE(OnPolicyAgent):
    """``REINFORCE("CartPole-v1").learn(100_000)``: ∇θ J ≈ (1/N) Σ_t ∇θ log πθ(a_t|s_t) (G_t − b)."""

    kind = "reinforce"
    config_class = REINFORCEConfig
    config: REINFORCEConfig

    def _uses_critic(self) -> bool:
        return self.config.baseline == "value"

    def _make_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.config.learning_rate)

    def advantages(self, buffer: RolloutBuffer) -> tuple[np.ndarray, np.ndarray]:
        """(G_t − b, G_t): reward-to-go G_t = Σ_{k≥t} γ^{k−t} r_k, and b per ``baseline``."""
        b = buffer
        returns = returns_to_go(b.rewards, b.next_values, b.terminated, b.truncated, self.config.gamma)
        if self.config.baseline == "mean":
            return returns - returns.mean(), returns
        return returns - b.values, returns  # values are zeros without the value baseline

    def losses(self, buffer: RolloutBuffer) -> tuple[Tensor, Tensor]:
        """Policy loss −mean[log π(a_t|s_t) (G_t − b)] (its gradient is −∇J) and the baseline's MSE."""
        advantages, returns = self.advantages(buffer)
        obs, actions, advantages, returns = to_tensors(buffer, advantages, returns)
        log_probs, _ = self.policy.evaluate(obs, actions)
        policy_loss = -(log_probs * advantages).mean()
        if self.value is None:
            return policy_loss, torch.zeros(())
        return policy_loss, F.mse_loss(self.value(obs).squeeze(-1), returns)

    def _update(self, buffer: RolloutBuffer) -> dict[str, float]:
        policy_loss, value_loss = self.losses(buffer)
        self._step(policy_loss + self.config.vf_coef * value_loss)
        return {"policy_loss": policy_loss.item(), "value_loss": value_loss.item()}
