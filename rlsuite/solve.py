"""``rlsuite solve``: plan a tabular env exactly and present the result as grids (JSON or text)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.tabular import PlanningResult
from core.env_source import make_env
from core.errors import UserError
from envs import GridWorldEnv
from rlsuite.registry import get_algorithm

ARROWS = {"N": "↑", "E": "→", "S": "↓", "W": "←"}
_PRINTABLE_WIDTH = 30  # wider grids are summarised instead of printed cell by cell


@dataclass(frozen=True)
class Solution:
    """A planner's result on a grid env, with what is needed to show it."""

    grid: GridWorldEnv  # unwrapped
    result: PlanningResult
    algorithm: str
    gamma: float
    action_names: tuple[str, ...]

    def value_grid(self) -> list[list[float | None]]:
        """Values as rows top to bottom, ``None`` on walls."""
        values = np.asarray(self.result.values, dtype=float)
        return [[None if s < 0 else float(values[s]) for s in row] for row in self.grid.cell_to_state]

    def policy_grid(self) -> list[list[str | None]]:
        """Greedy action names as rows top to bottom, ``None`` on walls and terminal cells."""
        terminal = self.grid.layout.terminal
        policy = np.asarray(self.result.policy)
        return [
            [None if s < 0 or terminal[r, c] else self.action_names[policy[s]] for c, s in enumerate(row)]
            for r, row in enumerate(self.grid.cell_to_state)
        ]

    def to_dict(self) -> dict[str, Any]:
        """The ``solve --json`` object."""
        return {
            "algorithm": self.algorithm,
            "gamma": self.gamma,
            "values": self.value_grid(),
            "policy": self.policy_grid(),
            "iterations": int(self.result.iterations),
            "residual": float(self.result.residual),
            "seconds": float(self.result.seconds),
        }


def solve(env_id: str, env_kwargs: dict[str, Any], algorithm: str, gamma: float, tol: float) -> Solution:
    """Build ``env_id`` with ``env_kwargs``, take its exact model and plan it with ``algorithm``."""
    planner = get_algorithm(algorithm, kind="planner").load()
    grid = make_env(env_id, **env_kwargs).unwrapped
    if not hasattr(grid, "mdp"):
        raise UserError(f"{env_id} is not a tabular environment (solve needs an exact model, e.g. GridWorld)")
    mdp = grid.mdp()
    return Solution(grid, planner(mdp, gamma, tol=tol), algorithm, gamma, mdp.action_names or tuple(ARROWS))


def format_solution(solution: Solution) -> str:
    """A human-readable summary: the values grid and the arrow grid side by side."""
    result = solution.result
    height, width = solution.grid.cell_to_state.shape
    header = (
        f"{solution.algorithm} on {solution.grid.layout.name} ({height}x{width}), gamma={solution.gamma}: "
        f"{result.iterations} iterations, residual {result.residual:.2e}, {result.seconds:.3f} s"
    )
    if width > _PRINTABLE_WIDTH:
        return f"{header}\n(grid too wide to print; use --json or --plot)"
    cells = [["####" if v is None else f"{v:.2f}" for v in row] for row in solution.value_grid()]
    column = max(len(cell) for row in cells for cell in row) + 1
    values = [" ".join(cell.rjust(column) for cell in row) for row in cells]
    terminal = solution.grid.layout.terminal
    walls = solution.grid.layout.walls
    arrows = [
        " ".join(
            "#" if walls[r, c] else "*" if terminal[r, c] else ARROWS.get(a, a) for c, a in enumerate(row)
        )
        for r, row in enumerate(solution.policy_grid())
    ]
    gap = " " * 4
    lines = [header, "", "values".ljust(len(values[0])) + gap + "policy (* terminal, # wall)"]
    lines += [v + gap + a for v, a in zip(values, arrows, strict=True)]
    return "\n".join(lines)
