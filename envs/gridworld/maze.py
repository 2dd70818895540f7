"""Perfect mazes by the recursive backtracker (randomised depth-first search)."""

from __future__ import annotations

import numpy as np

_STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))


def maze_walls(n: int, seed: int) -> np.ndarray:
    """Wall mask ``[n, n]`` of a perfect maze (exactly one path between any two open cells).

    Rooms sit at even coordinates, so an odd ``n`` gives ``(n + 1) // 2`` rooms per side with rooms on
    the border; the cell between two neighbouring rooms is opened when the search walks from one to the
    other. The search is iterative (an explicit stack), so large mazes do not hit the recursion limit.
    """
    rooms = (n + 1) // 2
    rng = np.random.default_rng(seed)
    walls = np.ones((n, n), dtype=bool)
    walls[::2, ::2] = False
    visited = np.zeros((rooms, rooms), dtype=bool)
    visited[0, 0] = True
    stack = [(0, 0)]
    while stack:
        r, c = stack[-1]
        unvisited = [
            (r + dr, c + dc)
            for dr, dc in _STEPS
            if 0 <= r + dr < rooms and 0 <= c + dc < rooms and not visited[r + dr, c + dc]
        ]
        if not unvisited:
            stack.pop()
            continue
        nr, nc = unvisited[rng.integers(len(unvisited))]
        visited[nr, nc] = True
        walls[r + nr, c + nc] = False  # the cell between rooms (2r, 2c) and (2nr, 2nc)
        stack.append((nr, nc))
    return walls
