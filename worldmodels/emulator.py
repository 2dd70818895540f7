"""A learned emulator of a system's dynamics: an MLP from (state, action) to the change of state.

As in the course (Nguyen & Widrow's truck emulator), it learns from random-action transitions with a
train/test split and normalised inputs; it predicts the normalised delta s' − s rather than s' itself,
which leaves the network only the small, smooth part to learn. Angles enter as (sin, cos), so a full
turn is no jump. ``Emulator.step`` implements the Dynamics protocol, so a planner or a controller
trained through it cannot tell it from the true kinematics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from core.checkpoint import load_model, save_model
from core.errors import UserError
from perception.mlp import MLP, MLPConfig
from worldmodels.batches import Standardiser
from worldmodels.transitions import Transitions

KIND = "emulator"


@dataclass
class EmulatorConfig:
    """Network shape. ``angle_dims`` lists state entries that are angles (fed as sin and cos)."""

    state_dim: int = 4
    action_dim: int = 1
    hidden: tuple[int, ...] = (128, 128)
    activation: str = "tanh"
    angle_dims: tuple[int, ...] = (2, 3)

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)
        self.angle_dims = tuple(self.angle_dims)
        bad = [d for d in self.angle_dims if not 0 <= d < self.state_dim]
        if bad:
            raise UserError(f"angle_dims {bad} are not state entries (state_dim {self.state_dim})")


class Emulator(nn.Module):
    """``step(state [B, S], action [B, A]) -> next state [B, S]``, differentiable (a Dynamics)."""

    def __init__(self, cfg: EmulatorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.state_dim, self.action_dim = cfg.state_dim, cfg.action_dim
        in_dim = cfg.state_dim + len(cfg.angle_dims) + cfg.action_dim
        self.net = MLP(MLPConfig(in_dim, cfg.state_dim, hidden=cfg.hidden, activation=cfg.activation))
        self.input_norm = Standardiser(in_dim)
        self.delta_norm = Standardiser(cfg.state_dim)

    def encode(self, state: Tensor, action: Tensor) -> Tensor:
        """The raw network input: state with each angle as (sin, cos), then the action."""
        angles = list(self.cfg.angle_dims)
        others = [d for d in range(self.state_dim) if d not in angles]
        parts = [state[:, others], state[:, angles].sin(), state[:, angles].cos(), action]
        return torch.cat(parts, dim=-1).float()

    def predict_delta(self, state: Tensor, action: Tensor) -> Tensor:
        """The normalised delta (what the loss compares)."""
        return self.net(self.input_norm(self.encode(state, action)))

    def step(self, state: Tensor, action: Tensor) -> Tensor:
        delta = self.delta_norm.inverse(self.predict_delta(state, action))
        return state + delta.to(state.dtype)


@dataclass
class EmulatorTrainConfig:
    """Supervised training of the emulator on one transition set."""

    epochs: int = 20
    batch_size: int = 256
    lr: float = 2e-3
    test_fraction: float = 0.1
    seed: int = 0


@dataclass
class EmulatorReport:
    """Per-epoch train and test MSE (on normalised deltas), and the training time."""

    train_mse: list[float] = field(default_factory=list)
    test_mse: list[float] = field(default_factory=list)
    seconds: float = 0.0


def fit_normalizers(emulator: Emulator, data: Transitions) -> None:
    """Input and target statistics from the training part only (the test part stays unseen)."""
    emulator.input_norm.fit(emulator.encode(data.states, data.actions))
    emulator.delta_norm.fit((data.next_states - data.states).float())


def test_mse(emulator: Emulator, data: Transitions) -> float:
    """Mean squared error of the normalised delta on ``data``."""
    with torch.no_grad():
        target = emulator.delta_norm((data.next_states - data.states).float())
        return float(((emulator.predict_delta(data.states, data.actions) - target) ** 2).mean())


def train_emulator(
    emulator: Emulator,
    data: Transitions,
    config: EmulatorTrainConfig,
    on_epoch: Callable[[int, EmulatorReport], None] | None = None,
) -> EmulatorReport:
    """Fit the normalisers on the train split, then Adam on the MSE of normalised deltas, with a cosine
    learning-rate schedule; the test MSE is measured after every epoch."""
    generator = torch.Generator().manual_seed(config.seed)
    train, test = data.split(config.test_fraction, generator)
    fit_normalizers(emulator, train)
    optimizer = torch.optim.Adam(emulator.net.parameters(), lr=config.lr)
    batches_per_epoch = max(1, len(train) // config.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * batches_per_epoch)
    targets = emulator.delta_norm((train.next_states - train.states).float())
    inputs = emulator.input_norm(emulator.encode(train.states, train.actions))
    report = EmulatorReport()
    start = time.perf_counter()
    for epoch in range(config.epochs):
        order = torch.randperm(len(train), generator=generator)
        total = 0.0
        for b in range(batches_per_epoch):
            index = order[b * config.batch_size : (b + 1) * config.batch_size]
            loss = ((emulator.net(inputs[index]) - targets[index]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach())
        report.train_mse.append(total / batches_per_epoch)
        report.test_mse.append(test_mse(emulator, test))
        if on_epoch is not None:
            on_epoch(epoch, report)
    report.seconds = time.perf_counter() - start
    return report


def open_loop_error(
    emulator: Emulator,
    true_step: Callable[[Tensor, Tensor], Tensor],
    starts: Tensor,
    actions: Tensor,
) -> Tensor:
    """``[T]`` mean absolute state error per step when the emulator runs open loop (fed its own
    predictions) beside the true dynamics, both from ``starts [B, S]`` under ``actions [T, B, A]``."""
    errors = []
    with torch.no_grad():
        model, truth = starts, starts
        for action in actions:
            model, truth = emulator.step(model, action), true_step(truth, action)
            errors.append((model - truth).abs().mean())
    return torch.stack(errors)


def save_emulator(emulator: Emulator, path: str | Path) -> None:
    """Config and weights (normalisers included) in one checkpoint."""
    save_model(path, KIND, asdict(emulator.cfg), emulator)


def load_emulator(path: str | Path) -> Emulator:
    """The emulator ``save_emulator`` wrote."""
    return load_model(path, KIND, lambda config: Emulator(EmulatorConfig(**config)))
