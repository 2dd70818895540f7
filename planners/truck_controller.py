"""A truck controller learned by backpropagation through time (Nguyen & Widrow 1990).

The controller C is an MLP from the truck's state to the steering angle: by default through a fold
reference β* that a fixed law tracks (:mod:`planners.fold_tracking`), which takes backing's jackknife
instability out of the unfolded system; the MLP may also give the angle itself. One training episode
unfolds C and a dynamics model T (the true kinematics, or a learned emulator: any :class:`Dynamics`) for k
steps, s_{t+1} = T(s_t, C(s_t)), until each truck reaches the wall, jackknifes, leaves the yard or runs
out of steps. The error is measured at the final state,

    E = ‖rear(s_k) − (0, target_y)‖² + w_angle · wrap(θ1_k)² (+ w_fold · fold² for a folded truck),

and its gradient flows back through every step to C's weights, the gradients from all k uses of C
summed (backpropagation through time; Kelley 1960, Bryson & Ho 1969). Lessons run from starts near the
dock to the whole yard, each lesson harder once the last is learned, as Nguyen and Widrow trained theirs.

Two constraint terms join E, because a crossing has no gradient: in training the yard's walls are soft
(a truck that leaves the yard drives on, and E grows with its summed squared excursion), and E grows with
the summed squared fold beyond 61° along the path (a jackknife is charged where it builds up; for a
steering controller). The env's rules are unchanged: validation and evaluation judge by them.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from core.errors import UserError
from envs.truck.batch import episode_status, rollout, sample_starts
from envs.truck.kinematics import (
    JACKKNIFE_ANGLE,
    MAX_STEER,
    YARD_X,
    YARD_Y,
    TruckKinematics,
    wrap_angle,
)
from perception.mlp import MLP, MLPConfig
from planners.fold_tracking import FoldTracking

FOLD_MARGIN = 0.5  # radians: the jackknife term starts at 90° − 29°
YARD_MARGIN = 1.0  # how far outside the soft yard a truck may drive on in training
VALIDATION_SEED = 7919  # added to the training seed: the validation starts' generator


CONTROLLER_OUTPUTS = ("steering", "fold")


@dataclass
class ControllerConfig:
    """The controller network: state features (and the dock target when conditioned) to steering.

    ``output`` = "steering": the MLP gives the steering angle itself. "fold": it gives a fold reference
    β* within ±``max_fold`` and the fold-tracking law (:class:`planners.fold_tracking.FoldTracking`,
    ``fold_rate``) turns it into the steering angle, so the unfolded truck is stable (no jackknife to
    catch) and the gradient through hundreds of steps stays well conditioned.
    """

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    target_conditioned: bool = False
    output: str = "fold"
    max_fold: float = 1.35  # radians (77°): short of the 90° jackknife
    fold_rate: float = 1.0

    def __post_init__(self) -> None:
        self.hidden = tuple(self.hidden)
        if self.output not in CONTROLLER_OUTPUTS:
            raise UserError(f"output must be one of {CONTROLLER_OUTPUTS}; got {self.output!r}")
        if not 0 < self.max_fold < JACKKNIFE_ANGLE:
            raise UserError(f"max_fold must be in (0, π/2) radians; got {self.max_fold}")


class TruckControllerNet(nn.Module):
    """``state [B, 4] (, target_y [B]) -> steering [B, 1]`` in [−π/4, π/4]: the MLP's output u, squashed
    by u / √(1 + u²) (unlike tanh, its gradient fades slowly at the bound, so a controller that steers
    too hard still learns to ease off), is the steering angle or a fold reference (``cfg.output``).

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
        self.tracking = FoldTracking(self.kinematics, cfg.fold_rate, self.kinematics)

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
        squashed = (u * torch.rsqrt(1 + u**2)).to(state.dtype)
        if self.cfg.output == "fold":
            return self.tracking.steering(state, self.cfg.max_fold * squashed)
        return MAX_STEER * squashed


