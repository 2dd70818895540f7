"""A World-Models style pixel world model (Ha & Schmidhuber 2018): V, a VAE on frames, and M, a GRU in its
latent space, trained one after the other, so the model "dreams" whole episodes from one real frame.

- V: the perception VAE (Gaussian decoder) compresses each frame to z = mu(frame).
- M: a GRU reads (z_t, a_t) and predicts z_{t+1} = z_t + head(h_{t+1}) (z standardised with the
  training frames' statistics, so its scale does not depend on the VAE's). It is trained open loop, as it
  is used: from the first frame's z and the actions only, feeding back its own predictions, with the
  squared error to the encoded true frames at every step (so 10-step errors are what it minimises, not
  only one-step ones with the truth fed in).
- Imagination decodes the predicted latents back to frames; `write_dream` puts the dream beside the
  real rollout in a GIF.

The paper's M is a mixture-density RNN for stochastic games; ours predicts the mean latent, which is
exact for a deterministic env (GridWorld with noise 0) and the MSE-optimal guess otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.checkpoint import load_model, save_model
from core.errors import UserError
from core.recording import write_video
from core.validation import check_positive_int, check_seed
from perception.mlp import MLP, MLPConfig
from perception.vae import VAE, VAEConfig
from supervised.trainer import Trainer, TrainerConfig
from worldmodels.batches import ArrayBatches, Standardiser

KIND = "pixel world model"


@dataclass
class PixelWorldModelConfig:
    """Frames `(H, W, C)` uint8 as Gymnasium gives them; `n_actions` discrete actions (one-hot inputs).

    V is the perception VAE with a Gaussian decoder of standard deviation `sigma` (in [0, 1] pixel units):
    with a small sigma the few pixels of a small moving object outweigh the KL term, where a Bernoulli
    decoder lets the posterior collapse to the average frame. `conv` picks its conv trunk, else an MLP
    with `vae_hidden` widths (ample, and cheaper, for small frames). M is a GRU of `hidden` units.
    """

    frame_shape: tuple[int, int, int]
    n_actions: int
    latent_dim: int = 16
    hidden: int = 128
    beta: float = 1.0
    conv: bool = False
    vae_hidden: tuple[int, ...] = (256,)
    sigma: float = 0.1

    def __post_init__(self) -> None:
        self.frame_shape = tuple(self.frame_shape)
        if len(self.frame_shape) != 3:
            raise UserError(f"frame_shape must be (H, W, C), got {self.frame_shape}")
        check_positive_int(self.n_actions, "n_actions")
        check_positive_int(self.latent_dim, "latent_dim")
        check_positive_int(self.hidden, "hidden")

    def vae_config(self) -> VAEConfig:
        return VAEConfig(
            self.frame_shape,
            self.latent_dim,
            "gaussian",
            self.beta,
            conv=self.conv,
            hidden=self.vae_hidden,
            sigma=self.sigma,
            channels_last=self.conv,
        )


class LatentGRU(nn.Module):
    """M: `(z_0 [B, L], actions [B, T, A]) -> z [B, T+1, L]`, unrolled on its own predictions."""

    def __init__(self, latent_dim: int, action_dim: int, hidden: int) -> None:
        super().__init__()
        self.init = nn.Linear(latent_dim, hidden)
        # An MLP before the cell: the step from (z, a) to the next z is a lookup more than a smooth map.
        self.inputs = MLP(MLPConfig(latent_dim + action_dim, hidden, (hidden,)))
        self.cell = nn.GRUCell(hidden, hidden)
        self.head = nn.Linear(hidden, latent_dim)

    def forward(self, z0: Tensor, actions: Tensor) -> Tensor:
        h, z = torch.tanh(self.init(z0)), z0
        latents = [z0]
        for t in range(actions.shape[1]):
            h = self.cell(torch.relu(self.inputs(torch.cat([z, actions[:, t]], dim=-1))), h)
            z = z + self.head(h)
            latents.append(z)
        return torch.stack(latents, dim=1)


class PixelWorldModel(nn.Module):
    """V (`vae`) and M (`dynamics`); `imagine` dreams frames from a first frame and actions."""

    def __init__(self, cfg: PixelWorldModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.vae = VAE(cfg.vae_config())
        self.dynamics = LatentGRU(cfg.latent_dim, cfg.n_actions, cfg.hidden)
        self.register_buffer("mean_frame", torch.zeros(cfg.frame_shape))
        self.latent_norm = Standardiser(cfg.latent_dim)  # M works on standardised latents

    def fit_mean_frame(self, frames: np.ndarray) -> None:
        """V sees frames minus the training set's mean frame (in [0, 1] units): a static background then
        reads as zeros and the small moving object is the whole input, which the VAE otherwise learns
        to ignore (its posterior collapses to the average frame)."""
        flat = torch.as_tensor(frames).reshape(-1, *self.cfg.frame_shape)
        self.mean_frame.copy_(sum(chunk.double().sum(0) for chunk in flat.split(1024)) / (255.0 * len(flat)))

    def centred(self, frames: Tensor | np.ndarray) -> Tensor:
        """uint8 frames `[..., H, W, C]` as floats in [0, 1] minus the mean frame."""
        return torch.as_tensor(frames).float() / 255.0 - self.mean_frame

    def one_hot(self, actions: Tensor) -> Tensor:
        actions = torch.as_tensor(actions).long()
        if actions.numel() and not 0 <= int(actions.min()) <= int(actions.max()) < self.cfg.n_actions:
            raise UserError(f"actions must be integers in 0..{self.cfg.n_actions - 1}")
        return F.one_hot(actions, self.cfg.n_actions).float()

    @torch.no_grad()
    def encode(self, frames: Tensor | np.ndarray, chunk: int = 256) -> Tensor:
        """`[..., H, W, C]` frames -> `[..., L]` posterior means (in chunks, without gradients)."""
        frames = torch.as_tensor(frames)
        lead = frames.shape[:-3]
        flat = frames.reshape(-1, *self.cfg.frame_shape)
        mus = [self.vae.encode(self.centred(flat[i : i + chunk]))[0] for i in range(0, len(flat), chunk)]
        return torch.cat(mus).reshape(*lead, self.cfg.latent_dim)

    @torch.no_grad()
    def decode(self, z: Tensor) -> Tensor:
        """`[..., L]` -> `[..., H, W, C]` the decoder's mean frame, clipped to [0, 1]."""
        lead = z.shape[:-1]
        out = (self.vae.decode(z.reshape(-1, self.cfg.latent_dim)) + self.mean_frame).clamp(0.0, 1.0)
        return out.reshape(*lead, *self.cfg.frame_shape)

    @torch.no_grad()
    def imagine(self, first_frame: Tensor | np.ndarray, actions: Tensor | np.ndarray) -> Tensor:
        """`[B, T+1, H, W, C]` dreamed frames in [0, 1] from `first_frame [B, H, W, C]` and `actions [B, T]`
        (the first is the VAE's reconstruction of the given frame)."""
        z = self.dynamics(self.latent_norm(self.encode(first_frame)), self.one_hot(actions))
        return self.decode(self.latent_norm.inverse(z))


