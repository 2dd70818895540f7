"""Layouts: the built-in maps, generated mazes and open grids, and the map parser's errors."""

import re

import numpy as np
import pytest

from core.errors import UserError
from envs.gridworld.layout import Layout, get_layout, layout_names, parse_layout


def test_book_has_the_textbook_geometry():
    book = get_layout("book")
    assert book.shape == (3, 4)
    assert book.start == (2, 0)
    assert np.array_equal(np.argwhere(book.walls), [[1, 1]])
    assert np.array_equal(np.argwhere(book.terminal), [[0, 3], [1, 3]])
    assert book.terminal_rewards[0, 3] == 1.0
    assert book.terminal_rewards[1, 3] == -1.0


def test_bridge_is_a_one_cell_bridge_between_cliffs():
    bridge = get_layout("bridge")
    assert bridge.shape == (3, 7)
    assert bridge.start == (1, 1)
    assert bridge.terminal_rewards[1, 0] == 1.0 and bridge.terminal_rewards[1, 6] == 10.0
    assert np.all(bridge.terminal_rewards[[0, 2], 1:6] == -100.0)
    assert np.array_equal(np.argwhere(bridge.walls), [[0, 0], [0, 6], [2, 0], [2, 6]])


def test_cliff_is_sutton_and_barto_4x12():
    cliff = get_layout("cliff")
    assert cliff.shape == (4, 12)
    assert cliff.start == (3, 0)
    assert not cliff.walls.any()
    assert np.all(cliff.terminal_rewards[3, 1:11] == -100.0)
    assert cliff.terminal_rewards[3, 11] == 1.0
    assert cliff.terminal.sum() == 11


@pytest.mark.parametrize("name", ["book", "bridge", "cliff", "maze-5", "maze-21", "open-3x5", "open-1x2"])
def test_every_builtin_resolves(name):
    layout = get_layout(name)
    assert isinstance(layout, Layout)
    assert layout.name == name
    assert not layout.walls[layout.start]


def test_layout_names_lists_the_map_files_and_the_generated_families():
    assert layout_names() == ["book", "bridge", "cliff", "maze-N", "open-HxW"]


def _is_tree(walls: np.ndarray) -> bool:
    """Open cells form a connected graph with one edge fewer than cells (a perfect maze)."""
    open_cells = ~walls
    edges = (open_cells[1:] & open_cells[:-1]).sum() + (open_cells[:, 1:] & open_cells[:, :-1]).sum()
    start = tuple(np.argwhere(open_cells)[0])
    seen, frontier = {start}, [start]
    while frontier:
        r, c = frontier.pop()
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            inside = 0 <= nr < walls.shape[0] and 0 <= nc < walls.shape[1]
            if inside and open_cells[nr, nc] and (nr, nc) not in seen:
                seen.add((nr, nc))
                frontier.append((nr, nc))
    return len(seen) == open_cells.sum() and edges == open_cells.sum() - 1


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_maze_is_perfect_and_seeded(seed):
    maze = get_layout("maze-21", seed=seed)
    assert maze.shape == (21, 21)
    assert maze.start == (0, 0)
    assert np.array_equal(np.argwhere(maze.terminal), [[20, 20]]) and maze.terminal_rewards[20, 20] == 1.0
    assert _is_tree(maze.walls)
    assert np.array_equal(maze.walls, get_layout("maze-21", seed=seed).walls)


def test_maze_seeds_differ():
    assert not np.array_equal(get_layout("maze-21", seed=0).walls, get_layout("maze-21", seed=1).walls)


def test_open_grid():
    grid = get_layout("open-4x7")
    assert grid.shape == (4, 7)
    assert not grid.walls.any()
    assert grid.start == (3, 0)
    assert np.array_equal(np.argwhere(grid.terminal), [[0, 6]]) and grid.terminal_rewards[0, 6] == 1.0


def test_map_text_file_and_comments(tmp_path):
    text = "; a comment\n\n. +1\nS -1\n"
    path = tmp_path / "tiny.txt"
    path.write_text(text)
    from_file = get_layout(str(path))
    from_text = get_layout(text)
    assert from_file.name == "tiny" and from_text.name == "custom"
    for layout in (from_file, from_text):
        assert layout.shape == (2, 2) and layout.start == (1, 0)
        assert layout.terminal_rewards[0, 1] == 1.0 and layout.terminal_rewards[1, 1] == -1.0


def test_layout_arrays_are_read_only():
    book = get_layout("book")
    with pytest.raises(ValueError):
        book.walls[0, 0] = True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (". . +1\nS .\n", "row 1 (line 2) has 2 cells, but row 0 has 3"),
        (". x +1\nS . .\n", "unknown token 'x' at row 0, column 1"),
        (". . +1\n. . .\n", "no start"),
        ("S . +1\nS . .\n", "2 start cells"),
        (". . .\nS . .\n", "no terminal"),
        ("; only a comment\n", "empty"),
        (". nan\nS .\n", "must be finite"),
    ],
)
def test_parse_errors_name_the_problem(text, message):
    with pytest.raises(UserError, match=re.escape(message)):
        parse_layout(text)


def test_start_on_a_wall_is_rejected():
    rewards = np.full((1, 2), np.nan)
    rewards[0, 1] = 1.0
    with pytest.raises(UserError, match="on a wall"):
        Layout(walls=np.array([[True, False]]), terminal_rewards=rewards, start=(0, 0), name="bad")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nowhere", "unknown layout 'nowhere'; choose one of book, bridge, cliff, maze-N, open-HxW"),
        ("missing.txt", "cannot read map file missing.txt"),
        ("maze-4", "odd and at least 5"),
        ("maze-3", "odd and at least 5"),
        ("open-1x1", "at least 2 cells"),
    ],
)
def test_bad_specs_are_user_errors(spec, message):
    with pytest.raises(UserError, match=re.escape(message)):
        get_layout(spec)
