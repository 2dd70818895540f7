"""Stochastic policies and a state-value function on ``perception.MLP``, chosen by the env's action space.

A policy maps a batch of observations to a distribution over actions. ``act`` samples (or takes the mode)
and returns the actions with their log-probabilities; ``evaluate`` gives the log-probabilities and the
entropy of given actions, with gradients, for the loss.
"""

from __future__ import annotations

import math

import gymnasium as gym
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Categorical, Normal

from core.errors import UserError
from perception import MLP, MLPConfig


class CategoricalPolicy(nn.Module):
    """π(a|s) = softmax(logits(s))_a over ``Discrete(n)`` actions."""

    def __init__(self, obs_dim: int, n_actions: int, net_arch: tuple[int, ...], activation: str) -> None:
        super().__init__()
        # Small final gain: the initial policy is near uniform (Andrychowicz et al. 2021, "What matters").
        self.logits = MLP(
            MLPConfig(obs_dim, n_actions, hidden=net_arch, activation=activation, out_gain=0.01)
        )

    def distribution(self, obs: Tensor) -> Categorical:
        return Categorical(logits=self.logits(obs))

    def act(
        self, obs: Tensor, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Actions ``[B]`` (the mode if deterministic) and their log π(a|s) ``[B]``."""
        dist = self.distribution(obs)
        if deterministic:
            actions = dist.probs.argmax(dim=-1)
        else:
            actions = torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1)
        return actions, dist.log_prob(actions)

    def evaluate(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        """log π(a|s) and the entropy H(π(·|s)), both ``[B]``."""
        dist = self.distribution(obs)
        return dist.log_prob(actions.long()), dist.entropy()

    def env_action(self, actions: Tensor) -> Tensor:
        return actions


class GaussianPolicy(nn.Module):
    """A diagonal Gaussian u ~ N(μ(s), diag σ²), σ = exp(log_std) a learned, state-independent parameter.

    With ``squash`` the env gets a = low + (tanh(u) + 1)(high − low)/2, inside the Box, and log-probs are
    those of tanh(u) (Haarnoja et al. 2018, appendix C): log π(a) = log N(u) − Σ log(1 − tanh²(u)); the
    affine rescale only adds a constant. Without it the env gets u clipped to the Box (as SB3 does), and
    log-probs are those of u. Actions as stored and evaluated are u, so no atanh is ever needed.
    """

    def __init__(
        self,
        obs_dim: int,
        space: gym.spaces.Box,
        net_arch: tuple[int, ...],
        activation: str,
        squash: bool,
        log_std_init: float,
    ) -> None:
        super().__init__()
        action_dim = int(space.shape[0])
        self.mean = MLP(MLPConfig(obs_dim, action_dim, hidden=net_arch, activation=activation, out_gain=0.01))
        self.log_std = nn.Parameter(torch.full((action_dim,), float(log_std_init)))
        self.squash = squash
        self.register_buffer("low", torch.as_tensor(space.low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(space.high, dtype=torch.float32))

    def distribution(self, obs: Tensor) -> Normal:
        """The distribution of u (before any squashing)."""
        mean = self.mean(obs)
        return Normal(mean, self.log_std.exp().expand_as(mean))

    def act(
        self, obs: Tensor, deterministic: bool = False, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Pre-squash actions u ``[B, A]`` (μ if deterministic) and their log π ``[B]``."""
        dist = self.distribution(obs)
        u = dist.mean
        if not deterministic:
            u = u + dist.stddev * torch.randn(u.shape, generator=generator)
        return u, self._log_prob(dist, u)

    def evaluate(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        """log π(a|s) and the entropy of the Gaussian (the squashed one has no closed form), both ``[B]``."""
        dist = self.distribution(obs)
        return self._log_prob(dist, actions), dist.entropy().sum(-1)

    def _log_prob(self, dist: Normal, u: Tensor) -> Tensor:
        log_prob = dist.log_prob(u).sum(-1)
        if self.squash:
            # log(1 − tanh²(u)) = 2 (log 2 − u − softplus(−2u)), stable for large |u|
            log_prob = log_prob - (2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))).sum(-1)
        return log_prob

    def env_action(self, actions: Tensor) -> Tensor:
        """u mapped into the Box: squashed and rescaled, or clipped."""
        if self.squash:
            return self.low + (torch.tanh(actions) + 1.0) * (self.high - self.low) / 2.0
        return torch.maximum(torch.minimum(actions, self.high), self.low)


Policy = CategoricalPolicy | GaussianPolicy


def make_policy(
    obs_space: gym.Space,
    action_space: gym.Space,
    net_arch: tuple[int, ...],
    activation: str,
    squash: bool = True,
    log_std_init: float = 0.0,
) -> Policy:
    """A Categorical policy for ``Discrete`` actions, a Gaussian one for a 1-D ``Box``; else a UserError."""
    obs_dim = flat_obs_dim(obs_space)
    if isinstance(action_space, gym.spaces.Discrete):
        return CategoricalPolicy(obs_dim, int(action_space.n), net_arch, activation)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        if squash and not (action_space.is_bounded("both")):
            raise UserError(f"squash needs a bounded Box action space, got {action_space}; set squash=false")
        return GaussianPolicy(obs_dim, action_space, net_arch, activation, squash, log_std_init)
    raise UserError(f"policy gradients need a Discrete or a 1-D Box action space, got {action_space}")


def make_value_function(obs_space: gym.Space, net_arch: tuple[int, ...], activation: str) -> MLP:
    """V(s): an MLP from the observation to one number (squeeze its last axis to get ``[B]``)."""
    return MLP(MLPConfig(flat_obs_dim(obs_space), 1, hidden=net_arch, activation=activation, out_gain=1.0))


def flat_obs_dim(obs_space: gym.Space) -> int:
    """The width of a 1-D ``Box`` observation; anything else is a UserError naming the space."""
    if not (isinstance(obs_space, gym.spaces.Box) and len(obs_space.shape) == 1):
        raise UserError(f"policy gradients need a 1-D Box observation space, got {obs_space}")
    return int(obs_space.shape[0])
