"""Advantage actor-critic, the synchronous variant of A3C (Mnih et al. 2016), with GAE(λ) advantages.

The learning rule is :meth:`A2C.losses`; the rest is the shared on-policy machinery
(:mod:`agents.pg.on_policy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from agents.pg.on_policy import OnPolicyAgent, OnPolicyConfig, to_tensors
from agents.pg.rollout import RolloutBuffer, gae
from core.errors import UserError
from core.validation import check_bool, check_range

OPTIMIZERS = ("rmsprop", "adam")


@dataclass
class A2CConfig(OnPolicyConfig):
    """Hyperparameters of :class:`A2C`. The defaults are SB3's (RMSprop, 5-step rollouts), with 8 envs as
    RL-Zoo uses for CartPole-v1; they learn CartPole."""

    gae_lambda: float = 1.0
    """λ of GAE; 1 gives n-step returns minus V, 0 the one-step TD error."""
    ent_coef: float = 0.0
    """c_ent: weight of the entropy bonus."""
    vf_coef: float = 0.5
    """c_v: weight of the value loss (V − R)²."""
    optimizer: str = "rmsprop"
    """``rmsprop`` (α = 0.99, ε = 1e-5, as A3C and SB3) or ``adam``."""
    normalize_advantage: bool = False
    """Standardise the advantages of each rollout (SB3's option of the same name)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("gae_lambda", self.gae_lambda, 0.0, 1.0)
        check_range("ent_coef", self.ent_coef, 0.0, float("inf"))
        check_range("vf_coef", self.vf_coef, 0.0, float("inf"))
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        check_bool(self.normalize_advantage, "normalize_advantage")


class A2C(OnPolicyAgent):
    """``A2C("CartPole-v1").learn(100_000)``: n-step actor-critic on synchronous vector envs."""

    kind = "a2c"
    config_class = A2CConfig
    config: A2CConfig

    def _uses_critic(self) -> bool:
        return True

    def _make_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        lr = self.config.learning_rate
        if self.config.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr)
        return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-5)

    def losses(self, buffer: RolloutBuffer) -> tuple[Tensor, Tensor, Tensor]:
        """Policy loss −E[log π(a|s) A], entropy E[H(π(·|s))] and value loss E[(V(s) − R)²], R = A + V."""
        b, c = buffer, self.config
        advantages, targets = gae(
            b.rewards, b.values, b.next_values, b.terminated, b.truncated, c.gamma, c.gae_lambda
        )
        if c.normalize_advantage:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        obs, actions, advantages, targets = to_tensors(buffer, advantages, targets)
        log_probs, entropy = self.policy.evaluate(obs, actions)
        policy_loss = -(log_probs * advantages).mean()
        value_loss = F.mse_loss(self.value(obs).squeeze(-1), targets)
        return policy_loss, entropy.mean(), value_loss

    def _update(self, buffer: RolloutBuffer) -> dict[str, float]:
        policy_loss, entropy, value_loss = self.losses(buffer)
        c = self.config
        # L = −E[log π · A] − c_ent H + c_v (V − R)²
        self._step(policy_loss - c.ent_coef * entropy + c.vf_coef * value_loss)
        losses = {"policy_loss": policy_loss, "entropy": entropy, "value_loss": value_loss}
        return {name: loss.item() for name, loss in losses.items()}
