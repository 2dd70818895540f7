"""A truck controller learned by backpropagation through time (Nguyen & Widrow 1990).

The controller C is an MLP from the truck's state to the steering angle. One training episode unfolds
C and a dynamics model T (the true kinematics, or a learned emulator: any :class:`Dynamics`) for k
steps, s_{t+1} = T(s_t, C(s_t)), until each truck reaches the wall, jackknifes, leaves the yard or runs
out of steps. The error is measured at the final state only,

    E = ‖rear(s_k) − (0, target_y)‖² + w_angle · wrap(θ1_k)² (+ w_fold · fold² for a folded truck),

and its gradient flows back through every step to C's weights, the gradients from all k uses of C
summed (backpropagation through time; Kelley 1960, Bryson & Ho 1969). Lessons run from starts near the
dock to the whole yard, each lesson harder once the last is learned, as Nguyen and Widrow trained theirs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from envs.truck.batch import episode_status, rollout, sample_starts
from envs.truck.kinematics import JACKKNIFE_ANGLE, MAX_STEER, YARD_Y, TruckKinematics, wrap_angle
from perception.mlp import MLP, MLPConfig

FOLD_MARGIN = 0.5  # radians: the jackknife term starts at 90° − 29°


@dataclass
class ControllerConfig:
    """The controller network: state features (and the dock target when conditioned) to steering."""

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    target_conditioned: bool = False


class TruckControllerNet(nn.Module):
    """``state [B, 4] (, target_y [B]) -> steering [B, 1]`` in [−π/4, π/4] (u / √(1 + u²) squashes
    the output: unlike tanh, its gradient fades slowly at full lock, so a controller that steers too
    hard still learns to ease off).

    Features: cab and trailer-rear positions scaled to about [−1, 1], with y measured from the dock
    target; each angle as (sin, cos) so a full turn is no jump: the cab's and the trailer's headings,
    the fold between them, and the trailer's heading against the line from the dock to its rear. A
    conditioned controller also sees the target, which tells it where the yard's side walls are.
    """

    def __init__(self, cfg: ControllerConfig, kinematics: TruckKinematics | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.kinematics = kinematics or TruckKinematics()
        in_dim = 12 + int(cfg.target_conditioned)
        self.mlp = MLP(MLPConfig(in_dim, 1, hidden=cfg.hidden, activation=cfg.activation, out_gain=0.1))

    def features(self, state: Tensor, target_y: Tensor | float = 0.0) -> Tensor:
        x, y, theta0, theta1 = state.unbind(-1)
        rear = self.kinematics.trailer_rear(state)
        target = torch.as_tensor(target_y, dtype=state.dtype).expand_as(x)
        rear_x, rear_y = rear[:, 0], rear[:, 1] - target
        # ψ: the direction from the dock to the trailer rear. Backing straight in needs θ1 = ψ, so
        # θ1 − ψ is how far the trailer points off the dock; θ0 − θ1 is the fold between cab and trailer.
        psi = torch.atan2(rear_y, rear_x)
        parts = [
            x / 20 - 1,
            (y - target) / 10,
            rear_x / 20 - 1,
            rear_y / 10,
            theta0.sin(),
            theta0.cos(),
            theta1.sin(),
            theta1.cos(),
            (theta0 - theta1).sin(),
            (theta0 - theta1).cos(),
            (theta1 - psi).sin(),
            (theta1 - psi).cos(),
        ]
        if self.cfg.target_conditioned:
            parts.append(target / YARD_Y[1])
        return torch.stack(parts, dim=-1)

    def forward(self, state: Tensor, target_y: Tensor | float = 0.0) -> Tensor:
        features = self.features(state, target_y).to(self.mlp.net[0].weight.dtype)
        u = self.mlp(features)
        return (MAX_STEER * u * torch.rsqrt(1 + u**2)).to(state.dtype)


@dataclass(frozen=True)
class Lesson:
    """One stage of the curriculum: where starts are drawn, and how many steps the unfolding may take."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    heading_spread: float  # θ1 ~ U[−spread, spread) around backing straight at the wall (π: any heading)
    trailer_offset: float  # θ0 − θ1 ~ U[−offset, offset)
    max_steps: int


