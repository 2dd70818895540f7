"""A probabilistic ensemble of dynamics models (PETS, Chua et al. 2018): E networks, each a Gaussian over
the change s' − s, trained on its own bootstrap of the transitions.

Each member maps the standardised (s, a) to a mean and a log-variance of the standardised change; the
log-variance is soft-bounded between learned limits (PETS, appendix A.1) so it neither explodes nor
collapses off the data. Training minimises the Gaussian negative log-likelihood
  (μ − y)² e^{−log σ²} + log σ²   (+ 0.01 (Σ max_logvar − Σ min_logvar)),
and the spread between members is the model's epistemic uncertainty. The E members are one batched
network (weights ``[E, in, out]``, one ``baddbmm`` per layer), so they cost one forward pass.

As a :class:`Dynamics`, ``step(state [B, S], action [B, A])`` sends row b to member b mod E (PETS's
"TS-∞" propagation: a candidate plan keeps its member for the whole horizon) and returns the member's
mean, or a draw from its Gaussian with ``sample=True``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.checkpoint import load_model, save_model
from core.errors import UserError
from core.validation import check_positive_int
from worldmodels.batches import Standardiser

KIND = "probabilistic ensemble"


@dataclass
class EnsembleConfig:
    """Sizes and training settings of a :class:`ProbabilisticEnsemble`."""

    state_dim: int
    action_dim: int
    members: int = 5
    hidden: tuple[int, ...] = (200, 200, 200)
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 256

    def __post_init__(self) -> None:
        for name in ("state_dim", "action_dim", "members", "batch_size"):
            check_positive_int(getattr(self, name), name)
        self.hidden = tuple(check_positive_int(width, "hidden width") for width in self.hidden)


class EnsembleLinear(nn.Module):
    """``[E, N, in] -> [E, N, out]``: E independent linear maps applied at once."""

    def __init__(self, members: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        bound = 1 / in_dim**0.5  # nn.Linear's default init, per member
        self.weight = nn.Parameter(torch.empty(members, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(members, 1, out_dim).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class ProbabilisticEnsemble(nn.Module):
    """E Gaussian models of the change s' − s; a :class:`Dynamics` (see the module docstring)."""

    def __init__(self, cfg: EnsembleConfig, sample: bool = False, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.state_dim, self.action_dim = cfg.state_dim, cfg.action_dim
        self.sample = sample
        self.generator = torch.Generator().manual_seed(seed)
        widths = (cfg.state_dim + cfg.action_dim, *cfg.hidden)
        pairs = zip(widths[:-1], widths[1:], strict=True)
        self.layers = nn.ModuleList(EnsembleLinear(cfg.members, i, o) for i, o in pairs)
        self.head = EnsembleLinear(cfg.members, widths[-1], 2 * cfg.state_dim)
        self.max_logvar = nn.Parameter(torch.full((cfg.state_dim,), 0.5))
        self.min_logvar = nn.Parameter(torch.full((cfg.state_dim,), -10.0))
        self.inputs = Standardiser(cfg.state_dim + cfg.action_dim)
        self.changes = Standardiser(cfg.state_dim)
        self.eval()  # planning mode; fit() trains

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Standardised ``[E, N, S+A]`` -> mean and log-variance ``[E, N, S]`` of the standardised change."""
        for layer in self.layers:
            x = F.silu(layer(x))
        mean, logvar = self.head(x).chunk(2, dim=-1)
        if not self.training and not self.sample:
            return mean, logvar  # planning with the means: the log-variance is not needed, skip its bounds
        # Soft bounds (PETS A.1): smooth clamps between the learned limits.
        logvar = self.max_logvar - F.softplus(self.max_logvar - logvar)
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)
        return mean, logvar

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        """Gaussian NLL of standardised changes ``y [E, N, S]`` given inputs ``x [E, N, S+A]``."""
        mean, logvar = self(x)
        nll = ((mean - y).pow(2) * torch.exp(-logvar) + logvar).mean()
        return nll + 0.01 * (self.max_logvar.sum() - self.min_logvar.sum())

    def fit(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        next_states: np.ndarray,
        epochs: int = 5,
        seed: int = 0,
    ) -> list[float]:
        """Train on transitions ``[N, S], [N, A], [N, S]`` (each member on its own bootstrap); refits the
        standardisation to these data first. Returns the mean loss of each epoch."""
        states, actions, next_states = (
            np.asarray(a, dtype=np.float32) for a in (states, actions, next_states)
        )
        if not len(states) == len(actions) == len(next_states) or len(states) == 0:
            raise UserError(
                f"fit needs equal, non-zero numbers of transitions; got {len(states)}, {len(actions)}"
            )
        inputs = np.concatenate((states, actions), axis=-1)
        self.inputs.fit(inputs)
        self.changes.fit(next_states - states)
        x = self.inputs(torch.from_numpy(inputs))
        y = self.changes(torch.from_numpy(next_states - states))
        rng = np.random.default_rng(seed)
        n, members, batch = len(x), self.cfg.members, self.cfg.batch_size
        boot = rng.integers(0, n, size=(members, n))  # each member's bootstrap of the data
        optimizer = self._optimizer()
        self.train()
        losses = []
        for _ in range(epochs):
            order = boot[
                np.arange(members)[:, None], rng.permuted(np.tile(np.arange(n), (members, 1)), axis=1)
            ]
            total = 0.0
            for start in range(0, n, batch):
                idx = torch.from_numpy(order[:, start : start + batch])
                loss = self.loss(x[idx], y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * idx.shape[1]
            losses.append(total / n)
        self.eval()
        return losses

    def _optimizer(self) -> torch.optim.Optimizer:
        if not hasattr(self, "_adam"):
            self._adam = torch.optim.AdamW(
                self.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay
            )
        return self._adam

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        """``[B, S], [B, A] -> [B, S]``: row b predicted by member b mod E (the mean, or a draw)."""
        members = self.cfg.members
        batch = state.shape[0]
        pad = (-batch) % members
        x = torch.cat((state, action), dim=-1).float()
        if pad:
            x = torch.cat((x, x[-1:].expand(pad, -1)), dim=0)
        x = self.inputs(x).reshape(-1, members, x.shape[-1]).transpose(0, 1)  # [E, B/E, S+A]
        mean, logvar = self(x)
        if self.sample:
            noise = torch.randn(mean.shape, generator=self.generator)
            mean = mean + noise * torch.exp(0.5 * logvar)
        change = self.changes.inverse(mean.transpose(0, 1).reshape(-1, self.state_dim))[:batch]
        return state + change.to(state)

    def step_with_uncertainty(self, state: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        """Every member on every row: ``(next [B, S], uncertainty [B])``, both differentiable.

        The next state is the members' mean; the uncertainty is their disagreement, the variance across
        members of the standardised change averaged over state dims (small where the data taught them
        alike, large off it). PPUU's regulariser (Henaff et al. 2019) adds it to a policy's cost.
        """
        x = self.inputs(torch.cat((state, action), dim=-1).float())
        mean, _ = self(x.expand(self.cfg.members, -1, -1))  # [E, B, S] standardised changes
        change = self.changes.inverse(mean.mean(0))
        return state + change.to(state), mean.var(0, correction=0).mean(-1).to(state)

    def config_dict(self) -> dict:
        return asdict(self.cfg)


def save_ensemble(model: ProbabilisticEnsemble, path: str | Path) -> None:
    """Config and weights (standardisation included) of an ensemble, written atomically."""
    save_model(path, KIND, model.config_dict(), model)


def load_ensemble(path: str | Path) -> ProbabilisticEnsemble:
    """The ensemble ``save_ensemble`` wrote (planning mode: members' means)."""
    return load_model(path, KIND, lambda config: ProbabilisticEnsemble(EnsembleConfig(**config)))
