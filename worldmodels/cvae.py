"""A stochastic forward model: a conditional VAE over the next state, with latent dropout and a KL budget.

A deterministic model trained with MSE on a multimodal future predicts the average of the futures, a
state that never happens. A latent variable z picks one future: s' = s + f(s, a, z) (Henaff, Canziani
& LeCun 2019, "Model-predictive policy learning with uncertainty regularization", PPUU, §3):

- training: z ~ q(z | s, a, s') = N(mu, diag sigma^2) from a posterior network that sees the answer;
  the loss is the squared error of the predicted (standardised) change plus beta KL(q || N(0, I));
- latent dropout: "half the time set z = 0" (PPUU §3), so the decoder must predict as much as it can
  from (s, a) alone, and the action keeps its effect on the prediction;
- KL budget: the KL above `kl_budget` nats is penalised `budget_weight` times harder, capping how much
  the latent may carry. An unbounded latent also encodes the effect of our own action (read from s')
  and the model becomes insensitive to the action it is given: the "action insensitivity" of PPUU.

As a Dynamics, `step` draws z from the prior N(0, I) (`z_mode="sample"`, one future per row) or sets
z = 0 (`z_mode="zero"`, the model's deterministic guess).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from core.checkpoint import load_model, save_model
from core.errors import UserError
from core.validation import check_positive_int, check_range
from perception.mlp import MLP, MLPConfig
from perception.vae import gaussian_kl
from worldmodels.transition_model import NormalisedTransitionModel

Z_MODES = ("sample", "zero")
KIND = "cvae dynamics"


@dataclass
class CVAEConfig:
    """Sizes and regularisation of a cVAE forward model (see the module docstring for each term)."""

    state_dim: int
    action_dim: int
    latent_dim: int = 2
    hidden: tuple[int, ...] = (128, 128)
    beta: float = 1.0
    kl_budget: float | None = 2.0
    budget_weight: float = 10.0
    z_dropout: float = 0.5
    activation: str = "relu"

    def __post_init__(self) -> None:
        check_positive_int(self.state_dim, "state_dim")
        check_positive_int(self.action_dim, "action_dim")
        check_positive_int(self.latent_dim, "latent_dim")
        self.hidden = tuple(self.hidden)
        check_range("beta", self.beta, 0.0, float("inf"))
        if self.kl_budget is not None:
            check_range("kl_budget", self.kl_budget, 0.0, float("inf"))
        check_range("budget_weight", self.budget_weight, 0.0, float("inf"))
        check_range("z_dropout", self.z_dropout, 0.0, 1.0)


class CVAEDynamics(NormalisedTransitionModel):
    """s' = s + f(s, a, z); implements Dynamics (`state_dim`, `action_dim`, `step`).

    Call `fit_normalisation` on the training transitions before training: inputs and the predicted
    change are standardised with their statistics (kept as buffers, so they are saved with the weights).
    """

    def __init__(self, cfg: CVAEConfig, z_mode: str = "sample", seed: int = 0) -> None:
        super().__init__(cfg.state_dim, cfg.action_dim)
        self.cfg = cfg
        s, a, z = cfg.state_dim, cfg.action_dim, cfg.latent_dim
        self.posterior = MLP(MLPConfig(2 * s + a, 2 * z, cfg.hidden, cfg.activation))
        self.decoder = MLP(MLPConfig(s + a + z, s, cfg.hidden, cfg.activation))
        self.z_mode = z_mode
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def z_mode(self) -> str:
        return self._z_mode

    @z_mode.setter
    def z_mode(self, mode: str) -> None:
        if mode not in Z_MODES:
            raise UserError(f"unknown z_mode {mode!r}; choose one of {', '.join(Z_MODES)}")
        self._z_mode = mode

    def predict(self, state: Tensor, action: Tensor, z: Tensor) -> Tensor:
        """The next state for a given latent `z [B, latent_dim]`."""
        delta = self.decoder(torch.cat([self.normalised_inputs(state, action), z.to(state)], dim=-1))
        return state + self.delta_norm.inverse(delta)

    def sample_latent(self, batch: int) -> Tensor:
        """`[batch, latent_dim]` draws from the prior N(0, I) (this model's generator), or zeros."""
        shape = (batch, self.cfg.latent_dim)
        if self.z_mode == "zero":
            return torch.zeros(shape)
        return torch.randn(shape, generator=self.generator)

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        return self.predict(state, action, self.sample_latent(state.shape[0]))

    def loss(self, state: Tensor, action: Tensor, next_state: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """recon + beta KL + budget_weight max(0, KL - kl_budget), the KL averaged over the batch."""
        cfg = self.cfg
        condition = self.normalised_inputs(state, action)
        target = self.delta_norm(next_state - state)
        mu, logvar = self.posterior(torch.cat([condition, target], dim=-1)).chunk(2, dim=-1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterisation
        keep = (torch.rand(len(z), 1) >= cfg.z_dropout).to(z)  # latent dropout: z = 0 for some rows
        prediction = self.decoder(torch.cat([condition, keep * z], dim=-1))
        recon = (prediction - target).pow(2).sum(-1).mean()
        kl = gaussian_kl(mu, logvar).mean()
        loss = recon + cfg.beta * kl
        if cfg.kl_budget is not None:
            loss = loss + cfg.budget_weight * F.relu(kl - cfg.kl_budget)
        return loss, {"recon": recon.detach(), "kl": kl.detach()}


def save_cvae(model: CVAEDynamics, path: str | Path) -> None:
    """Config and weights (normalisation included) in one checkpoint, written atomically."""
    save_model(path, KIND, asdict(model.cfg), model)


def load_cvae(path: str | Path, z_mode: str = "sample", seed: int = 0) -> CVAEDynamics:
    """The model `save_cvae` wrote, in eval mode."""
    model = load_model(path, KIND, lambda cfg: CVAEDynamics(CVAEConfig(**cfg), z_mode=z_mode, seed=seed))
    return model.eval()
