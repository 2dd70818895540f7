"""Evaluate a policy over seeded episodes, in parallel when the env can be copied.

Episode i is reset with `seed + i` whatever env copy runs it, so for a deterministic policy the
result does not depend on `n_envs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from core.env_source import EnvSource, env_factory
from core.errors import UserError
from core.policy import Policy, act, start_episodes
from core.validation import check_positive_int, check_seed

BOOTSTRAP_RESAMPLES = 2000
FINAL_PREFIX = "final_"  # numeric final-info keys averaged without being asked for


@dataclass
class EvalResult:
    """Per-episode returns and lengths, and their summary."""

    returns: np.ndarray
    lengths: np.ndarray
    mean_return: float
    std_return: float
    ci95: tuple[float, float]  # percentile bootstrap of the mean return
    rates: dict[str, float]  # "<name>_rate" for boolean final-info keys, "mean_<key>" for numeric ones

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (what `rlsuite eval --json` prints)."""
        return {
            "mean_return": self.mean_return,
            "std_return": self.std_return,
            "episodes": len(self.returns),
            "ci95": list(self.ci95),
            "mean_length": float(np.mean(self.lengths)),
            **self.rates,
        }


def evaluate_policy(
    policy: Policy,
    env: EnvSource,
    n_episodes: int = 10,
    seed: int = 0,
    deterministic: bool = True,
    n_envs: int | None = None,
    max_steps: int | None = None,
    final_info_keys: Sequence[str] = (),
) -> EvalResult:
    """Run `n_episodes` episodes of `policy` and summarise them.

    `env` is an id or a factory (run as `n_envs` parallel copies, default min(n_episodes, 8)), or
    an instance (episodes run one after another). `max_steps` cuts episodes short, counting
    them as truncated; an env without a time limit needs it. Numeric keys of the last step's info
    named `final_*` (e.g. "final_distance") are averaged as `mean_<key>` on their own, and so are the
    other numeric keys `final_info_keys` names; boolean keys become `<name>_rate`, where a leading
    `is_` is dropped (`is_success` -> `success_rate`, `jackknife` -> `jackknife_rate`).
    """
    n_episodes = check_positive_int(n_episodes, "n_episodes")
    seed = check_seed(seed)
    max_steps = None if max_steps is None else check_positive_int(max_steps, "max_steps")
    if isinstance(env, gym.Env):
        if n_envs not in (None, 1):
            raise UserError("n_envs > 1 needs an env id or factory, not an env instance")
        n_envs = 1
    n_envs = min(n_episodes, 8 if n_envs is None else check_positive_int(n_envs, "n_envs"))

    # DISABLED autoreset: we reset finished copies ourselves, so each new episode gets its seed.
    envs = SyncVectorEnv([env_factory(env)] * n_envs, autoreset_mode=AutoresetMode.DISABLED)
    try:
        returns, lengths, finals = _run_episodes(policy, envs, n_episodes, seed, deterministic, max_steps)
    finally:
        if not isinstance(env, gym.Env):  # an instance belongs to the caller
            envs.close()
    return EvalResult(
        returns=returns,
        lengths=lengths,
        mean_return=float(np.mean(returns)),
        std_return=float(np.std(returns)),
        ci95=_bootstrap_ci95(returns, seed),
        rates=_final_info_rates(finals, final_info_keys),
    )


def _run_episodes(
    policy: Policy,
    envs: SyncVectorEnv,
    n_episodes: int,
    seed: int,
    deterministic: bool,
    max_steps: int | None,
) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """Step all copies together; a finished copy records its episode and starts the next one."""
    n = envs.num_envs
    episode = np.arange(n)  # which episode each copy runs; >= n_episodes means idle filler
    next_episode = n
    ep_return, ep_length = np.zeros(n), np.zeros(n, dtype=int)
    returns, lengths = np.zeros(n_episodes), np.zeros(n_episodes, dtype=int)
    finals: list[dict[str, Any]] = [{} for _ in range(n_episodes)]
    completed = 0

    obs, _ = envs.reset(seed=[seed + i for i in range(n)])
    start_episodes(policy, np.ones(n, dtype=bool))
    while True:
        obs, reward, terminated, truncated, infos = envs.step(act(policy, obs, deterministic))
        ep_return += reward
        ep_length += 1
        done = terminated | truncated
        if max_steps is not None:
            done |= ep_length >= max_steps
        if not done.any():
            continue
        seeds: list[int | None] = [None] * n  # idle copies reset unseeded; their episodes are ignored
        for i in np.flatnonzero(done):
            if episode[i] < n_episodes:
                returns[episode[i]], lengths[episode[i]] = ep_return[i], ep_length[i]
                finals[episode[i]] = _info_of(infos, i)
                completed += 1
            episode[i] = next_episode
            if next_episode < n_episodes:
                seeds[i] = seed + next_episode
            next_episode += 1
            ep_return[i], ep_length[i] = 0.0, 0
        if completed == n_episodes:
            return returns, lengths, finals
        obs, _ = envs.reset(seed=seeds, options={"reset_mask": done})
        start_episodes(policy, done)


def _info_of(infos: dict[str, Any], i: int) -> dict[str, Any]:
    """Copy i's top-level info out of a vector env's info (values plus `_key` presence masks)."""
    return {key: value[i] for key, value in infos.items() if f"_{key}" in infos and infos[f"_{key}"][i]}


def _final_info_rates(finals: list[dict[str, Any]], numeric_keys: Sequence[str]) -> dict[str, float]:
    """Mean of each boolean final-info key (`<name>_rate`) and each numeric one asked for (`mean_<key>`).

    Numeric keys named `final_*` are asked for implicitly. Each mean is over the episodes whose final
    info has the key.
    """
    rates: dict[str, float] = {}
    keys = sorted({k for info in finals for k in info})
    bool_keys = [k for k in keys if any(isinstance(info.get(k), bool | np.bool_) for info in finals)]
    for key in bool_keys:
        name = key.removeprefix("is_")
        rates[f"{name}_rate"] = float(np.mean([bool(info[key]) for info in finals if key in info]))
    implicit = [
        k for k in keys if k.startswith(FINAL_PREFIX) and k not in bool_keys and _all_numeric(finals, k)
    ]
    for key in dict.fromkeys([*implicit, *numeric_keys]):
        values = [info[key] for info in finals if key in info]
        if not values:
            raise UserError(f"final info key {key!r} appeared in no episode's final info")
        if not _all_numeric(finals, key):
            raise UserError(f"final info key {key!r} is not a numeric scalar")
        rates[f"mean_{key}"] = float(np.mean(values))
    return rates


def _all_numeric(finals: list[dict[str, Any]], key: str) -> bool:
    """Whether every final info that has `key` holds a numeric (non-boolean) scalar there."""
    values = [info[key] for info in finals if key in info]
    return all(
        np.ndim(v) == 0
        and np.issubdtype(np.asarray(v).dtype, np.number)
        and not isinstance(v, bool | np.bool_)
        for v in values
    )


def _bootstrap_ci95(returns: np.ndarray, seed: int) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean return (seeded, so it is reproducible)."""
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(returns), size=(BOOTSTRAP_RESAMPLES, len(returns)))
    means = returns[samples].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)
