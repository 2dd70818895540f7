"""Building Gymnasium envs for the CLI: every way a request can be refused becomes a UserError."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

import envs  # noqa: F401  (registers the rlsuite/ ids with gymnasium)
from core.env_source import make_env as make_registered_env
from core.errors import UserError

NAMESPACE = "rlsuite/"


def rlsuite_env_ids() -> list[str]:
    """The ids this project registers with gymnasium, sorted."""
    return sorted(env_id for env_id in gym.registry if env_id.startswith(NAMESPACE))


def make_env(
    env_id: str, env_kwargs: dict[str, Any] | None = None, render_mode: str | None = None
) -> gym.Env:
    """``gym.make(env_id, render_mode=..., **env_kwargs)``; unknown ids and bad options are UserErrors."""
    try:
        return make_registered_env(env_id, render_mode=render_mode, **(env_kwargs or {}))
    except (TypeError, ValueError) as error:
        # A keyword the env's constructor does not take, or a value it refuses.
        raise UserError(f"environment {env_id!r} rejected its options {env_kwargs or {}}: {error}") from None
