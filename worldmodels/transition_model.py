"""The base of the world models that predict a standardised state change from a standardised
(state, action): the three standardisers, fitted on the training transitions and saved with the weights
(module buffers), and the one check of the inputs' shapes."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import UserError
from worldmodels.batches import Standardiser


class NormalisedTransitionModel(nn.Module):
    """s' = s + σ_Δ · f(standardised s, a) + μ_Δ; subclasses give f. Call :meth:`fit_normalisation` on
    the training transitions before training."""

    def __init__(self, state_dim: int, action_dim: int) -> None:
        super().__init__()
        self.state_dim, self.action_dim = state_dim, action_dim
        self.state_norm = Standardiser(state_dim)
        self.action_norm = Standardiser(action_dim)
        self.delta_norm = Standardiser(state_dim)

    def fit_normalisation(self, states: np.ndarray, actions: np.ndarray, next_states: np.ndarray) -> None:
        self.state_norm.fit(states)
        self.action_norm.fit(actions)
        self.delta_norm.fit(np.asarray(next_states) - np.asarray(states))

    def normalised_inputs(self, state: Tensor, action: Tensor) -> Tensor:
        """``[B, S + A]`` the standardised state and action side by side (a UserError on wrong shapes)."""
        if state.shape[-1] != self.state_dim or action.shape[-1] != self.action_dim:
            raise UserError(
                f"expected states [B, {self.state_dim}] and actions [B, {self.action_dim}], got "
                f"{tuple(state.shape)} and {tuple(action.shape)}"
            )
        return torch.cat([self.state_norm(state), self.action_norm(action)], dim=-1)

    def loss(self, state: Tensor, action: Tensor, next_state: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The training loss of one batch of transitions and the figures to log."""
        raise NotImplementedError


def transition_loss(
    model: NormalisedTransitionModel, batch: tuple[Tensor, Tensor, Tensor]
) -> tuple[Tensor, dict[str, Tensor]]:
    """The trainer's ``loss_fn`` for batches of (state, action, next_state)."""
    state, action, next_state = (x.float() for x in batch)
    return model.loss(state, action, next_state)