@dataclass(frozen=True)
class Lesson:
    """One stage of the curriculum: where starts are drawn, and how many steps the unfolding may take."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]  # around the dock target (the last lesson's: the yard's, as the env's)
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
    """How the controller is trained (defaults: the benchmark's).

    A lesson ends once the batch success, averaged over the last ``advance_window`` iterations, reaches
    ``advance_at``, or after ``lesson_iterations``; the last lesson (the env's full start distribution)
    takes every iteration left.
    """

    batch_size: int = 256  # a step costs little more than at 128 (per-op overhead): a steadier gradient
    lr: float = 3e-3  # on the first lesson; see train_controller
    grad_clip: float = 1.0
    angle_weight: float = 30.0  # squared distance units per squared radian: 10° weighs about 1 unit
    jackknife_weight: float = 100.0  # squared distance units per squared radian of fold (see below)
    # Each step back in time scales the gradient by this factor (1: plain BPTT). Backing a trailer is
    # unstable, so the final error's sensitivity to early steering grows with the distance travelled and
    # would drown the well-conditioned gradient of the last steps; decaying it keeps them in balance.
    gradient_decay: float = 1.0
    # 0: a truck's unfolding ends where it leaves the yard, as its episode does. > 0: the yard's walls
    # are soft in training, the truck drives on and E grows by yard_weight · its summed squared
    # excursion, whose gradient says which way to stay inside (an edge's crossing has no gradient). At
    # 100 the excursion weighs against a squared distance to the dock of hundreds of units.
    yard_weight: float = 100.0
    # E grows by strain_weight · the summed squared fold excess along the path: each step near a
    # jackknife is charged where it happens, not only through the final state. A steering controller
    # needs it (10 cut its jackknifes five-fold); a fold controller cannot jackknife, and folds up to
    # its max_fold, beyond where this term starts, turn the trailer tightest.
    strain_weight: float = 0.0
    lesson_iterations: int = 45
    advance_at: float = 0.9
    advance_window: int = 5
    # The loss is mean √E: each truck's gradient is ∇E / 2√E, so a few trucks far off (whose E and
    # gradient are huge) cannot drown the rest, yet a jackknife still counts; "linear" minimises mean E.
    loss: str = "sqrt"
    # On the last lesson the step size decays (cosine) to this fraction of its start by the last
    # iteration, and every ``validate_every`` iterations the controller is scored on a fixed set of
    # ``validation_size`` starts of the last lesson, unfolded through the same dynamics; the best
    # weights are kept. One batch's success jumps about; the best of a few checkpoints is steadier.
    final_lr_fraction: float = 0.1
    validate_every: int = 10  # 0: no validation, the last weights are kept
    validation_size: int = 256
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
    # A jackknifed truck ends with a fold excess ≥ FOLD_MARGIN, and this term's gradient (not its
    # distance's) tells it to unfold.
    return distance2 + angle_weight * angle2 + jackknife_weight * fold_excess(state) ** 2


def yard_excursion(kinematics: TruckKinematics, state: Tensor) -> Tensor:
    """``[B]`` squared distances by which the cab front and the trailer rear lie outside the yard (the
    trailer rear crossing x = 0 is the arrival at the dock wall, not an excursion)."""
    front, rear = kinematics.cab_front(state), kinematics.trailer_rear(state)
    points = torch.stack((front, rear), dim=1)  # [B, 2, 2]
    far = torch.relu(points[..., 0] - YARD_X[1])
    side = torch.relu(YARD_Y[0] - points[..., 1]) + torch.relu(points[..., 1] - YARD_Y[1])
    return (far**2 + side**2).sum(-1) + torch.relu(YARD_X[0] - front[:, 0]) ** 2


def fold_excess(state: Tensor) -> Tensor:
    """``[B]`` how far cab and trailer fold beyond FOLD_MARGIN short of a jackknife (radians, ≥ 0)."""
    return torch.relu(wrap_angle(state[:, 2] - state[:, 3]).abs() - (JACKKNIFE_ANGLE - FOLD_MARGIN))


def unfold(
    controller: TruckControllerNet,
    dynamics: Callable[[Tensor, Tensor], Tensor],
    starts: Tensor,
    target_y: Tensor | float,
    max_steps: int,
    kinematics: TruckKinematics,
    gradient_decay: float = 1.0,
    soft_yard: bool = False,
    path_strain: bool = True,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Run controller + dynamics from ``starts`` until every truck's episode ends (the env's rules,
    judged on the predicted state) or ``max_steps``; returns the final states, the step counts, and
    per truck its summed yard excursion and summed squared fold excess along the way (differentiable).

    With ``soft_yard`` leaving the yard ends the unfolding only YARD_MARGIN outside: until then the
    truck drives on, and its summed excursion (see :func:`yard_excursion`) says how far out it went.
    Without ``path_strain`` the fold excess is not summed (its sums stay 0): a step's cost is mostly the
    backward pass's per-op overhead, and a term that is weighted 0 only adds to it.

    Only the trucks still going are stepped: episodes differ in length by hundreds of steps, and a
    finished truck's result is set aside (its index and values) the step it ends."""
    n = len(starts)
    targets = torch.as_tensor(target_y, dtype=starts.dtype).expand(n)
    index = torch.arange(n)  # the trucks still going, and their state and running sums
    state = starts
    excursion = torch.zeros(n, dtype=starts.dtype)
    strain = torch.zeros(n, dtype=starts.dtype)
    ended_parts: list[tuple[Tensor, Tensor, Tensor, Tensor, Tensor]] = []
    for step in range(max_steps):
        if gradient_decay < 1.0:  # same value; the gradient through it is scaled by gradient_decay
            state = gradient_decay * state + (1 - gradient_decay) * state.detach()
        target = targets[index]
        state = dynamics(state, controller(state, target))
        with torch.no_grad():
            status = episode_status(kinematics, state.detach(), target)
            ended = status.done
        if soft_yard:
            outside = yard_excursion(kinematics, state)
            excursion = excursion + outside
            # Only a truck that went more than YARD_MARGIN out is stopped (its excursion stays bounded).
            ended = status.jackknife | status.at_wall | (outside.detach() > YARD_MARGIN**2)
        if path_strain:
            strain = strain + fold_excess(state) ** 2
        if step == max_steps - 1:
            ended = torch.ones_like(ended)
        if bool(ended.any()):
            steps = torch.full((int(ended.sum()),), step + 1)  # every truck still going started together
            ended_parts.append((index[ended], state[ended], steps, excursion[ended], strain[ended]))
            going = ~ended
            index, state = index[going], state[going]
            excursion, strain = excursion[going], strain[going]
        if len(index) == 0:
            break
    order, *parts = (torch.cat(part) for part in zip(*ended_parts, strict=True))
    final_state, final_steps, final_excursion, final_strain = (
        torch.zeros_like(part).index_copy(0, order, part) for part in parts
    )
    return final_state, final_steps, final_excursion, final_strain


@dataclass
class TrainLog:
    """What training did: per iteration, the lesson, the mean final error and the success on its batch
    (judged on the final states of the dynamics trained through), and the validation scores."""

    lesson: list[int] = field(default_factory=list)
    error: list[float] = field(default_factory=list)
    success: list[float] = field(default_factory=list)
    validation: list[tuple[int, float]] = field(default_factory=list)  # (iterations done, success)
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


def _draw(
    config: BPTTConfig, lesson: Lesson, n: int, generator: torch.Generator, controller: TruckControllerNet
) -> tuple[Tensor, Tensor]:
    """``n`` starts of ``lesson`` and their dock targets, in the controller's dtype. A lesson's y range
    is measured from the dock target, except the last lesson's: the env's starts ignore the target."""
    kinematics = controller.kinematics
    low, high = config.target_range  # a controller for one dock has low = high
    starts, targets = torch.empty(0, 4, dtype=torch.float64), torch.empty(0, dtype=torch.float64)
    while len(starts) < n:
        more = sample_starts(
            n - len(starts),
            generator,
            x_range=lesson.x_range,
            y_range=lesson.y_range,
            heading_spread=lesson.heading_spread,
            trailer_offset=lesson.trailer_offset,
            kinematics=kinematics,
        )
        target = low + (high - low) * torch.rand(len(more), generator=generator, dtype=torch.float64)
        if lesson != config.lessons[-1]:
            more[:, 1] += target
        inside = kinematics.in_yard(more)
        starts, targets = torch.cat((starts, more[inside])), torch.cat((targets, target[inside]))
    dtype = controller.mlp.net[0].weight.dtype
    return starts.to(dtype), targets.to(dtype)


@torch.no_grad()
def unfolded_success(
    controller: TruckControllerNet,
    dynamics: Callable[[Tensor, Tensor], Tensor],
    starts: Tensor,
    target_y: Tensor | float,
    max_steps: int,
) -> float:
    """Fraction of ``starts`` docked when controller and ``dynamics`` are unfolded (the env's rules judged
    on the predicted states): the score training can compute without the true system."""
    final, *_ = unfold(
        controller, dynamics, starts, target_y, max_steps, controller.kinematics, path_strain=False
    )
    target = torch.as_tensor(target_y, dtype=torch.float64)
    return float(episode_status(controller.kinematics, final.double(), target).docked.double().mean())


def train_controller(
    controller: TruckControllerNet,
    dynamics: Callable[[Tensor, Tensor], Tensor],
    config: BPTTConfig,
    iterations: int,
    log: TrainLog | None = None,
    on_iteration: Callable[[int, TrainLog], bool | None] | None = None,
) -> TrainLog:
    """Train ``controller`` in place for ``iterations`` gradient steps by BPTT through ``dynamics`` (the
    true kinematics' ``step`` or an emulator's), lesson after lesson, going on from ``log``'s lesson.
    With validation on, the controller ends with the best validated weights of the last lesson.
    ``on_iteration(iteration, log)`` runs after each; training stops early when it returns False."""
    kinematics = controller.kinematics
    log = log or TrainLog()
    generator = torch.Generator().manual_seed(config.seed)
    last = config.lessons[-1]
    validation = _draw(
        config,
        last,
        config.validation_size,
        torch.Generator().manual_seed(config.seed + VALIDATION_SEED),
        controller,
    )
    best_success, best_weights = -1.0, None
    optimizer = torch.optim.Adam(controller.parameters(), lr=config.lr)
    start_time = time.perf_counter()
    last_start = None  # this call's first iteration on the last lesson
    for iteration in range(1, iterations + 1):
        number = _next_lesson(log, config)
        lesson = config.lessons[number]
        # Longer unfoldings give larger, noisier gradients: the step size shrinks as 1/√(max steps).
        lr = config.lr * math.sqrt(config.lessons[0].max_steps / lesson.max_steps)
        if number == len(config.lessons) - 1:
            last_start = last_start or iteration
            progress = (iteration - last_start) / max(1, iterations - last_start)
            lr *= config.final_lr_fraction + (1 - config.final_lr_fraction) * 0.5 * (
                1 + math.cos(math.pi * progress)
            )
        for group in optimizer.param_groups:
            group["lr"] = lr
        starts, target = _draw(config, lesson, config.batch_size, generator, controller)
        final, steps, excursion, strain = unfold(
            controller,
            dynamics,
            starts,
            target,
            lesson.max_steps,
            kinematics,
            config.gradient_decay,
            soft_yard=config.yard_weight > 0,
            path_strain=config.strain_weight > 0,
        )
        error = final_state_error(kinematics, final, target, config.angle_weight, config.jackknife_weight)
        error = error + config.yard_weight * excursion + config.strain_weight * strain
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
        if (
            config.validate_every
            and last_start is not None
            and (iteration == iterations or (iteration - last_start) % config.validate_every == 0)
        ):
            score = unfolded_success(controller, dynamics, *validation, last.max_steps)
            log.validation.append((len(log.lesson), score))
            if score > best_success:
                best_success, best_weights = score, copy.deepcopy(controller.state_dict())
        if on_iteration is not None and on_iteration(iteration, log) is False:
            break
    if best_weights is not None:
        controller.load_state_dict(best_weights)
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


def failure_breakdown(
    controller: TruckControllerNet,
    starts: Tensor,
    target_y: Tensor | float = 0.0,
    max_steps: int = 1000,
) -> dict[str, dict[str, int]]:
    """How the episodes from ``starts`` end on the true kinematics (``docked``, ``jackknife``,
    ``missed_dock``, ``left_yard``, ``time_limit``: the env's reasons), counted per start heading: the
    trailer backing ``towards`` the dock wall (|θ1| < 60°), ``away`` from it (|θ1| > 120°) or ``across``."""
    kinematics = controller.kinematics
    end = rollout(lambda state: controller(state, target_y), starts, kinematics, target_y, max_steps)
    status = episode_status(kinematics, end.final_state, target_y)
    reason = torch.full((len(starts),), 4)  # time_limit
    reason[status.done & ~status.jackknife & ~status.at_wall] = 3  # left_yard
    reason[status.at_wall] = 2  # missed_dock, or docked (below)
    reason[end.jackknife] = 1
    reason[end.docked] = 0
    names = ("docked", "jackknife", "missed_dock", "left_yard", "time_limit")
    heading = wrap_angle(starts[:, 3]).abs()
    classes = {
        "towards": heading < math.pi / 3,
        "across": (heading >= math.pi / 3) & (heading <= 2 * math.pi / 3),
        "away": heading > 2 * math.pi / 3,
    }
    return {
        label: {name: int((members & (reason == i)).sum()) for i, name in enumerate(names)}
        for label, members in classes.items()
    }
