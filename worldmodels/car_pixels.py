"""Small pictures of the kinematic car for pixel world models (the JEPA's car part).

A frame is the env's own drawing (envs/car/render.py) of the car alone, no target, path or obstacles,
shrunk by `shrink_frames` to at most `max_side` pixels. One frame shows where the car is and where it
faces but not how fast it goes, so an observation is two consecutive frames stacked on the channels
(`[H, W, 6]`); a car at rest is a frame stacked with itself.
"""

from __future__ import annotations

import numpy as np

from core.validation import check_positive_int, check_seed
from envs.car.env import KinematicCarEnv
from envs.car.render import VIEW_X, VIEW_Y
from worldmodels.pixel_world_model import shrink_frames

OFF_VIEW_TARGET = (15.0, 15.0)  # the env needs a target; this one is drawn outside the picture
# Random poses for the data: inside the picture, any heading, speeds the planner's episodes see.
POSE_LOW = (VIEW_X[0] + 1.0, VIEW_Y[0] + 1.0, -np.pi, -1.5)
POSE_HIGH = (VIEW_X[1] - 1.0, VIEW_Y[1] - 1.0, np.pi, 2.5)


class CarPictures:
    """Stacked small frames of a car state: `observe(previous_frame, state, steer)`."""

    def __init__(self, env: KinematicCarEnv, max_side: int = 48) -> None:
        from envs.car.render import CarCanvas

        self.max_side = check_positive_int(max_side, "max_side")
        self.canvas = CarCanvas(env.kinematics, env.metadata["render_fps"])
        self.frame_shape = (*self.frame(np.zeros(4), 0.0).shape[:2], 6)

    def frame(self, state: np.ndarray, steer: float) -> np.ndarray:
        """`[H, W, 3]` uint8: the car at `state` (x, y, θ, s) with its front wheels at `steer`."""
        picture = self.canvas.rgb_array(state, steer, OFF_VIEW_TARGET, [], [], None)
        return shrink_frames(picture, self.max_side)

    @staticmethod
    def stack(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        return np.concatenate([previous, current], axis=-1)


def collect_car_sequences(
    env: KinematicCarEnv, pictures: CarPictures, n_sequences: int, length: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """`n_sequences` random-action sequences of `length` steps of the real env, each from a random pose
    and speed in the picture: `frames [N, T+1, H, W, 6]` uint8 (stacked pairs), `actions [N, T, 2]`
    float32 (uniform in the action box) and `states [N, T+1, 4]` (the kinematic state at each stack's
    newer frame). The first stack pairs the frame after one random step with the start's."""
    check_positive_int(n_sequences, "n_sequences")
    check_positive_int(length, "length")
    rng = np.random.default_rng(check_seed(seed))
    low, high = env.action_space.low, env.action_space.high
    frames, actions, states = [], [], []
    for index in range(n_sequences):
        pose = rng.uniform(POSE_LOW, POSE_HIGH)
        env.reset(seed=seed * 1_000_003 + index, options={"state": pose, "target": OFF_VIEW_TARGET})
        previous = pictures.frame(env.state, 0.0)
        seq_frames, seq_actions, seq_states = [], [], []
        for step in range(length + 1):
            action = rng.uniform(low, high).astype(np.float32)
            env.step(action)
            current = pictures.frame(env.state, float(action[0]))
            seq_frames.append(pictures.stack(previous, current))
            seq_states.append(env.state)
            if step:  # the first step only makes the first stack
                seq_actions.append(action)
            previous = current
        frames.append(seq_frames)
        actions.append(seq_actions)
        states.append(seq_states)
    return {
        "frames": np.asarray(frames, dtype=np.uint8),
        "actions": np.asarray(actions, dtype=np.float32),
        "states": np.asarray(states),
    }
