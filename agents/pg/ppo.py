"""Proximal policy optimisation with the clipped surrogate objective (Schulman et al. 2017).

The learning rule is :meth:`PPO.losses` (equations 7 and 9 of the paper) and :meth:`PPO._update` (epochs of
minibatches over one rollout, stopped early when the policy moves too far); the rest is the shared
on-policy machinery (:mod:`agents.pg.on_policy`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from agents.pg.on_policy import OnPolicyAgent, OnPolicyConfig, to_tensors
from agents.pg.rollout import RolloutBuffer, gae
from core.errors import UserError
from core.validation import check_bool, check_positive_int, check_range


@dataclass
class PPOConfig(OnPolicyConfig):
    """Hyperparameters of :class:`PPO`; the defaults are SB3's (and the paper's MuJoCo settings)."""

    learning_rate: float = 3e-4
    n_steps: int = 2048
    n_envs: int = 1
    batch_size: int = 64
    """Minibatch size; each epoch visits the rollout's ``n_steps × n_envs`` samples once, shuffled."""
    n_epochs: int = 10
    """Passes over each rollout."""
    gae_lambda: float = 0.95
    """λ of GAE."""
    clip_range: float = 0.2
    """ε: the probability ratio π/π_old is clipped to [1 − ε, 1 + ε] in the surrogate."""
    clip_range_vf: float | None = None
    """If set, V(s) moves at most this far from its rollout-time value (PPO2's value clipping)."""
    normalize_advantage: bool = True
    """Standardise the advantages within each minibatch."""
    ent_coef: float = 0.0
    """c_ent: weight of the entropy bonus."""
    vf_coef: float = 0.5
    """c_v: weight of the value loss."""
    target_kl: float | None = None
    """If set, an epoch loop stops once the approximate KL(π_old ‖ π) of a minibatch exceeds 1.5 × this."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.n_epochs, "n_epochs")
        check_range("gae_lambda", self.gae_lambda, 0.0, 1.0)
        check_range("clip_range", self.clip_range, 0.0, float("inf"), low_open=True)
        if self.clip_range_vf is not None:
            check_range("clip_range_vf", self.clip_range_vf, 0.0, float("inf"), low_open=True)
        if self.target_kl is not None:
            check_range("target_kl", self.target_kl, 0.0, float("inf"), low_open=True)
        check_range("ent_coef", self.ent_coef, 0.0, float("inf"))
        check_range("vf_coef", self.vf_coef, 0.0, float("inf"))
        check_bool(self.normalize_advantage, "normalize_advantage")
        if self.batch_size > self.n_steps * self.n_envs:
            raise UserError(
                f"batch_size {self.batch_size} exceeds the rollout's n_steps × n_envs = "
                f"{self.n_steps * self.n_envs} samples"
            )


class PPO(OnPolicyAgent):
    """``PPO("CartPole-v1").learn(100_000)``: several epochs of clipped policy steps per rollout."""

    kind = "ppo"
    config_class = PPOConfig
    config: PPOConfig

    def _uses_critic(self) -> bool:
        return True

    def _make_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=self.config.learning_rate, eps=1e-5)

    def losses(
        self,
        obs: Tensor,
        actions: Tensor,
        old_log_probs: Tensor,
        old_values: Tensor,
        advantages: Tensor,
        targets: Tensor,
    ) -> dict[str, Tensor]:
        """The three loss terms on one minibatch, and the diagnostics (approximate KL, clip fraction)."""
        c = self.config
        clip = c.clip_range * self._schedule()
        if c.normalize_advantage and len(advantages) > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        log_probs, entropy = self.policy.evaluate(obs, actions)
        # L^CLIP = E[min(ρ A, clip(ρ, 1 − ε, 1 + ε) A)], ρ = π(a|s) / π_old(a|s)   (paper, eq. 7)
        log_ratio = log_probs - old_log_probs
        ratio = log_ratio.exp()
        surrogate = torch.min(ratio * advantages, ratio.clamp(1.0 - clip, 1.0 + clip) * advantages)
        values = self.value(obs).squeeze(-1)
        if c.clip_range_vf is not None:
            # V moves at most ε_v from V_old; the larger of the clipped and unclipped errors is taken
            clip_vf = c.clip_range_vf * self._schedule()
            clipped = old_values + (values - old_values).clamp(-clip_vf, clip_vf)
            value_loss = torch.max((values - targets) ** 2, (clipped - targets) ** 2).mean()
        else:
            value_loss = ((values - targets) ** 2).mean()
        with torch.no_grad():
            # KL(π_old ‖ π) ≈ E[(ρ − 1) − log ρ], unbiased and non-negative (Schulman's "k3" estimator)
            approx_kl = ((ratio - 1.0) - log_ratio).mean()
            clip_fraction = ((ratio - 1.0).abs() > clip).float().mean()
        return {
            "policy_loss": -surrogate.mean(),
            "entropy": entropy.mean(),
            "value_loss": value_loss,
            "approx_kl": approx_kl,
            "clip_fraction": clip_fraction,
        }

    def _schedule(self) -> float:
        """1, or the fraction of learn() left on the linear schedule (it scales the clip ranges)."""
        return self.progress_remaining if self.config.linear_schedule else 1.0

    def _update(self, buffer: RolloutBuffer) -> dict[str, float]:
        b, c = buffer, self.config
        advantages, targets = gae(
            b.rewards, b.values, b.next_values, b.terminated, b.truncated, c.gamma, c.gae_lambda
        )
        data = to_tensors(buffer, b.log_probs, b.values, advantages, targets)
        n = len(data[0])
        totals: dict[str, float] = {}
        n_minibatches = 0
        stop = False
        for _ in range(c.n_epochs):
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, n, c.batch_size):
                index = order[start : start + c.batch_size]
                terms = self.losses(*(tensor[index] for tensor in data))
                if c.target_kl is not None and terms["approx_kl"].item() > 1.5 * c.target_kl:
                    stop = True  # the policy has left the trust region: no more steps on this rollout
                    break
                # L = −L^CLIP − c_ent H + c_v L^VF   (paper, eq. 9, as a loss to minimise)
                self._step(
                    terms["policy_loss"] - c.ent_coef * terms["entropy"] + c.vf_coef * terms["value_loss"]
                )
                for name, value in terms.items():
                    totals[name] = totals.get(name, 0.0) + value.item()
                n_minibatches += 1
            if stop:
                break
        means = {name: total / max(n_minibatches, 1) for name, total in totals.items()}
        return {**means, "explained_variance": explained_variance(b.values, targets)}


def explained_variance(predictions: np.ndarray, targets: np.ndarray) -> float:
    """1 − Var[y − ŷ] / Var[y]: 1 for a perfect critic, 0 for a constant one (nan if y is constant)."""
    spread = np.var(targets)
    return float(1.0 - np.var(targets - predictions) / spread) if spread > 0 else float("nan")
