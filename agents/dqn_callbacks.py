"""Callbacks for ``learn(callback=...)`` of DQN: stopping rules on the training returns (any agent that keeps
``episode_returns``) or on greedy validation episodes."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from core.env_source import EnvSource
from core.evaluation import evaluate_policy
from core.validation import check_positive_int, check_seed


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


class StopOnEvalReturn:
    """Every ``every`` env steps, score the greedy policy on ``episodes`` validation episodes; stop once
    their mean return reaches ``threshold``, and keep the best-scoring Q-network for ``restore_best``.

    Training returns can mislead where exploration helps the policy: on LunarLander an ε-greedy agent
    that lands can, acting greedily, hover until the time limit. This rule judges the greedy policy
    itself, on episodes it does not learn from (they are not counted in ``num_timesteps``;
    ``eval_steps`` counts them). Check k plays episodes seeded ``seed + k·episodes``, ``seed + k·episodes
    + 1``, …: fresh ones each time, and a final evaluation must use other seeds, so that the figure
    reported is not the one the rule selected on.
    """

    def __init__(
        self, env: EnvSource, threshold: float, every: int, episodes: int = 20, seed: int = 0
    ) -> None:
        self.env = env
        self.threshold = float(threshold)
        self.every = check_positive_int(every, "every")
        self.episodes = check_positive_int(episodes, "episodes")
        self.seed = check_seed(seed)
        self.history: list[tuple[int, float]] = []  # (num_timesteps, mean greedy return) per check
        self.best_return = -float("inf")
        self.eval_steps = 0
        self._best_state: dict[str, torch.Tensor] | None = None
        self._next = self.every

    def __call__(self, agent: Any) -> bool:
        """False (stop) once a check's mean return reaches the threshold; True between checks."""
        if agent.num_timesteps < self._next:
            return True
        self._next = (agent.num_timesteps // self.every + 1) * self.every
        seed = self.seed + len(self.history) * self.episodes
        result = evaluate_policy(agent, self.env, n_episodes=self.episodes, seed=seed)
        self.eval_steps += int(result.lengths.sum())
        self.history.append((agent.num_timesteps, result.mean_return))
        if result.mean_return > self.best_return:
            self.best_return = result.mean_return
            self._best_state = {k: v.clone() for k, v in agent.q_net.state_dict().items()}
        return result.mean_return < self.threshold

    def restore_best(self, agent: Any) -> None:
        """Put the best-scoring check's weights back into the online and target networks (a no-op after
        a stop, whose check was the best; nothing to do before the first check)."""
        if self._best_state is None:
            return
        agent.q_net.load_state_dict(self._best_state)
        agent.q_target.load_state_dict(self._best_state)
