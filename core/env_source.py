"""Accept an env as a Gymnasium id, a zero-argument factory, or a ready instance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

from core.errors import UserError

EnvSource = str | Callable[[], gym.Env] | gym.Env


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """`gym.make`, with unknown ids and unmakeable envs turned into a one-line UserError."""
    try:
        return gym.make(env_id, **kwargs)
    except gym.error.UnregisteredEnv as e:
        raise UserError(f"unknown environment: {env_id} ({_one_line(e)})") from e
    except gym.error.Error as e:
        raise UserError(f"cannot make environment {env_id}: {_one_line(e)}") from e
    except (TypeError, ValueError) as e:  # a keyword the constructor does not take, or a value it refuses
        raise UserError(f"environment {env_id!r} rejected its options {kwargs}: {_one_line(e)}") from None


def env_factory(env: EnvSource, **make_kwargs: Any) -> Callable[[], gym.Env]:
    """A zero-argument function returning the env; `make_kwargs` apply to an id only.

    For an instance the function returns that same instance every time.
    """
    if isinstance(env, str):
        return lambda: make_env(env, **make_kwargs)
    if isinstance(env, gym.Env):
        return lambda: env
    if callable(env):
        return env
    raise UserError(f"an env must be an id, a factory or a gymnasium.Env, got {type(env).__name__}")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
