"""The tabular MDP contract shared by tabular envs and the exact planners."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class TabularMDP:
    """A finite MDP with sparse transitions.

    ``transitions`` is a CSR matrix of shape ``[S*A, S]``: row ``s*A + a`` holds ``p(s'|s,a)`` over its
    successors (column indices) and probabilities (data). Rows of terminal states are empty: leaving a
    terminal state collects ``rewards[s, a]`` and ends the episode, so ``V(terminal) = R(terminal)``.
    ``rewards[s, a]`` is the expected immediate reward of taking ``a`` in ``s``.
    """

    transitions: sp.csr_array
    rewards: np.ndarray
    terminal: np.ndarray
    action_names: tuple[str, ...] = ()

    @property
    def n_states(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.rewards.shape[1])

    def __post_init__(self) -> None:
        S, A = self.rewards.shape
        if self.transitions.shape != (S * A, S):
            raise ValueError(f"transitions must have shape {(S * A, S)}, got {self.transitions.shape}")
        if self.terminal.shape != (S,):
            raise ValueError(f"terminal mask must have shape {(S,)}, got {self.terminal.shape}")
        row_sums = np.asarray(self.transitions.sum(axis=1)).reshape(S, A)
        expected = np.where(self.terminal[:, None], 0.0, 1.0)
        if not np.allclose(row_sums, expected, atol=1e-9):
            raise ValueError("each non-terminal (s, a) row must sum to 1 and each terminal row to 0")
