"""A forward model that knows where it has not been: MC dropout (Gal & Ghahramani 2016) on an MLP.

One network with dropout after every hidden layer, trained with MSE on the standardised change
s' - s. At prediction time dropout stays on: `samples` passes with independent masks are draws from an
approximate posterior over networks, and the variance of their predictions is the model's epistemic
uncertainty, large off the data it was trained on. PPUU (Henaff et al. 2019, §4) adds that variance to
a policy's cost so the policy keeps to states the model knows ("uncertainty regularisation").

As a Dynamics, `step` is the usual deterministic prediction (dropout off, the weights scaled as
dropout trains them); `predict_samples` and `variance` are differentiable, so a policy or a planner can
backprop through the uncertainty term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from core.errors import UserError
from core.validation import check_positive_int, check_range
from perception.activation import check_activation, make_activation
from worldmodels.transition_model import NormalisedTransitionModel


@dataclass
class MCDropoutConfig:
    """An MLP `(s, a) -> s' - s` with dropout probability `dropout` after each hidden layer; `samples` is
    the default number of stochastic passes behind a variance."""

    state_dim: int
    action_dim: int
    hidden: tuple[int, ...] = (128, 128)
    dropout: float = 0.1
    samples: int = 20
    activation: str = "relu"

    def __post_init__(self) -> None:
        check_positive_int(self.state_dim, "state_dim")
        check_positive_int(self.action_dim, "action_dim")
        self.hidden = tuple(check_positive_int(width, "hidden width") for width in self.hidden)
        if not self.hidden:
            raise UserError("MC dropout needs at least one hidden layer to drop units from")
        check_range("dropout", self.dropout, 0.0, 1.0, low_open=True)
        if self.dropout >= 1.0:
            raise UserError(f"dropout must be below 1, got {self.dropout}")
        check_positive_int(self.samples, "samples")
        check_activation(self.activation)


class MCDropoutDynamics(NormalisedTransitionModel):
    """s' = s + f(s, a) with dropout; implements Dynamics. Call `fit_normalisation` before training."""

    def __init__(self, cfg: MCDropoutConfig) -> None:
        super().__init__(cfg.state_dim, cfg.action_dim)
        self.cfg = cfg
        widths = (cfg.state_dim + cfg.action_dim, *cfg.hidden)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.activation = make_activation(cfg.activation)
        self.out = nn.Linear(widths[-1], cfg.state_dim)

    def delta(self, state: Tensor, action: Tensor, dropout: bool) -> Tensor:
        """The standardised change; with `dropout` each call draws fresh masks (torch's global RNG)."""
        x = self.normalised_inputs(state, action)
        for layer in self.hidden:
            x = F.dropout(self.activation(layer(x)), self.cfg.dropout, training=dropout)
        return self.out(x)

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        return state + self.delta_norm.inverse(self.delta(state, action, dropout=False))

    def predict_samples(self, state: Tensor, action: Tensor, samples: int | None = None) -> Tensor:
        """`[samples, B, S]` next states, one per dropout mask (the masks differ across rows too)."""
        n = check_positive_int(samples or self.cfg.samples, "samples")
        b = state.shape[0]
        # One batched pass over n copies: the masks are drawn independently for every copy.
        deltas = self.delta(state.repeat(n, 1), action.repeat(n, 1), dropout=True)
        return state + self.delta_norm.inverse(deltas).reshape(n, b, -1)

    def variance(self, state: Tensor, action: Tensor, samples: int | None = None) -> Tensor:
        """`[B]` the predictive variance of the standardised change, averaged over state dims."""
        n = check_positive_int(samples or self.cfg.samples, "samples")
        b = state.shape[0]
        deltas = self.delta(state.repeat(n, 1), action.repeat(n, 1), dropout=True).reshape(n, b, -1)
        return deltas.var(0).mean(-1)

    def step_with_uncertainty(
        self, state: Tensor, action: Tensor, samples: int | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(next [B, S], uncertainty [B])`` from one batch of dropout passes: their mean next state and
        the variance of their standardised changes (as :meth:`variance`), both differentiable."""
        n = check_positive_int(samples or self.cfg.samples, "samples")
        b = state.shape[0]
        deltas = self.delta(state.repeat(n, 1), action.repeat(n, 1), dropout=True).reshape(n, b, -1)
        return state + self.delta_norm.inverse(deltas.mean(0)), deltas.var(0, correction=0).mean(-1)

    def loss(self, state: Tensor, action: Tensor, next_state: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """MSE of the standardised change, dropout on (what MC dropout's approximate posterior trains)."""
        target = self.delta_norm(next_state - state)
        mse = (self.delta(state, action, dropout=self.training) - target).pow(2).mean()
        return mse, {}
