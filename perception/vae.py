"""Variational autoencoder (Kingma & Welling 2014): MLP or conv encoder and decoder, Gaussian latent."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.errors import UserError
from core.validation import check_positive_int
from perception.activation import check_activation
from perception.conv import ConvDecoder, ConvDecoderConfig, ConvEncoder, ConvEncoderConfig
from perception.mlp import MLP, MLPConfig

DECODERS = ("bernoulli", "gaussian")


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per row: -0.5 sum(1 + logvar - mu^2 - exp(logvar)).

    The closed form of Kingma & Welling 2014, appendix B (the KL term of eq. 10).
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)


@dataclass
class VAEConfig:
    """A VAE on examples of shape `in_shape` ((D,) for vectors, (C, H, W) or with `channels_last`
    (H, W, C) for images).

    `conv` uses the Nature trunk scaled to the image (ConvEncoderConfig.nature) and its mirror decoder;
    otherwise MLPs with `hidden` widths (reversed in the decoder) on the flattened example.
    `decoder` is the likelihood p(x|z): "bernoulli" for data in [0, 1] (the decoder outputs logits),
    "gaussian" for real data (it outputs the mean) with standard deviation `sigma`, or one learned
    sigma shared by all dims when `sigma` is None (the calibrated decoder of Rybkin et al. 2021).
    `beta` weighs the KL term (beta-VAE, Higgins et al. 2017; 1 gives the ELBO).
    """

    in_shape: tuple[int, ...]
    latent_dim: int = 16
    decoder: str = "bernoulli"
    beta: float = 1.0
    conv: bool = False
    hidden: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    sigma: float | None = 1.0
    channels_last: bool = False

    def __post_init__(self) -> None:
        self.in_shape, self.hidden = tuple(self.in_shape), tuple(self.hidden)
        if not self.in_shape:
            raise UserError("in_shape must have at least one dim")
        for dim in self.in_shape:
            check_positive_int(dim, "in_shape dim")
        check_positive_int(self.latent_dim, "latent_dim")
        if self.decoder not in DECODERS:
            raise UserError(f"unknown decoder {self.decoder!r}; choose one of {', '.join(DECODERS)}")
        if not self.beta >= 0:
            raise UserError(f"beta must be >= 0, got {self.beta!r}")
        if self.sigma is not None and not self.sigma > 0:
            raise UserError(f"sigma must be > 0 (or None to learn it), got {self.sigma!r}")
        if self.conv and len(self.in_shape) != 3:
            raise UserError(f"a conv VAE needs an image shape (C, H, W), got {self.in_shape}")
        check_activation(self.activation)
        if self.conv:
            self.encoder_config()  # a too-small image fails here

    def encoder_config(self) -> ConvEncoderConfig:
        """The conv trunk of a conv VAE (flattened features; the latent heads are linear)."""
        return ConvEncoderConfig.nature(self.in_shape, out_dim=None, channels_last=self.channels_last)


class VAE(nn.Module):
    """q(z|x) = N(mu(x), diag exp(logvar(x))), p(z) = N(0, I), p(x|z) Bernoulli or Gaussian.

    Inputs are float or uint8 `[B, *in_shape]`; uint8 is scaled to [0, 1] first, here and in `loss`.
    A Gaussian decoder's log standard deviation is `log_sigma`: a parameter when learned, else a buffer.
    """

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        latent = cfg.latent_dim
        if cfg.conv:
            enc_cfg = cfg.encoder_config()
            trunk = ConvEncoder(enc_cfg)
            self.encoder = nn.Sequential(trunk, nn.Linear(trunk.feature_dim, 2 * latent))
            self.decoder = ConvDecoder(ConvDecoderConfig.mirror(enc_cfg, latent))
        else:
            in_dim = math.prod(cfg.in_shape)
            self.encoder = nn.Sequential(
                nn.Flatten(), MLP(MLPConfig(in_dim, 2 * latent, cfg.hidden, cfg.activation))
            )
            self.decoder = nn.Sequential(
                MLP(MLPConfig(latent, in_dim, cfg.hidden[::-1], cfg.activation)),
                nn.Unflatten(-1, cfg.in_shape),
            )
        if cfg.decoder == "gaussian" and cfg.sigma is None:
            self.log_sigma = nn.Parameter(torch.zeros(()))
        elif cfg.decoder == "gaussian":
            self.register_buffer("log_sigma", torch.tensor(math.log(cfg.sigma)))

    def _as_float(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.cfg.in_shape:
            raise UserError(f"VAE expects inputs of shape [B, {self.cfg.in_shape}], got {tuple(x.shape)}")
        return x.float() / 255.0 if x.dtype == torch.uint8 else x

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The posterior's mean and log-variance, each `[B, latent_dim]`."""
        mu, logvar = self.encoder(self._as_float(x)).chunk(2, dim=-1)
        return mu, logvar

    def reparameterize(self, mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): a sample that gradients flow through to mu and logvar."""
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: Tensor) -> Tensor:
        """`[B, latent_dim] -> [B, *in_shape]`: Bernoulli logits, or the Gaussian mean."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(decoder output for a posterior sample, mu, logvar)."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def loss(self, x: Tensor) -> dict[str, Tensor]:
        """Negative ELBO per example, averaged over the batch: `loss = recon + beta * kl`.

        recon = -log p(x|z) summed over dims, for one z ~ q(z|x):
          Bernoulli: binary cross-entropy with the logits;
          Gaussian: 0.5 ||x - mu||^2 / sigma^2 + D log sigma + 0.5 D log(2 pi) (a true NLL, so that a
          learned sigma is fitted rather than driven to zero).
        kl = KL(q(z|x) || N(0, I)), in closed form (`gaussian_kl`).
        """
        x = self._as_float(x)
        out, mu, logvar = self(x)
        if self.cfg.decoder == "bernoulli":
            nll = F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
        else:
            dims = math.prod(self.cfg.in_shape)
            squared = (x - out).pow(2).flatten(1).sum(1)
            nll = 0.5 * squared * torch.exp(-2 * self.log_sigma) + dims * (
                self.log_sigma + 0.5 * math.log(2 * math.pi)
            )
        kl = gaussian_kl(mu, logvar)
        recon, kl = nll.mean(), kl.mean()
        return {"loss": recon + self.cfg.beta * kl, "recon": recon, "kl": kl}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """`n` examples decoded from z ~ N(0, I): the decoder's mean (Bernoulli probabilities or the
        Gaussian mean), not a noisy draw from p(x|z)."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.cfg.latent_dim, generator=generator, device=device)
        out = self.decode(z)
        return torch.sigmoid(out) if self.cfg.decoder == "bernoulli" else out
