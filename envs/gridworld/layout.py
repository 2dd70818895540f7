"""Grid world layouts: the ASCII map format, the built-in maps, and generated mazes and open grids.

A map is one row of whitespace-separated tokens per line: ``.`` empty, ``#`` wall, ``S`` the start, and a
number (``+1``, ``-100``, ``10``) a terminal cell paying that reward. Blank lines and lines starting with
``;`` are skipped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import UserError
from envs.gridworld.maze import maze_walls

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_MAZE = re.compile(r"maze-(\d+)")
_OPEN = re.compile(r"open-(\d+)x(\d+)")


@dataclass(frozen=True, eq=False)
class Layout:
    """The geometry of a grid world: walls, terminal rewards (NaN where a cell is not terminal), start.

    The arrays are copied and made read-only, so a layout cannot change under a model built from it.
    """

    walls: np.ndarray
    terminal_rewards: np.ndarray
    start: tuple[int, int]
    name: str

    def __post_init__(self) -> None:
        walls = np.array(self.walls, dtype=bool)
        rewards = np.array(self.terminal_rewards, dtype=np.float64)
        walls.flags.writeable = rewards.flags.writeable = False
        object.__setattr__(self, "walls", walls)
        object.__setattr__(self, "terminal_rewards", rewards)
        object.__setattr__(self, "start", (int(self.start[0]), int(self.start[1])))
        if walls.ndim != 2 or walls.size == 0 or rewards.shape != walls.shape:
            raise UserError(
                f"layout {self.name!r}: walls and terminal rewards must be non-empty grids of the same "
                f"shape, got {walls.shape} and {rewards.shape}"
            )
        row, col = self.start
        if not (0 <= row < walls.shape[0] and 0 <= col < walls.shape[1]):
            raise UserError(f"layout {self.name!r}: start {self.start} is outside the {self.shape} grid")
        if walls[row, col]:
            raise UserError(f"layout {self.name!r}: start {self.start} is on a wall")
        terminal = ~np.isnan(rewards)
        if not terminal.any():
            raise UserError(f"layout {self.name!r} has no terminal cell (write its reward, e.g. +1)")
        if (terminal & walls).any():
            raise UserError(f"layout {self.name!r}: a cell cannot be both a wall and terminal")

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.walls.shape[0]), int(self.walls.shape[1]))

    @property
    def terminal(self) -> np.ndarray:
        """Boolean mask ``[H, W]`` of terminal cells."""
        return ~np.isnan(self.terminal_rewards)


def parse_layout(text: str, name: str = "custom") -> Layout:
    """Parse an ASCII map (see the module docstring) into a :class:`Layout`."""
    rows: list[tuple[int, list[str]]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith(";"):
            rows.append((line_no, stripped.split()))
    if not rows:
        raise UserError(f"map {name!r} is empty")
    width = len(rows[0][1])
    walls = np.zeros((len(rows), width), dtype=bool)
    rewards = np.full((len(rows), width), np.nan)
    starts: list[tuple[int, int]] = []
    for r, (line_no, tokens) in enumerate(rows):
        if len(tokens) != width:
            raise UserError(
                f"map {name!r}: row {r} (line {line_no}) has {len(tokens)} cells, but row 0 has {width}"
            )
        for c, token in enumerate(tokens):
            if token == "#":
                walls[r, c] = True
            elif token == "S":
                starts.append((r, c))
            elif token != ".":
                rewards[r, c] = _terminal_reward(token, name, r, c, line_no)
    if not starts:
        raise UserError(f"map {name!r} has no start cell 'S'")
    if len(starts) > 1:
        raise UserError(f"map {name!r} has {len(starts)} start cells {starts}; it needs exactly one")
    return Layout(walls=walls, terminal_rewards=rewards, start=starts[0], name=name)


def _terminal_reward(token: str, name: str, r: int, c: int, line_no: int) -> float:
    """The reward written in a terminal cell's token, or a UserError naming the bad token."""
    try:
        reward = float(token)
    except ValueError:
        raise UserError(
            f"map {name!r}: unknown token {token!r} at row {r}, column {c} (line {line_no}); "
            "expected '.', '#', 'S' or a number"
        ) from None
    if not math.isfinite(reward):
        raise UserError(f"map {name!r}: terminal reward {token!r} at row {r}, column {c} must be finite")
    return reward


def maze_layout(n: int, seed: int = 0) -> Layout:
    """A seeded perfect ``n x n`` maze (``n`` odd, at least 5): start top-left, +1 bottom-right."""
    if n < 5 or n % 2 == 0:
        raise UserError(f"maze size must be odd and at least 5, got maze-{n}")
    rewards = np.full((n, n), np.nan)
    rewards[n - 1, n - 1] = 1.0
    return Layout(walls=maze_walls(n, seed), terminal_rewards=rewards, start=(0, 0), name=f"maze-{n}")


def open_layout(height: int, width: int) -> Layout:
    """An ``height x width`` grid without walls: start bottom-left, +1 top-right.

    Built directly as arrays (no text), so it scales to the 1000x1000 speed benchmark.
    """
    if height < 1 or width < 1 or height * width < 2:
        raise UserError(f"open grid needs at least 2 cells, got open-{height}x{width}")
    rewards = np.full((height, width), np.nan)
    rewards[0, width - 1] = 1.0
    return Layout(
        walls=np.zeros((height, width), dtype=bool),
        terminal_rewards=rewards,
        start=(height - 1, 0),
        name=f"open-{height}x{width}",
    )


def _map_files() -> dict[str, Traversable]:
    folder = resources.files("envs.gridworld").joinpath("layouts")
    return {f.name.removesuffix(".txt"): f for f in folder.iterdir() if f.name.endswith(".txt")}


def layout_names() -> list[str]:
    """The built-in layouts, with the generated families as patterns (for help and listings)."""
    return sorted(_map_files()) + ["maze-N", "open-HxW"]


def get_layout(spec: str, seed: int = 0) -> Layout:
    """Resolve ``spec``: a built-in name, ``maze-N`` (seeded by ``seed``), ``open-HxW``, a path to a
    ``.txt`` map, or map text (anything containing a newline)."""
    if "\n" in spec:
        return parse_layout(spec)
    files = _map_files()
    if spec in files:
        return parse_layout(files[spec].read_text(encoding="utf-8"), name=spec)
    if match := _MAZE.fullmatch(spec):
        return maze_layout(int(match[1]), seed)
    if match := _OPEN.fullmatch(spec):
        return open_layout(int(match[1]), int(match[2]))
    path = Path(spec)
    if path.suffix == ".txt" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
            raise UserError(f"cannot read map file {spec}: {reason}") from None
        return parse_layout(text, name=path.stem)
    raise UserError(
        f"unknown layout {spec!r}; choose one of {', '.join(layout_names())}, or give a .txt map file"
    )
