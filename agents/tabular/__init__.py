"""Tabular methods: exact planning on a TabularMDP (VI, PI, QI) and model-free Q-learning."""

from agents.tabular.planning import PlanningResult, policy_iteration, q_iteration, value_iteration
from agents.tabular.q_learning import QLearning, QLearningConfig

__all__ = [
    "PlanningResult",
    "QLearning",
    "QLearningConfig",
    "policy_iteration",
    "q_iteration",
    "value_iteration",
]
