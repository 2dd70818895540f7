"""Callbacks for ``learn(callback=...)`` of DQN (and of any agent that keeps ``episode_returns``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.validation import check_positive_int


class StopOnTrainingReturn:
    """Stop learning once the last ``episodes`` training episodes average at least ``threshold``.

    It reads only the episodes the agent played while learning (ε-greedy, as they came), never runs an
    evaluation: a stopping rule that costs no env steps. On CartPole a DQN that has learned to balance
    can lose it again within a few thousand steps (its replay fills with balanced states and the Q-values
    of recoveries drift); stopping when the task is done keeps the policy that did it.
    """

    def __init__(self, threshold: float, episodes: int = 10) -> None:
        self.threshold = float(threshold)
        self.episodes = check_positive_int(episodes, "episodes")
        self._seen = 0

    def __call__(self, agent: Any) -> bool:
        """False (stop) when the condition holds; checked only when an episode has ended."""
        returns = agent.episode_returns
        if len(returns) == self._seen or len(returns) < self.episodes:
            return True
        self._seen = len(returns)
        return bool(np.mean(returns[-self.episodes :]) < self.threshold)
