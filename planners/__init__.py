"""Planners: model-predictive control on any Dynamics and Cost (gradient shooting, CEM, MPPI)."""

from planners.base import MPCPlanner
from planners.cem import CEM
from planners.gradient_mpc import GradientMPC
from planners.mppi import MPPI
from planners.rollout import Cost, Dynamics, rollout

__all__ = ["CEM", "MPPI", "Cost", "Dynamics", "GradientMPC", "MPCPlanner", "rollout"]
