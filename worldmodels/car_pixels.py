"""Small pictures of the kinematic car for pixel world models (the JEPA's car part).

A frame is the env's own drawing (envs/car/render.py) of the car alone, no target, path or obstacles,
with a disc on its nose (so its front shows),
shrunk by `shrink_frames` to at most `max_side` pixels. One frame shows where the car is and where it
faces but not how fast it goes, so an observation is two consecutive frames stacked on the channels
(`[H, W, 6]`); a car at rest is a frame stacked with itself.
"""

from __future__ import annotations

import numpy as np

from core.errors import UserError
from core.validation import check_positive_int, check_seed
from envs.car.env import KinematicCarEnv
from envs.car.render import GROUND, OVERHANG, PX_PER_UNIT, VIEW_X, VIEW_Y, CarCanvas
from worldmodels.pixel_world_model import shrink_frames

OFF_VIEW_TARGET = (15.0, 15.0)  # the env needs a target; this one is drawn outside the picture
SPEEDS = (-1.0, 1.5)  # the data's start speeds (m/s): those the planner's episodes see
NOSE, NOSE_RADIUS = (250, 210, 40), 0.25  # a yellow disc (metres) at the front of the body
MARGIN = 0.5  # the data's start positions lie this far inside the view


class NosedCarCanvas(CarCanvas):
    """The env's drawing of the car with a yellow disc on its nose, on plain ground (no grid lines). The
    body is a rectangle, so without the disc a car facing left looks much like one facing right, and
    which way an acceleration moves it (and the sign of its speed) hardly shows in a small picture."""

    def _draw_background(self):
        surface = self._pygame.Surface(self.size)
        surface.fill(GROUND)
        return surface

    def _draw_car(self, frame, state: np.ndarray, steer: float) -> None:
        super()._draw_car(frame, state, steer)
        x, y, theta = (float(v) for v in state[:3])
        reach = self._kinematics.wheelbase + OVERHANG - NOSE_RADIUS
        nose = self._px((x + reach * np.cos(theta), y + reach * np.sin(theta)))
        self._pygame.draw.circle(frame, NOSE, nose, NOSE_RADIUS * PX_PER_UNIT)


class CarPictures:
    """Stacked small frames of a car state. `view = ((x0, x1), (y0, y1))` (metres, inside the env's
    picture) crops the drawing to that window before it is shrunk, so a smaller work area gets more pixels
    per metre; by default the whole picture."""

    def __init__(
        self,
        env: KinematicCarEnv,
        max_side: int = 48,
        view: tuple[tuple[float, float], tuple[float, float]] | None = None,
    ) -> None:
        self.max_side = check_positive_int(max_side, "max_side")
        self.view = (VIEW_X, VIEW_Y) if view is None else (tuple(view[0]), tuple(view[1]))
        (x0, x1), (y0, y1) = self.view
        if not (VIEW_X[0] <= x0 < x1 <= VIEW_X[1] and VIEW_Y[0] <= y0 < y1 <= VIEW_Y[1]):
            raise UserError(f"view {view} must be a window inside the picture {VIEW_X} x {VIEW_Y}")
        self._rows = slice(round((VIEW_Y[1] - y1) * PX_PER_UNIT), round((VIEW_Y[1] - y0) * PX_PER_UNIT))
        self._cols = slice(round((x0 - VIEW_X[0]) * PX_PER_UNIT), round((x1 - VIEW_X[0]) * PX_PER_UNIT))
        self.canvas = NosedCarCanvas(env.kinematics, env.metadata["render_fps"])
        self.frame_shape = (*self.frame(np.zeros(4), 0.0).shape[:2], 6)

    def frame(self, state: np.ndarray, steer: float) -> np.ndarray:
        """`[H, W, 3]` uint8: the car at `state` (x, y, θ, s) with its front wheels at `steer`."""
        picture = self.canvas.rgb_array(state, steer, OFF_VIEW_TARGET, [], [], None)
        return shrink_frames(picture[self._rows, self._cols], self.max_side)

    def inside(self, state: np.ndarray, margin: float = 0.0) -> bool:
        """Whether the rear axle of `state` lies in the view, at least `margin` metres from its edges."""
        (x0, x1), (y0, y1) = self.view
        x, y = float(state[0]), float(state[1])
        return x0 + margin < x < x1 - margin and y0 + margin < y < y1 - margin

    @staticmethod
    def stack(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        return np.concatenate([previous, current], axis=-1)


def drive(env: KinematicCarEnv, action: np.ndarray, repeat: int) -> None:
    """Hold `action` for `repeat` steps of the env (one model step)."""
    for _ in range(repeat):
        env.step(action)


def collect_car_sequences(
    env: KinematicCarEnv,
    pictures: CarPictures,
    n_sequences: int,
    length: int,
    seed: int = 0,
    repeat: int = 1,
) -> dict[str, np.ndarray]:
    """`n_sequences` random-action sequences of `length` steps of the real env, each from a random pose
    and speed in the picture, kept only if the car stays in the picture: `frames [N, T+1, H, W, 6]`
    uint8 (stacked pairs), `actions [N, T, 2]` float32 (uniform in the action box) and
    `states [N, T+1, 4]` (the kinematic state at each stack's newer frame). The first stack pairs the
    frame after one random action with the start's. Each action is held for `repeat` env steps and a
    frame taken once per action (action repeat, as PlaNet's): a model step then moves the car several
    pixels, and the pair shows its speed plainly."""
    check_positive_int(n_sequences, "n_sequences")
    check_positive_int(repeat, "repeat")
    check_positive_int(length, "length")
    rng = np.random.default_rng(check_seed(seed))
    low, high = env.action_space.low, env.action_space.high
    (x0, x1), (y0, y1) = pictures.view
    low_pose = (x0 + MARGIN, y0 + MARGIN, -np.pi, SPEEDS[0])
    high_pose = (x1 - MARGIN, y1 - MARGIN, np.pi, SPEEDS[1])
    frames, actions, states = [], [], []
    while len(frames) < n_sequences:
        pose = rng.uniform(low_pose, high_pose)
        env.reset(seed=seed * 1_000_003 + len(frames), options={"state": pose, "target": OFF_VIEW_TARGET})
        seq_states, seq_actions = [env.state], []
        for _ in range(length + 1):
            seq_actions.append(rng.uniform(low, high).astype(np.float32))
            drive(env, seq_actions[-1], repeat)
            seq_states.append(env.state)
        if not all(pictures.inside(state) for state in seq_states):
            continue  # the car left the picture: draw another sequence
        pictured = [pictures.frame(seq_states[0], 0.0)]
        moves = zip(seq_states[1:], seq_actions, strict=True)
        pictured += [pictures.frame(state, float(action[0])) for state, action in moves]
        frames.append([pictures.stack(*pair) for pair in zip(pictured[:-1], pictured[1:], strict=True)])
        actions.append(seq_actions[1:])  # the first action only makes the first stack
        states.append(seq_states[1:])
    return {
        "frames": np.asarray(frames, dtype=np.uint8),
        "actions": np.asarray(actions, dtype=np.float32),
        "states": np.asarray(states),
    }
