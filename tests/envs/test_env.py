"""GridWorldEnv: agreement with its exact model, seeding, API checkers, observations and rendering."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse as sp
from gymnasium.utils.env_checker import check_env as gym_check_env
from scipy.sparse.linalg import spsolve
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401  (registers rlsuite/GridWorld-v0)
from core.errors import UserError
from envs.gridworld.env import GridWorldEnv
from envs.gridworld.layout import get_layout
from envs.gridworld.pixels import AGENT, BAD, EMPTY, GOOD, START, WALL

N, E, S, W = range(4)


def policy_value(mdp, policy: np.ndarray, gamma: float) -> np.ndarray:
    """Exact V^π, the oracle: solve (I - γ P_π) V = r_π with a sparse direct solver."""
    states = np.arange(mdp.n_states)
    p_pi = mdp.transitions[states * mdp.n_actions + policy]
    r_pi = mdp.rewards[states, policy]
    return spsolve(sp.identity(mdp.n_states, format="csc") - gamma * p_pi.tocsc(), r_pi)


def test_monte_carlo_return_matches_the_exact_policy_value():
    gamma, episodes = 0.9, 4000
    env = GridWorldEnv("book", noise=0.2)
    rows = env.state_to_cell[:, 0]
    policy = np.where(rows == 0, E, N)  # top row heads for +1; (2, 3) goes N into -1
    exact = policy_value(env.mdp(), policy, gamma)[env.cell_to_state[env.layout.start]]

    returns = np.empty(episodes)
    state, _ = env.reset(seed=123)
    for episode in range(episodes):
        if episode:
            state, _ = env.reset()
        total, discount, terminated = 0.0, 1.0, False
        while not terminated:
            state, reward, terminated, truncated, _ = env.step(int(policy[state]))
            total += discount * reward
            discount *= gamma
        returns[episode] = total
    standard_error = returns.std() / np.sqrt(episodes)
    assert abs(returns.mean() - exact) < 4 * standard_error, (returns.mean(), exact, standard_error)


def test_terminal_cell_pays_its_reward_and_terminates():
    env = GridWorldEnv("book", noise=0.0, living_reward=-0.1)
    env.reset(seed=0)
    for action in (N, N, E, E):
        _, reward, terminated, truncated, info = env.step(action)
        assert reward == pytest.approx(-0.1) and not terminated and not truncated
    _, reward, terminated, _, info = env.step(E)
    assert info["cell"] == (0, 3) and reward == pytest.approx(-0.1) and not terminated
    _, reward, terminated, _, info = env.step(W)  # any action in a terminal cell
    assert reward == 1.0 and terminated and info["cell"] == (0, 3)


def trajectory(seed: int, steps: int = 60) -> list:
    env = GridWorldEnv("maze-9", noise=0.3, obs="coords")
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(0).integers(4, size=steps)
    return [obs.tolist()] + [env.step(int(a))[0].tolist() for a in actions]


def test_same_seed_same_trajectory():
    assert trajectory(7) == trajectory(7)
    assert trajectory(7) != trajectory(8)


@pytest.mark.parametrize("obs", ["index", "coords", "pixels"])
@pytest.mark.parametrize("render_mode", [None, "rgb_array", "ansi"])
def test_gymnasium_and_sb3_checkers_pass_without_warnings(obs, render_mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make("rlsuite/GridWorld-v0", obs=obs, render_mode=render_mode)
        gym_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)
        env.close()


def test_observations_describe_the_agent_cell():
    coords = GridWorldEnv("book", obs="coords")
    obs, info = coords.reset(seed=0)
    assert obs.dtype == np.float32 and obs.tolist() == [2.0, 0.0] and info["cell"] == (2, 0)

    pixels = GridWorldEnv("book", noise=0.0, obs="pixels")
    before, _ = pixels.reset(seed=0)
    k = before.shape[0] // 3
    assert before.shape == (3 * k, 4 * k, 3) and before.dtype == np.uint8 and k >= 8
    assert min(before.shape[:2]) >= 36  # Stable-Baselines3's CNN minimum
    after = pixels.step(N)[0]
    changed_cells = {tuple(pixel // k) for pixel in np.argwhere(np.any(before != after, axis=2))}
    assert changed_cells == {(2, 0), (1, 0)}  # the agent left the start and entered the cell above


def test_index_observation_and_properties():
    env = GridWorldEnv(get_layout("bridge"), noise=0.0)
    obs, _ = env.reset(seed=0)
    assert obs == env.cell_to_state[1, 1] and env.observation_space == gym.spaces.Discrete(env.n_states)
    assert env.n_states == 17 and env.state_to_cell.shape == (17, 2)
    assert env.mdp() is env.mdp()
    assert env.layout.name == "bridge"


@pytest.mark.parametrize("action", [4, -1, 1.5, "N"])
def test_invalid_action_is_named(action):
    env = GridWorldEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=f"invalid action {action!r}"):
        env.step(action)


def test_bad_constructor_values_are_user_errors():
    with pytest.raises(UserError, match="observation mode 'rgb'"):
        GridWorldEnv(obs="rgb")
    with pytest.raises(UserError, match="render mode 'video'"):
        GridWorldEnv(render_mode="video")
    with pytest.raises(UserError, match="noise"):
        GridWorldEnv(noise=2.0)
    with pytest.raises(UserError, match="unknown layout"):
        GridWorldEnv("atlantis")


def test_rgb_array_render():
    env = GridWorldEnv("book", render_mode="rgb_array", cell_size=40)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8

    def centre(row: int, col: int) -> tuple:
        return tuple(frame[row * 40 + 20, col * 40 + 20])

    assert centre(0, 0) == EMPTY and centre(1, 1) == WALL and centre(2, 0) == AGENT
    assert tuple(frame[85, 5]) == START  # a corner of the start cell, outside the agent's circle
    assert tuple(frame[2, 122]) == GOOD and tuple(frame[42, 122]) == BAD
    plus_cell = frame[0:40, 120:160]
    assert np.all(plus_cell == 255, axis=2).any()  # "+1" is written in white
    env.close()


def test_large_grids_render_at_a_bounded_size():
    env = GridWorldEnv("open-300x200", render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (900, 600, 3)


def test_ansi_render():
    env = GridWorldEnv("book", render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == " .  .  . +1\n .  #  . -1\n @  .  .  .\n"


def test_human_render_opens_and_closes_a_window():
    import pygame

    env = GridWorldEnv("book", render_mode="human")
    env.metadata = {**env.metadata, "render_fps": 1000}
    env.reset(seed=0)
    env.step(N)
    assert pygame.display.get_surface().get_size() == (192, 144)
    env.close()
    assert pygame.display.get_surface() is None