def default_lessons() -> tuple[Lesson, ...]:
    """From a few truck lengths off the dock, facing it, to the env's full start distribution."""
    deg = math.pi / 180
    return (
        Lesson((12.0, 16.0), (-2.0, 2.0), 10 * deg, 10 * deg, 150),
        Lesson((12.0, 20.0), (-4.0, 4.0), 30 * deg, 20 * deg, 250),
        Lesson((12.0, 25.0), (-7.0, 7.0), 60 * deg, 45 * deg, 400),
        Lesson((10.0, 30.0), (-10.0, 10.0), 120 * deg, 45 * deg, 700),
        Lesson((10.0, 40.0), (-10.0, 10.0), math.pi, 45 * deg, 1000),
    )


@dataclass
class BPTTConfig:
    """How the controller is trained (defaults: what docks ≥ 95 % of the env's starts).

    A lesson ends once the batch success, averaged over the last ``advance_window`` iterations, reaches
    ``advance_at``, or after ``lesson_iterations``; the last lesson (the env's full start distribution)
    takes every iteration left.
    """

    batch_size: int = 128
    lr: float = 3e-3  # on the first lesson; see train_controller
    grad_clip: float = 1.0
    angle_weight: float = 30.0  # squared distance units per squared radian: 10° weighs about 1 unit
    jackknife_weight: float = 100.0  # squared distance units per squared radian of fold (see below)
    # Each step back in time scales the gradient by this factor (1: plain BPTT). Backing a trailer is
    # unstable, so the final error's sensitivity to early steering grows with the distance travelled and
    # would drown the well-conditioned gradient of the last steps; decaying it keeps them in balance.
    gradient_decay: float = 1.0
    lesson_iterations: int = 45
    advance_at: float = 0.9
    advance_window: int = 5
    # The loss is mean √E: each truck's gradient is ∇E / 2√E, so a few trucks far off (whose E and
    # gradient are huge) cannot drown the rest, yet a jackknife still counts; "linear" minimises mean E.
    loss: str = "sqrt"
    target_range: tuple[float, float] = (0.0, 0.0)  # dock targets drawn from U[range] (conditioned)
    seed: int = 0
    lessons: tuple[Lesson, ...] = field(default_factory=default_lessons)


def final_state_error(
    kinematics: TruckKinematics,
    state: Tensor,
    target_y: Tensor | float,
    angle_weight: float,
    jackknife_weight: float,
) -> Tensor:
    """``[B]`` E = squared distance of the trailer rear to the dock + w · wrap(θ1)² (+ jackknife term)."""
    rear = kinematics.trailer_rear(state)
    distance2 = rear[:, 0] ** 2 + (rear[:, 1] - target_y) ** 2
    angle2 = wrap_angle(state[:, 3]) ** 2
    # How far cab and trailer folded beyond FOLD_MARGIN short of a jackknife: a jackknifed truck ends
    # with fold ≥ FOLD_MARGIN, and this term's gradient (not its distance's) tells it to unfold.
    fold = torch.relu(wrap_angle(state[:, 2] - state[:, 3]).abs() - (JACKKNIFE_ANGLE - FOLD_MARGIN))
    return distance2 + angle_weight * angle2 + jackknife_weight * fold**2


