"""Policy-gradient agents: REINFORCE and A2C on one shared policy and rollout machinery."""

from agents.pg.a2c import A2C, A2CConfig
from agents.pg.reinforce import REINFORCE, REINFORCEConfig

__all__ = ["A2C", "REINFORCE", "A2CConfig", "REINFORCEConfig"]
