"""Temporal-order classification with the transformer: are these frames in the order they were seen?

The pretext task of Shuffle and Learn (Misra et al. 2016): short clips of consecutive frames from an
env, half of them kept in order (label 1) and half shuffled (label 0). A shuffle is any permutation
but the identity and the reversal: a random walk played backwards is as likely as forwards, so
reversed clips would be unlearnable noise in the labels. Solving the task needs the model to relate
frames to each other in time, which a bag of tokens cannot: positions are what it must use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import permutations
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor, nn

from core.errors import UserError
from core.rundir import RunDir
from core.seeding import seed_everything
from core.validation import check_positive_int, check_seed
from perception import Transformer, TransformerConfig
from supervised.classify import classification_loss
from supervised.data import ArrayDataset
from supervised.trainer import Trainer, TrainerConfig, record_config

MAX_STILL_STEPS = 1000  # unchanged frames in a row before order_dataset gives up on the env


def shuffles(length: int) -> list[tuple[int, ...]]:
    """Every permutation of `length` items except the identity and the reversal."""
    identity = tuple(range(length))
    return [p for p in permutations(identity) if p not in (identity, identity[::-1])]


def order_dataset(
    env_factory: Callable[[], gym.Env], n: int, length: int = 4, seed: int = 0, hold: float = 0.75
) -> ArrayDataset:
    """`n` clips `[length, H * W * C]` of consecutive frames under a random policy, in [0, 1].

    The policy keeps its last action with probability `hold` and otherwise draws a new one uniformly, and
    a frame equal to the one before it (a bump into a wall) is left out of the clip. Under a uniformly
    random policy a grid agent keeps stepping back and standing still, and many shuffles of its clips
    are walks it could have made themselves: on open-5x5, 46 % of the shuffles of a 4-frame clip move
    at most one cell per frame, so no model can beat about 77 %. Holding actions (runs of 4 steps on
    average) and dropping still frames leaves 14 % such shuffles (over 93 % reachable).
    Clips never straddle an episode's end. Labels alternate 1 (in order) and 0 (shuffled), so the
    classes are balanced; everything is drawn from `seed`.
    """
    n, seed = check_positive_int(n, "n"), check_seed(seed)
    if check_positive_int(length, "length") < 3:
        raise UserError(
            f"a clip needs at least 3 frames to have a shuffle that is not a reversal, got {length}"
        )
    if not 0 <= hold < 1:
        raise UserError(f"hold must be a probability in [0, 1) (1 never changes action), got {hold!r}")
    rng = np.random.default_rng(seed)
    orders = shuffles(length)
    env = env_factory()
    try:
        space = env.observation_space
        if not (isinstance(space, gym.spaces.Box) and space.dtype == np.uint8):
            raise UserError(f"order_dataset needs uint8 image observations, got {space}")
        env.action_space.seed(seed)
        clips = np.empty((n, length, int(np.prod(space.shape))), dtype=np.uint8)
        labels = np.arange(n) % 2 == 0  # 1, 0, 1, 0, ...
        obs, _ = env.reset(seed=seed)
        clip: list[np.ndarray] = [obs]
        action = env.action_space.sample()
        i, still = 0, 0
        while i < n:
            if rng.random() >= hold:
                action = env.action_space.sample()
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
                clip = [obs]
                continue
            if clip and np.array_equal(obs, clip[-1]):
                still += 1
                if still > MAX_STILL_STEPS:
                    raise UserError(f"the frames stopped changing for {MAX_STILL_STEPS} steps in a row")
                continue
            clip.append(obs)
            still = 0
            if len(clip) == length:
                order = range(length) if labels[i] else orders[rng.integers(len(orders))]
                clips[i] = np.stack([clip[j].reshape(-1) for j in order])
                clip, i = [], i + 1
    finally:
        env.close()
    return ArrayDataset(clips / np.float32(255.0), labels.astype(np.int64))


@dataclass
class OrderConfig:
    """The clip classifier: each frame one token (projected linearly from its pixels), a [CLS] token read
    by a linear head with 2 outputs. Positions are sinusoidal: a fixed table the training cannot shrink,
    while the task is all about positions."""

    dim: int = 64
    depth: int = 2
    heads: int = 4
    dropout: float = 0.1

    def __post_init__(self) -> None:
        for name in ("dim", "depth", "heads"):
            check_positive_int(getattr(self, name), name)


class OrderClassifier(nn.Module):
    """`clips [B, length, frame_dim] -> logits [B, 2]`: normalised frames, one token each, a Transformer.

    Frames of one env differ in a few pixels (where the agent is) on a large common background, so the
    training frames' per-pixel mean is subtracted (otherwise the shared background swamps every token)
    and the result divided by one number, the frames' total standard deviation, which gives a centred
    frame unit expected squared norm (buffers, saved with the weights). Dividing each pixel by its own
    standard deviation instead blows up the pixels the agent rarely visits (up to 19 sigma on open-5x5):
    tokens come from vectors of norm ~40, every Adam step on the wide projection moves them by a lot,
    and the model stayed near chance (48 % at a learning rate of 1e-3, 69 % at 3e-4, against 87 % with
    this scale at 1e-3, 20 epochs on 3,200 clips).
    """

    def __init__(self, cfg: OrderConfig, length: int, frame_dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(frame_dim))
        self.register_buffer("scale", torch.ones(()))
        self.transformer = Transformer(
            TransformerConfig(
                dim=cfg.dim,
                depth=cfg.depth,
                heads=cfg.heads,
                dropout=cfg.dropout,
                max_len=length,
                in_dim=frame_dim,
                n_outputs=2,
                pool="cls",
                positions="sinusoidal",
            )
        )

    def fit_normalisation(self, clips: np.ndarray) -> None:
        """Set the per-pixel mean and the total standard deviation from training clips
        `[N, length, frame_dim]` (the scale is 1 if every frame is the same)."""
        frames = torch.from_numpy(clips.reshape(-1, clips.shape[-1]))
        self.mean.copy_(frames.mean(0))
        total = float(frames.var(0, correction=0).sum().sqrt())
        self.scale.fill_(total if total > 0 else 1.0)

    def forward(self, clips: Tensor) -> Tensor:
        return self.transformer((clips - self.mean) / self.scale)


def train_order_classifier(
    data: ArrayDataset,
    cfg: TrainerConfig,
    model_cfg: OrderConfig | None = None,
    test_fraction: float = 0.2,
    run_dir: RunDir | None = None,
    resume: bool = False,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train the clip classifier on a stratified split of `data` (from `order_dataset`); return it and its
    test metrics (chance is 0.5). `resume` continues from `run_dir`'s checkpoint (see Trainer.fit)."""
    model_cfg = model_cfg or OrderConfig()
    train, test = data.split(test_fraction, seed=cfg.seed)
    length, frame_dim = data.image_shape
    seed_everything(cfg.seed)
    model = OrderClassifier(model_cfg, length, frame_dim)
    model.fit_normalisation(train.images)
    if run_dir is not None:
        record_config(run_dir, {"model": asdict(model_cfg), "trainer": asdict(cfg)})
    trainer = Trainer(model, classification_loss, cfg, run_dir)
    history = trainer.fit(train, resume=resume)
    metrics: dict[str, Any] = {f"test_{key}": value for key, value in trainer.evaluate(test).items()}
    metrics.update(epochs=len(history), n_train=len(train), n_test=len(test))
    return model, metrics
