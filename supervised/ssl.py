"""Self-supervised pretraining of a ConvEncoder: SimCLR, VICReg or Barlow Twins on the shared Trainer.

Two augmented views of each image go through the encoder and a projector (the "expander" of VICReg);
the loss compares the two views' projections. After training the projector is dropped and the
encoder's output is the representation (Chen et al. 2020, section 4.2: the layer before the projection
head transfers better than its output).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from core.errors import UserError
from core.rundir import RunDir
from core.seeding import seed_everything
from core.validation import check_positive_int, check_range
from perception import MLP, ConvEncoder, ConvEncoderConfig, MLPConfig
from supervised.augment import AugmentConfig, augment
from supervised.data import ArrayDataset
from supervised.ssl_losses import barlow_twins, info_nce, vicreg
from supervised.trainer import Trainer, TrainerConfig, record_config

METHODS = ("simclr", "vicreg", "barlow")


@dataclass
class SSLConfig:
    """The method and its model.

    The encoder is the Nature trunk fitted to the image with a `feature_dim` output (None: the trunk's
    flattened conv features, whose layout keeps where things are in the image). `channels`, `kernels`
    and `strides` give the trunk's convs instead (all three or none), e.g. to pretrain the exact encoder
    an agent will use; `channels_last`
    builds it for (H, W, C) inputs, the layout of Gymnasium's pixel observations, so the pretrained
    encoder can be handed to an agent as is. `projector` lists the projector's widths (the last is the
    embedding the loss sees). `temperature` is SimCLR's, `sim_coeff`, `std_coeff`, `cov_coeff` VICReg's
    lambda, mu, nu, and `barlow_lambda` Barlow Twins' off-diagonal weight.
    """

    method: str = "vicreg"
    feature_dim: int | None = 128
    channels: tuple[int, ...] | None = None
    kernels: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    projector: tuple[int, ...] = (256, 256)
    channels_last: bool = False
    temperature: float = 0.1
    sim_coeff: float = 25.0
    std_coeff: float = 25.0
    cov_coeff: float = 1.0
    barlow_lambda: float = 5e-3

    def __post_init__(self) -> None:
        self.projector = tuple(self.projector)
        trunk = [getattr(self, name) for name in ("channels", "kernels", "strides")]
        if any(layers is None for layers in trunk) and any(layers is not None for layers in trunk):
            raise UserError("give the trunk's channels, kernels and strides together, or none of them")
        if trunk[0] is not None:
            self.channels, self.kernels, self.strides = (tuple(layers) for layers in trunk)
        if self.method not in METHODS:
            raise UserError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.feature_dim is not None:
            check_positive_int(self.feature_dim, "feature_dim")
        if not self.projector:
            raise UserError("projector needs at least one width")
        for width in self.projector:
            check_positive_int(width, "projector width")
        check_range("temperature", self.temperature, 0.0, 100.0, low_open=True)
        for name in ("sim_coeff", "std_coeff", "cov_coeff", "barlow_lambda"):
            check_range(name, getattr(self, name), 0.0, 1e6)


class SSLModel(nn.Module):
    """`images [B, C, H, W]` -> projections `[B, projector[-1]]`; `features` gives the encoder's output."""

    def __init__(self, image_shape: tuple[int, int, int], cfg: SSLConfig) -> None:
        super().__init__()
        self.cfg = cfg
        channels, height, width = image_shape
        in_shape = (height, width, channels) if cfg.channels_last else (channels, height, width)
        if cfg.channels is None:
            encoder = ConvEncoderConfig.nature(in_shape, cfg.feature_dim, cfg.channels_last)
        else:
            encoder = ConvEncoderConfig(
                in_shape,
                cfg.channels,
                cfg.kernels,
                cfg.strides,
                cfg.feature_dim,
                channels_last=cfg.channels_last,
            )
        self.encoder = ConvEncoder(encoder)
        *hidden, out = cfg.projector
        self.projector = MLP(MLPConfig(self.encoder.feature_dim, out, tuple(hidden), layer_norm=True))

    def features(self, images: Tensor) -> Tensor:
        """The representation of `[B, C, H, W]` images: the encoder's output."""
        return self.encoder(images.permute(0, 2, 3, 1) if self.cfg.channels_last else images)

    def trunk_features(self, images: Tensor) -> Tensor:
        """The conv trunk's flattened features, below the encoder's `feature_dim` layer (the same as
        `features` when `feature_dim` is None): spatial, so where things are in the image is kept."""
        if self.cfg.feature_dim is None:
            return self.features(images)
        return self.encoder.net[:-2](images)  # the convs take (C, H, W); the last two are Linear, activation

    def forward(self, images: Tensor) -> Tensor:
        return self.projector(self.features(images))


