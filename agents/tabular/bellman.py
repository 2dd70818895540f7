"""Bellman backups on a sparse TabularMDP, vectorised over all states and actions at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csgraph, csr_array

from core.errors import UserError
from envs.mdp import TabularMDP


def check_gamma(gamma: float) -> float:
    """``gamma`` as a float in (0, 1], or a UserError naming the bad value."""
    gamma = float(gamma)
    if not 0.0 < gamma <= 1.0:
        raise UserError(f"gamma must be in (0, 1], got {gamma}")
    return gamma


def q_backup(mdp: TabularMDP, values: np.ndarray, gamma: float) -> np.ndarray:
    """One Bellman backup: ``Q(s,a) = R(s,a) + γ Σ_s' p(s'|s,a) V(s')``, shape ``[S, A]``.

    The sparse product does every (s, a) row at once; terminal rows are empty, so ``Q = R`` there.
    """
    return mdp.rewards + gamma * (mdp.transitions @ values).reshape(mdp.rewards.shape)


def bellman_residual(mdp: TabularMDP, values: np.ndarray, gamma: float) -> float:
    """``max_s |max_a Q(s,a) − V(s)|``: zero exactly at the optimal values.

    A residual ε bounds the error of the values: ``‖V − V*‖∞ ≤ ε / (1 − γ)``.
    """
    return float(np.abs(q_backup(mdp, values, gamma).max(axis=1) - values).max())


def greedy(q_values: np.ndarray) -> np.ndarray:
    """The greedy policy of a Q table (lowest action index on ties), int64 ``[S]``."""
    return q_values.argmax(axis=1)


def pessimistic_values(mdp: TabularMDP, gamma: float) -> np.ndarray:
    """A lower bound on ``V*`` to start value iteration from: the worst reward forever.

    From below, the values rise monotonically and the far field is already right, so Gauss–Seidel sweeps
    carry the terminal rewards across the whole state space in one pass.
    """
    worst = float(mdp.rewards.min())
    if gamma < 1.0:
        values = np.full(mdp.n_states, min(worst, worst / (1.0 - gamma)))
    else:  # undiscounted: no finite bound in general, so start from zero
        values = np.zeros(mdp.n_states)
    values[mdp.terminal] = mdp.rewards[mdp.terminal].max(axis=1)
    return values


@dataclass(frozen=True)
class SweepOrder:
    """States grouped by their distance (in steps) to the nearest terminal state.

    A Gauss–Seidel sweep updates the groups in this order, each group as one vectorised backup that
    already sees the new values of the groups nearer the terminals. States of one group never feed each
    other along a shortest path, so nothing is lost by updating a group at once; merging groups would
    be (the information would then move one group per sweep again).
    """

    states: tuple[np.ndarray, ...]  # state indices of each group
    transitions: tuple[csr_array, ...]  # the [len(group) * A, S] rows of P for each group
    rewards: tuple[np.ndarray, ...]  # the [len(group), A] rows of R for each group

    @classmethod
    def from_terminals(cls, mdp: TabularMDP) -> SweepOrder:
        """Breadth-first distances from the terminals over reversed transitions; no terminals → one group."""
        S, A = mdp.n_states, mdp.n_actions
        P = mdp.transitions
        if not mdp.terminal.any():
            return cls((np.arange(S),), (P,), (mdp.rewards,))
        # Edge s' -> s for every stored p(s'|s,a) > 0: a search from the terminals along these edges
        # finds how many steps each state needs, at best, to reach one.
        sources = np.repeat(np.arange(S * A) // A, np.diff(P.indptr))
        reverse = csr_array((np.ones(P.nnz), (P.indices, sources)), shape=(S, S))
        distance = csgraph.dijkstra(
            reverse, directed=True, indices=np.flatnonzero(mdp.terminal), unweighted=True, min_only=True
        )
        distance[~np.isfinite(distance)] = -1  # cannot reach a terminal: one last group
        distance[distance < 0] = distance.max() + 1
        order = np.argsort(distance, kind="stable")
        starts = np.flatnonzero(np.diff(distance[order])) + 1
        groups = np.split(order, starts)
        actions = np.arange(A)
        return cls(
            tuple(groups),
            tuple(P[(g[:, None] * A + actions).ravel()] for g in groups),
            tuple(mdp.rewards[g] for g in groups),
        )

    def sweep(self, values: np.ndarray, gamma: float, policy: np.ndarray | None = None) -> float:
        """One in-place Gauss–Seidel sweep; returns the largest change of any value.

        With ``policy`` None it is the optimality backup ``V(s) ← max_a Q(s,a)``; with a policy it is the
        evaluation backup ``V(s) ← Q(s, π(s))``.
        """
        change = 0.0
        for states, P, R in zip(self.states, self.transitions, self.rewards, strict=True):
            q = R + gamma * (P @ values).reshape(R.shape)
            new = q.max(axis=1) if policy is None else q[np.arange(len(states)), policy[states]]
            change = max(change, float(np.abs(new - values[states]).max()))
            values[states] = new
        return change
