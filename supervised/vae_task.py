"""VAE training on the shared Trainer, its test negative ELBO, and its pictures: samples, reconstructions
and a latent interpolation grid."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from core.rundir import RunDir
from core.seeding import seed_everything
from perception import VAE, VAEConfig
from supervised.data import ArrayDataset
from supervised.images import image_grid, save_png
from supervised.trainer import Trainer, TrainerConfig, record_config


def vae_loss(model: VAE, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
    """The negative ELBO (per example, batch mean) and its two terms; labels are unused."""
    images, _ = batch
    terms = model.loss(images)
    return terms["loss"], {"recon": terms["recon"].detach(), "kl": terms["kl"].detach()}


def train_vae(
    data: ArrayDataset,
    cfg: TrainerConfig,
    vae_cfg: VAEConfig,
    test_fraction: float = 0.2,
    run_dir: RunDir | None = None,
    resume: bool = False,
) -> tuple[VAE, dict[str, Any], ArrayDataset]:
    """Train a VAE on a stratified split of `data`; return it, its test metrics and the test split.

    `test_nelbo_per_pixel` is the test negative ELBO (one posterior sample per image, nats) divided by
    the number of values per image, comparable across image sizes. No validation split: the test split
    is read only once, after training.
    """
    train, test = data.split(test_fraction, seed=cfg.seed)
    seed_everything(cfg.seed)
    model = VAE(vae_cfg)
    if run_dir is not None:
        record_config(run_dir, {"vae": asdict(vae_cfg), "trainer": asdict(cfg)})
    trainer = Trainer(model, vae_loss, cfg, run_dir)
    history = trainer.fit(train, resume=resume)
    torch.manual_seed(cfg.seed)  # the posterior samples of the test ELBO
    metrics = {f"test_{key}": value for key, value in trainer.evaluate(test).items()}
    pixels = math.prod(vae_cfg.in_shape)
    metrics.update(
        test_nelbo_per_pixel=metrics["test_loss"] / pixels,
        epochs=len(history),
        n_train=len(train),
        n_test=len(test),
    )
    if run_dir is not None:
        run_dir.write_json(run_dir.eval_path.name, metrics)
    return model, metrics, test


def _mean_image(model: VAE, out: Tensor) -> Tensor:
    """The decoder's mean image: Bernoulli probabilities, or the Gaussian mean clipped to [0, 1]."""
    return torch.sigmoid(out) if model.cfg.decoder == "bernoulli" else out.clamp(0.0, 1.0)


@torch.no_grad()
def reconstructions(model: VAE, images: Tensor) -> Tensor:
    """`[2N, C, H, W]`: the images and, after them, their reconstructions from the posterior means."""
    model.eval()
    mu, _ = model.encode(images)
    return torch.cat([images, _mean_image(model, model.decode(mu))])


@torch.no_grad()
def interpolations(model: VAE, starts: Tensor, ends: Tensor, steps: int = 8) -> Tensor:
    """`[N * steps, C, H, W]`: for each pair, the decoded points on the line between their posterior
    means, z = (1 - t) mu_a + t mu_b for t from 0 to 1, one row per pair."""
    model.eval()
    mu_a, _ = model.encode(starts)
    mu_b, _ = model.encode(ends)
    t = torch.linspace(0, 1, steps)[None, :, None]
    z = (1 - t) * mu_a[:, None] + t * mu_b[:, None]
    return _mean_image(model, model.decode(z.reshape(-1, z.shape[-1])))


def save_vae_pictures(
    model: VAE, test: ArrayDataset, folder: Path, prefix: str = "", n: int = 8, scale: int = 4, seed: int = 0
) -> dict[str, Path]:
    """Samples, reconstructions (originals on the first row, theirs below) and interpolations between test
    images, as PNGs in `folder`; returns {name: path}. `scale` enlarges each pixel."""
    images = torch.from_numpy(test.images[: 2 * n])
    pairs = len(images) // 2
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    samples = model.sample(n * n, generator=generator)
    if model.cfg.decoder == "gaussian":
        samples = samples.clamp(0.0, 1.0)
    pictures = {
        "samples": image_grid(samples, n, scale),
        "reconstructions": image_grid(reconstructions(model, images[:n]), n, scale),
        "interpolation": image_grid(
            interpolations(model, images[:pairs], images[pairs : 2 * pairs]), 8, scale
        ),
    }
    return {
        name: save_png(picture, Path(folder) / f"{prefix}{name}.png") for name, picture in pictures.items()
    }
