"""The environments this project registers with Gymnasium."""

from __future__ import annotations

import gymnasium as gym

import envs  # noqa: F401  (registers the rlsuite/ ids with gymnasium)

NAMESPACE = "rlsuite/"


def rlsuite_env_ids() -> list[str]:
    """The ids this project registers with gymnasium, sorted."""
    return sorted(env_id for env_id in gym.registry if env_id.startswith(NAMESPACE))
