"""Transition datasets: (state, action, next state) triples, seeded and saved to disk.

An emulator needs no controller to learn from: any moves will do, as long as they cover the states the
controller will later visit (Nguyen & Widrow 1990; the course's "random steps"). ``collect`` drives a
batch of systems with random actions through any :class:`Dynamics`, restarting each one whose episode
has ended. ``collect_from_env`` records a Gymnasium env driven by any behaviour policy: an offline
dataset, which covers only what that policy did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from core.checkpoint import load_checkpoint, save_checkpoint
from core.errors import UserError

KIND = "transitions"


@dataclass
class Transitions:
    """``states [N, S]``, ``actions [N, A]``, ``next_states [N, S]``."""

    states: Tensor
    actions: Tensor
    next_states: Tensor

    def __len__(self) -> int:
        return len(self.states)

    def split(self, test_fraction: float, generator: torch.Generator) -> tuple[Transitions, Transitions]:
        """A random train/test split (the test part is never trained on)."""
        if not 0.0 < test_fraction < 1.0:
            raise UserError(f"test_fraction must be in (0, 1); got {test_fraction}")
        order = torch.randperm(len(self), generator=generator)
        n_test = max(1, int(round(test_fraction * len(self))))
        return self[order[n_test:]], self[order[:n_test]]

    def __getitem__(self, index: Tensor | slice) -> Transitions:
        return Transitions(self.states[index], self.actions[index], self.next_states[index])

    def save(self, path: str | Path) -> None:
        save_checkpoint(
            path, {"kind": KIND, "states": self.states, "actions": self.actions, "next": self.next_states}
        )

    @classmethod
    def load(cls, path: str | Path) -> Transitions:
        payload = load_checkpoint(path, kind=KIND)
        return cls(payload["states"], payload["actions"], payload["next"])


def collect(
    step: Callable[[Tensor, Tensor], Tensor],
    sample_starts: Callable[[int, torch.Generator], Tensor],
    is_done: Callable[[Tensor], Tensor],
    action_low: Tensor,
    action_high: Tensor,
    n_transitions: int,
    generator: torch.Generator,
    n_parallel: int = 256,
    hold: int = 5,
) -> Transitions:
    """``n_transitions`` random-action transitions of ``step`` (the Dynamics' step).

    ``n_parallel`` systems start from ``sample_starts(n, generator)``; each draws a uniform random action
    in [low, high] and holds it for ``hold`` steps (so that sustained turns, not only jitter, are in the
    data); a system whose state ``is_done`` is restarted from a fresh start.
    """
    if n_transitions < 1:
        raise UserError(f"n_transitions must be positive; got {n_transitions}")
    state = sample_starts(n_parallel, generator)
    width = action_high - action_low
    action = action_low + width * torch.rand(n_parallel, len(width), generator=generator, dtype=state.dtype)
    chunks: list[tuple[Tensor, Tensor, Tensor]] = []
    t, total = 0, 0
    with torch.no_grad():
        while total < n_transitions:
            if t % hold == 0:
                action = action_low + width * torch.rand(action.shape, generator=generator, dtype=state.dtype)
            following = step(state, action)
            chunks.append((state, action, following))
            total += len(state)
            done = is_done(following)
            if bool(done.any()):
                following = following.clone()
                following[done] = sample_starts(int(done.sum()), generator)
            state = following
            t += 1
    states, actions, nexts = (torch.cat(part)[:n_transitions] for part in zip(*chunks, strict=True))
    return Transitions(states, actions, nexts)


def collect_from_env(
    env: gym.Env,
    act: Callable[[np.ndarray, np.random.Generator], np.ndarray],
    episodes: int,
    seed: int,
    reset_options: Callable[[np.random.Generator], dict] | None = None,
) -> Transitions:
    """(observation, action, next observation) of ``episodes`` episodes of ``env`` driven by
    ``act(obs, rng)`` (a random, scripted or noisy behaviour policy); episode e resets with seed
    ``seed + e`` and the options ``reset_options(rng)`` (e.g. a random start), and ``rng`` is seeded with
    ``seed``, so the same arguments give the same data."""
    if episodes < 1:
        raise UserError(f"episodes must be positive; got {episodes}")
    rng = np.random.default_rng(seed)
    rows = []
    for episode in range(episodes):
        options = reset_options(rng) if reset_options is not None else None
        obs, _ = env.reset(seed=seed + episode, options=options)
        done = False
        while not done:
            action = np.asarray(act(obs, rng), dtype=np.float32)
            following, _, terminated, truncated, _ = env.step(action)
            rows.append((obs, action, following))
            obs, done = following, terminated or truncated
    states, actions, nexts = (
        torch.from_numpy(np.array(column, dtype=np.float32)) for column in zip(*rows, strict=True)
    )
    return Transitions(states, actions, nexts)
