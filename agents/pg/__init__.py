"""Policy-gradient agents: REINFORCE, A2C and PPO on one shared policy and rollout machinery."""

from agents.pg.a2c import A2C, A2CConfig
from agents.pg.ppo import PPO, PPOConfig
from agents.pg.reinforce import REINFORCE, REINFORCEConfig

__all__ = ["A2C", "PPO", "REINFORCE", "A2CConfig", "PPOConfig", "REINFORCEConfig"]