class FullBatches:
    """`data` batched without its last, incomplete batch: a BatchSource for losses on batch statistics."""

    def __init__(self, data: ArrayDataset, batch_size: int) -> None:
        if len(data) < batch_size:
            raise UserError(f"{len(data)} images are fewer than one batch of {batch_size}")
        self.data, self.batch_size = data, batch_size

    def __len__(self) -> int:
        return len(self.data) - len(self.data) % self.batch_size

    def batches(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> Iterator[tuple[Tensor, Tensor]]:
        for images, labels in self.data.batches(batch_size, rng):
            if len(images) == batch_size:
                yield images, labels


def ssl_loss(cfg: SSLConfig, aug: AugmentConfig) -> Callable[[nn.Module, Any], tuple[Tensor, dict[str, Any]]]:
    """The Trainer's loss: two augmented views of the batch's images (labels unused), the method's loss."""

    def loss_fn(model: nn.Module, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, dict[str, Any]]:
        images, _ = batch
        z1, z2 = model(augment(images, aug)), model(augment(images, aug))
        if cfg.method == "simclr":
            return info_nce(z1, z2, cfg.temperature), {}
        if cfg.method == "barlow":
            return barlow_twins(z1, z2, cfg.barlow_lambda), {}
        loss, terms = vicreg(z1, z2, cfg.sim_coeff, cfg.std_coeff, cfg.cov_coeff)
        return loss, {name: value.detach() for name, value in terms.items()}

    return loss_fn


def train_ssl(
    data: ArrayDataset,
    cfg: TrainerConfig,
    ssl_cfg: SSLConfig,
    aug: AugmentConfig,
    run_dir: RunDir | None = None,
    resume: bool = False,
) -> tuple[SSLModel, list[dict[str, float]]]:
    """Pretrain on `data`'s images (their labels are never read); return the model and its history.

    Each epoch drops its last, incomplete batch (batch statistics of a handful of images are noise, and
    of one image undefined). With a `run_dir`, config.json rebuilds the model.
    """
    seed_everything(cfg.seed)
    model = SSLModel(data.image_shape, ssl_cfg)
    if run_dir is not None:
        record_config(
            run_dir,
            {
                "ssl": asdict(ssl_cfg),
                "image_shape": list(data.image_shape),
                "augment": asdict(aug),
                "trainer": asdict(cfg),
            },
        )
    trainer = Trainer(model, ssl_loss(ssl_cfg, aug), cfg, run_dir)
    history = trainer.fit(FullBatches(data, cfg.batch_size), resume=resume)
    return model, history


@torch.no_grad()
def extract_features(fn: Callable[[Tensor], Tensor], data: ArrayDataset, batch_size: int = 512) -> np.ndarray:
    """`fn` (e.g. a frozen encoder's `features`) applied to all of `data`'s images, as a numpy array."""
    return np.concatenate([fn(images).numpy() for images, _ in data.batches(batch_size)])


def frozen_features(model: SSLModel) -> Callable[[Tensor], Tensor]:
    """The model's `features` in eval mode, without gradients: what the probes see."""
    model.eval()
    return model.features
