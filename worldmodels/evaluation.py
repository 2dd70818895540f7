"""How far a learned model drifts: open-loop rollout error against the true trajectory, step by step.

A one-step error says little about planning: a plan unrolls the model on its own predictions for the
whole horizon, and small errors compound. Here the model gets the true start and the true actions
only, and its predicted states are compared with the true ones after 1, 2, ..., T steps (the true ones
come from recorded env trajectories, or from a known Dynamics such as the truck's kinematics).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from core.errors import UserError
from planners.rollout import Dynamics, rollout


def open_loop_errors(
    model: Dynamics,
    states: np.ndarray | Tensor,
    actions: np.ndarray | Tensor,
    dims: Sequence[int] | None = None,
) -> np.ndarray:
    """`[T]`: the mean over trajectories of ||s_hat[t] - s[t]|| (Euclidean, over `dims`, default all) for
    t = 1..T, where s_hat is `model` unrolled from `states[:, 0]` under `actions`.

    `states [N, T+1, S]` and `actions [N, T, A]` are true trajectories (e.g. from an env).
    """
    states = torch.as_tensor(np.asarray(states) if not isinstance(states, Tensor) else states).float()
    actions = torch.as_tensor(np.asarray(actions) if not isinstance(actions, Tensor) else actions).float()
    if (
        states.dim() != 3
        or actions.dim() != 3
        or states.shape[:2] != (actions.shape[0], actions.shape[1] + 1)
    ):
        raise UserError(
            f"need states [N, T+1, S] and actions [N, T, A]; got {tuple(states.shape)} and "
            f"{tuple(actions.shape)}"
        )
    index = list(range(states.shape[-1])) if dims is None else list(dims)
    with torch.no_grad():
        predicted = rollout(model, states[:, 0], actions)
    error = (predicted[:, 1:, index] - states[:, 1:, index]).norm(dim=-1)
    return error.mean(0).numpy()


def errors_against(
    model: Dynamics,
    truth: Dynamics,
    start: np.ndarray | Tensor,
    actions: np.ndarray | Tensor,
    dims: Sequence[int] | None = None,
) -> np.ndarray:
    """`[T]` open-loop errors of `model` against a known `truth` dynamics, both unrolled from `start [N, S]`
    under `actions [N, T, A]`."""
    start = torch.as_tensor(np.asarray(start) if not isinstance(start, Tensor) else start)
    actions = torch.as_tensor(np.asarray(actions) if not isinstance(actions, Tensor) else actions)
    with torch.no_grad():
        true_states = rollout(truth, start.to(torch.float64), actions.to(torch.float64))
    return open_loop_errors(model, true_states.float(), actions.float(), dims)