def fit_pixel_world_model(
    model: PixelWorldModel,
    frames: np.ndarray,
    actions: np.ndarray,
    vae_trainer: TrainerConfig,
    dynamics_trainer: TrainerConfig,
) -> dict[str, list[dict[str, float]]]:
    """Train V on every frame of `frames [N, T+1, H, W, C]`, then M on the sequences under `actions [N, T]`
    (V frozen); returns both trainers' histories."""
    if frames.ndim != 5 or actions.shape != frames.shape[:1] + (frames.shape[1] - 1,):
        raise UserError(
            f"need frames [N, T+1, H, W, C] and actions [N, T]; got {frames.shape} and {actions.shape}"
        )

    def vae_loss(vae: VAE, batch: tuple[Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        terms = vae.loss(model.centred(batch[0]))
        return terms["loss"], {"recon": terms["recon"].detach(), "kl": terms["kl"].detach()}

    flat = frames.reshape(-1, *frames.shape[2:])
    model.fit_mean_frame(flat)
    vae_history = Trainer(model.vae, vae_loss, vae_trainer).fit(ArrayBatches(flat))
    model.vae.eval()
    latents = model.encode(frames)
    model.latent_norm.fit(latents.reshape(-1, model.cfg.latent_dim))
    latents = model.latent_norm(latents).numpy()

    def dynamics_loss(dynamics: LatentGRU, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        z, acts = batch
        predicted = dynamics(z[:, 0], model.one_hot(acts))
        # Squared error summed over latent dims, averaged over steps and sequences (open-loop).
        return (predicted[:, 1:] - z[:, 1:]).pow(2).sum(-1).mean(), {}

    dynamics_history = Trainer(model.dynamics, dynamics_loss, dynamics_trainer).fit(
        ArrayBatches(latents, actions.astype(np.int64))
    )
    return {"vae": vae_history, "dynamics": dynamics_history}


@torch.no_grad()
def frame_errors(
    model: PixelWorldModel, frames: np.ndarray, actions: np.ndarray, horizons: tuple[int, ...] = (1, 10)
) -> dict[int, dict[str, float]]:
    """For each horizon k: the pixel MSE (in [0, 1] units) of the frame dreamed k steps ahead from the first
    frame and the actions, and of copying the first frame instead (the baseline a model must beat)."""
    dreamed = model.imagine(frames[:, 0], actions)
    truth = torch.as_tensor(frames).float() / 255.0
    results = {}
    for k in horizons:
        if not 1 <= k < frames.shape[1]:
            raise UserError(f"horizon {k} is outside the sequences' 1..{frames.shape[1] - 1} steps")
        results[k] = {
            "model_mse": float((dreamed[:, k] - truth[:, k]).pow(2).mean()),
            "copy_mse": float((truth[:, 0] - truth[:, k]).pow(2).mean()),
        }
    return results


def write_dream(
    model: PixelWorldModel,
    frames: np.ndarray,
    actions: np.ndarray,
    path: str | Path,
    scale: int = 3,
    fps: int = 4,
) -> Path:
    """A GIF of one real rollout `frames [T+1, H, W, C]` (left) beside the model's dream of it (right), from
    its first frame and `actions [T]`."""
    dream = model.imagine(frames[None, 0], actions[None])[0]
    dream = (dream.numpy() * 255).round().astype(np.uint8)
    gap = np.full((frames.shape[1], 2, 3), 255, dtype=np.uint8)
    pictures = [np.concatenate([real, gap, fake], axis=1) for real, fake in zip(frames, dream, strict=True)]
    pictures = [p.repeat(scale, axis=0).repeat(scale, axis=1) for p in pictures]
    write_video(pictures, path, fps)
    return Path(path)


def save_pixel_world_model(model: PixelWorldModel, path: str | Path) -> None:
    """Config and weights (mean frame and latent statistics too) in one checkpoint, written atomically."""
    save_model(path, KIND, asdict(model.cfg), model)


def load_pixel_world_model(path: str | Path) -> PixelWorldModel:
    """The model `save_pixel_world_model` wrote, in eval mode."""
    return load_model(path, KIND, lambda config: PixelWorldModel(PixelWorldModelConfig(**config))).eval()


def pool_frames(frames: np.ndarray, factor: int) -> np.ndarray:
    """uint8 frames `[..., H, W, C]` shrunk `factor` times by averaging `factor x factor` blocks (H and W
    must divide): GridWorld's 8-pixel cells keep a visible agent at 4 pixels, at a quarter of the compute."""
    check_positive_int(factor, "factor")
    *lead, height, width, channels = frames.shape
    if height % factor or width % factor:
        raise UserError(f"frames of {height}x{width} pixels do not divide by {factor}")
    blocks = frames.reshape(*lead, height // factor, factor, width // factor, factor, channels)
    return blocks.mean(axis=(-4, -2)).round().astype(np.uint8)


def shrink_frames(frames: np.ndarray, max_side: int) -> np.ndarray:
    """uint8 frames `[..., H, W, C]` pooled by the smallest integer factor that brings their longer side to
    at most `max_side` pixels (the few bottom rows and right columns the factor does not divide are cut)."""
    check_positive_int(max_side, "max_side")
    height, width = frames.shape[-3:-1]
    factor = -(-max(height, width) // max_side)
    if factor == 1:
        return frames
    cropped = frames[..., : height - height % factor, : width - width % factor, :]
    return pool_frames(cropped, factor)


def collect_pixel_sequences(
    env: gym.Env,
    n_sequences: int,
    length: int,
    seed: int = 0,
    warmup: int = 40,
    max_episodes: int | None = None,
) -> dict[str, Any]:
    """`n_sequences` random-action sequences of `length` steps from an env with image observations and
    discrete actions: `frames [N, T+1, H, W, C]`, `actions [N, T]` and, when the env's info has one,
    `cells [N, T+1, 2]` (the agent's true position). Each sequence starts after a random number (up to
    `warmup`) of random steps, so starts vary; a sequence the env ends early is drawn again, from at most
    `max_episodes` episodes in all (default 20 per sequence, plus 100): a UserError if too few last.
    """
    check_positive_int(n_sequences, "n_sequences")
    check_positive_int(length, "length")
    max_episodes = check_positive_int(max_episodes or 20 * n_sequences + 100, "max_episodes")
    rng = np.random.default_rng(check_seed(seed))
    n_actions = int(env.action_space.n)
    frames, actions, cells = [], [], []
    episode = 0
    while len(frames) < n_sequences:
        if episode == max_episodes:
            raise UserError(
                f"only {len(frames)} of {n_sequences} random-action sequences of {length} steps in "
                f"{max_episodes} episodes: the env's episodes end sooner; ask for shorter sequences"
            )
        obs, info = env.reset(seed=seed * 1_000_003 + episode)
        episode += 1
        ended = False
        for _ in range(int(rng.integers(0, warmup + 1))):
            obs, _, terminated, truncated, info = env.step(int(rng.integers(n_actions)))
            if terminated or truncated:
                ended = True
                break
        if ended:
            continue
        seq_frames, seq_cells = [obs], [info.get("cell")]
        seq_actions = rng.integers(n_actions, size=length)
        for action in seq_actions:
            obs, _, terminated, truncated, info = env.step(int(action))
            seq_frames.append(obs)
            seq_cells.append(info.get("cell"))
            if terminated or truncated:
                ended = True
                break
        if ended:
            continue
        frames.append(np.stack(seq_frames))
        actions.append(seq_actions)
        cells.append(seq_cells)
    out = {"frames": np.stack(frames), "actions": np.stack(actions).astype(np.int64)}
    if all(c is not None for seq in cells for c in seq):
        out["cells"] = np.array(cells, dtype=np.int64)
    return out