def unfold(
    controller: TruckControllerNet,
    dynamics: Callable[[Tensor, Tensor], Tensor],
    starts: Tensor,
    target_y: Tensor | float,
    max_steps: int,
    kinematics: TruckKinematics,
    gradient_decay: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """Run controller + dynamics from ``starts`` until every truck's episode ends (the env's rules,
    judged on the predicted state) or ``max_steps``; returns the final states (differentiable) and the
    step counts."""
    state = starts
    done = torch.zeros(len(starts), dtype=torch.bool)
    steps = torch.zeros(len(starts), dtype=torch.long)
    for _ in range(max_steps):
        if gradient_decay < 1.0:  # same value; the gradient through it is scaled by gradient_decay
            state = gradient_decay * state + (1 - gradient_decay) * state.detach()
        moved = dynamics(state, controller(state, target_y))
        state = torch.where(done[:, None], state, moved)
        steps += (~done).long()
        with torch.no_grad():
            done = done | episode_status(kinematics, state.detach(), target_y).done
        if bool(done.all()):
            break
    return state, steps


@dataclass
class TrainLog:
    """What training did: per iteration, the lesson, the mean final error and the success on its batch
    (judged on the final states of the dynamics trained through)."""

    lesson: list[int] = field(default_factory=list)
    error: list[float] = field(default_factory=list)
    success: list[float] = field(default_factory=list)
    model_steps: int = 0  # dynamics steps taken while unfolding
    seconds: float = 0.0

    @property
    def current_lesson(self) -> int:
        return self.lesson[-1] if self.lesson else 0

    def iterations_in_lesson(self) -> int:
        return sum(1 for number in self.lesson if number == self.current_lesson)


def _next_lesson(log: TrainLog, config: BPTTConfig) -> int:
    """The lesson the next iteration trains on."""
    number = log.current_lesson
    if number == len(config.lessons) - 1 or not log.lesson:
        return number
    recent = log.success[-config.advance_window :]
    learned = len(recent) == config.advance_window and sum(recent) / len(recent) >= config.advance_at
    in_lesson = log.iterations_in_lesson()
    if (learned and in_lesson >= config.advance_window) or in_lesson >= config.lesson_iterations:
        return number + 1
    return number


def train_controller(
    controller: TruckControllerNet,
    dynamics: Callable[[Tensor, Tensor], Tensor],
    config: BPTTConfig,
    iterations: int,
    log: TrainLog | None = None,
    on_iteration: Callable[[int, TrainLog], None] | None = None,
) -> TrainLog:
    """Train ``controller`` in place for ``iterations`` gradient steps by BPTT through ``dynamics`` (the
    true kinematics' ``step`` or an emulator's), lesson after lesson, going on from ``log``'s lesson."""
    kinematics = controller.kinematics
    log = log or TrainLog()
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(controller.parameters(), lr=config.lr)
    dtype = controller.mlp.net[0].weight.dtype
    start_time = time.perf_counter()
    for iteration in range(1, iterations + 1):
        number = _next_lesson(log, config)
        lesson = config.lessons[number]
        # Longer unfoldings give larger, noisier gradients: the step size shrinks as 1/√(max steps).
        for group in optimizer.param_groups:
            group["lr"] = config.lr * math.sqrt(config.lessons[0].max_steps / lesson.max_steps)
        starts = sample_starts(
            config.batch_size,
            generator,
            x_range=lesson.x_range,
            y_range=lesson.y_range,
            heading_spread=lesson.heading_spread,
            trailer_offset=lesson.trailer_offset,
            kinematics=kinematics,
        ).to(dtype)
        low, high = config.target_range  # a controller for one dock has low = high
        target = low + (high - low) * torch.rand(config.batch_size, generator=generator, dtype=dtype)
        final, steps = unfold(
            controller, dynamics, starts, target, lesson.max_steps, kinematics, config.gradient_decay
        )
        error = final_state_error(kinematics, final, target, config.angle_weight, config.jackknife_weight)
        loss = (error + 1e-6).sqrt().mean() if config.loss == "sqrt" else error.mean()
        optimizer.zero_grad()
        loss.backward()  # E's gradient, summed over every step's use of the controller
        nn.utils.clip_grad_norm_(controller.parameters(), config.grad_clip)
        optimizer.step()

        with torch.no_grad():
            docked = episode_status(kinematics, final.detach().double(), target.double()).docked
        log.lesson.append(number)
        log.error.append(float(error.detach().mean()))
        log.success.append(float(docked.double().mean()))
        log.model_steps += int(steps.sum())
        if on_iteration is not None:
            on_iteration(iteration, log)
    log.seconds += time.perf_counter() - start_time
    return log


def success_rate(
    controller: TruckControllerNet,
    starts: Tensor,
    target_y: Tensor | float = 0.0,
    max_steps: int = 1000,
) -> float:
    """Fraction of ``starts`` the controller docks on the true kinematics, judged by the env's rules."""

    def policy(state: Tensor) -> Tensor:
        return controller(state, target_y)

    return rollout(policy, starts, controller.kinematics, target_y, max_steps).success_rate
