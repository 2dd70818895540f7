"""Trajectory costs: ``cost(states [B, T+1, S], actions [B, T, A]) -> [B]``, differentiable.

The lab's four costs for reaching a target position (final position; final position and speed; mean
distance along the path; softmin of the distances, −logsumexp(−d_t)), and the terms that make a
controller usable: circular obstacles, control effort and terminal speed (so the car stops on the target).
Costs add (``a + b``) and scale (``2.0 * a``). Positions are ``states[..., position]`` (x, y by default)
and the speed ``states[..., speed_index]``, the kinematic car's layout (x, y, θ, s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from core.errors import UserError

XY = (0, 1)


class Cost:
    """A trajectory cost; subclasses define ``__call__``. ``+`` and scalar ``*`` compose them."""

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        raise NotImplementedError

    def __add__(self, other: Cost) -> Cost:
        return SumCost(self, other)

    def __rmul__(self, weight: float) -> Cost:
        return ScaledCost(float(weight), self)


class SumCost(Cost):
    def __init__(self, *terms: Cost) -> None:
        self.terms = terms

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        return sum(term(states, actions) for term in self.terms)


class ScaledCost(Cost):
    def __init__(self, weight: float, term: Cost) -> None:
        self.weight, self.term = weight, term

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        return self.weight * self.term(states, actions)


class _TargetCost(Cost):
    """A cost of the distances d_t = ||p_t − target|| (t = 1 … T: the start is not the planner's doing)."""

    def __init__(self, target: Sequence[float], position: Sequence[int] = XY) -> None:
        if len(target) != len(position):
            raise UserError(f"target needs {len(position)} coordinates; got {list(target)}")
        self.target = torch.as_tensor(target, dtype=torch.float64)
        self.position = list(position)

    def distances(self, states: Tensor) -> Tensor:
        """``[B, T]`` distances of the planned positions (after each action) to the target."""
        points = states[:, 1:, self.position]
        # sqrt(·+ε): the exact norm has no gradient on the target itself.
        return ((points - self.target.to(points)).pow(2).sum(-1) + 1e-9).sqrt()

    def final_squared_distance(self, states: Tensor) -> Tensor:
        """``[B]`` d_T² from the last state alone (gradient MPC evaluates it every iteration)."""
        points = states[:, -1, self.position]
        return (points - self.target.to(points)).pow(2).sum(-1)


class FinalPosition(_TargetCost):
    """d_T²: only where the horizon ends counts (with a long horizon it overshoots: the lab's lesson)."""

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        return self.final_squared_distance(states)


class FinalPositionSpeed(_TargetCost):
    """d_T² + w s_T²: arrive and be still."""

    def __init__(
        self,
        target: Sequence[float],
        speed_weight: float = 1.0,
        position: Sequence[int] = XY,
        speed_index: int = 3,
    ) -> None:
        super().__init__(target, position)
        self.speed_weight, self.terminal_speed = speed_weight, TerminalSpeed(speed_index)

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        return self.final_squared_distance(states) + self.speed_weight * self.terminal_speed(states, actions)


class MeanDistance(_TargetCost):
    """(1/T) Σ_t d_t: get close early and stay."""

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        return self.distances(states).mean(-1)


class SoftminDistance(_TargetCost):
    """−τ logsumexp(−d_t / τ), a smooth min over t: pass close to the target at some point."""

    def __init__(
        self, target: Sequence[float], temperature: float = 1.0, position: Sequence[int] = XY
    ) -> None:
        super().__init__(target, position)
        if temperature <= 0:
            raise UserError(f"temperature must be positive; got {temperature}")
        self.temperature = temperature

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        return -self.temperature * torch.logsumexp(-self.distances(states) / self.temperature, dim=-1)


class TerminalSpeed(Cost):
    """s_T²: stop where the horizon ends."""

    def __init__(self, speed_index: int = 3) -> None:
        self.speed_index = speed_index

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        return states[:, -1, self.speed_index].pow(2)


class ControlEffort(Cost):
    """Σ_t Σ_i w_i a_{t,i}²: small, smooth controls (and a unique optimum where the task has many)."""

    def __init__(self, weights: Sequence[float] | float = 1.0) -> None:
        self.weights = torch.as_tensor(weights, dtype=torch.float64)

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        return (actions.pow(2) * self.weights.to(actions)).sum(dim=(-2, -1))


class Obstacles(Cost):
    """Σ_t Σ_p Σ_k max(0, r_k + margin − ||p − c_k||)²: a smooth wall around each circle, zero outside.

    The points p of a state are ``footprint(states [B, T, S]) -> [B, T, P, 2]`` (e.g. the car's two axle
    centres), by default its position; ``margin`` is the clearance kept (the radius of the disc round each
    point plus a safety distance).
    """

    def __init__(
        self,
        centers: Sequence[Sequence[float]] | Tensor,
        radii: Sequence[float] | Tensor,
        margin: float = 0.0,
        position: Sequence[int] = XY,
        footprint: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        self.centers = torch.as_tensor(centers, dtype=torch.float64).reshape(-1, len(position))
        self.radii = torch.as_tensor(radii, dtype=torch.float64).reshape(-1)
        if self.centers.shape[0] != self.radii.shape[0]:
            raise UserError(f"{self.centers.shape[0]} obstacle centres but {self.radii.shape[0]} radii")
        self.margin = margin
        self.position = list(position)
        self.footprint = footprint

    def __call__(self, states: Tensor, actions: Tensor) -> Tensor:
        after = states[:, 1:]
        points = self.footprint(after) if self.footprint else after[..., self.position].unsqueeze(-2)
        offsets = points.unsqueeze(-2) - self.centers.to(points)  # [B, T, P, K, 2]
        gaps = (offsets.pow(2).sum(-1) + 1e-9).sqrt()
        intrusion = (self.radii.to(points) + self.margin - gaps).clamp(min=0.0)
        return intrusion.pow(2).sum(dim=(-3, -2, -1))
