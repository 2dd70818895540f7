"""Convolutional image encoder (the DQN Nature trunk, scaled to the image) and its mirror decoder."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from core.errors import UserError
from core.validation import check_positive_int
from perception.activation import GAINS, check_activation, make_activation, orthogonal_init_

NATURE_CHANNELS = (32, 64, 64)  # Mnih et al. 2015, "Human-level control through deep RL", Methods


def nature_layers(height: int, width: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Kernels and strides of the Nature trunk scaled to an image whose smaller side is min(height, width).

    The published trunk (8x8 s4, 4x4 s2, 3x3 s1) shrinks an image 8-fold before its last conv, so
    84x84 Atari frames end as 7x7 features. We keep it while it leaves at least 4x4 features (smaller
    side >= 64). Smaller images (e.g. 36x48 GridWorld frames) get 3x3 convs with strides (2, 2, 1),
    valid from a side of 16 (36x48 -> 6x9); tiny ones (e.g. 8x8 digits) 3x3 convs with stride 1, valid
    from a side of 7 (8x8 -> 2x2). Below 7 pixels no preset fits and the config raises UserError.
    """
    side = min(height, width)
    if side >= 64:
        return (8, 4, 3), (4, 2, 1)
    if side >= 16:
        return (3, 3, 3), (2, 2, 1)
    return (3, 3, 3), (1, 1, 1)


def image_chw(shape: tuple[int, int, int], channels_last: bool) -> tuple[int, int, int]:
    """(C, H, W) of an image of shape `shape`, given as (H, W, C) when `channels_last`."""
    if channels_last:
        height, width, channels = shape
        return channels, height, width
    return shape


def conv_sizes(
    height: int, width: int, kernels: tuple[int, ...], strides: tuple[int, ...]
) -> list[tuple[int, int]]:
    """Spatial size after each unpadded conv, (size - kernel) // stride + 1; UserError if one is empty."""
    sizes = [(height, width)]
    for layer, (kernel, stride) in enumerate(zip(kernels, strides, strict=True), start=1):
        h, w = sizes[-1]
        if h < kernel or w < kernel:
            raise UserError(
                f"image {height}x{width} is too small for convs with kernels {kernels} and strides "
                f"{strides}: layer {layer} gets {h}x{w} input for a {kernel}x{kernel} kernel"
            )
        sizes.append(((h - kernel) // stride + 1, (w - kernel) // stride + 1))
    return sizes


def _check_layers(
    shape: tuple[int, ...], channels: tuple[int, ...], kernels: tuple[int, ...], strides: tuple[int, ...]
) -> None:
    if len(shape) != 3:
        raise UserError(f"image shape must have 3 dims (C, H, W or H, W, C), got {shape}")
    for dim in shape:
        check_positive_int(dim, "image dim")
    if not channels or not len(channels) == len(kernels) == len(strides):
        raise UserError(
            f"channels, kernels and strides need one entry per conv layer (at least one), got "
            f"{len(channels)}, {len(kernels)} and {len(strides)}"
        )
    for name, values in (("channels", channels), ("kernels", kernels), ("strides", strides)):
        for value in values:
            check_positive_int(value, name)


@dataclass
class ConvEncoderConfig:
    """An image encoder: unpadded convs, each followed by the activation, then an optional linear head.

    `in_shape` is the shape of one observation as it reaches `forward`: (C, H, W), or (H, W, C) when
    `channels_last` (Gymnasium's image layout, so `env.observation_space.shape` can be passed as is).
    `out_dim` None returns the flattened conv features; otherwise Linear -> activation to `out_dim`.
    """

    in_shape: tuple[int, int, int]
    channels: tuple[int, ...]
    kernels: tuple[int, ...]
    strides: tuple[int, ...]
    out_dim: int | None = 512
    activation: str = "relu"
    channels_last: bool = False

    def __post_init__(self) -> None:
        self.in_shape, self.channels = tuple(self.in_shape), tuple(self.channels)
        self.kernels, self.strides = tuple(self.kernels), tuple(self.strides)
        _check_layers(self.in_shape, self.channels, self.kernels, self.strides)
        if self.out_dim is not None:
            check_positive_int(self.out_dim, "out_dim")
        check_activation(self.activation)
        self.sizes()  # a too-small image fails here, when the config is made

    @classmethod
    def nature(
        cls, in_shape: tuple[int, int, int], out_dim: int | None = 512, channels_last: bool = False
    ) -> ConvEncoderConfig:
        """The DQN Nature trunk (32, 64, 64 channels) with kernels and strides fitted by `nature_layers`."""
        _, height, width = image_chw(tuple(in_shape), channels_last)
        kernels, strides = nature_layers(height, width)
        return cls(tuple(in_shape), NATURE_CHANNELS, kernels, strides, out_dim, channels_last=channels_last)

    @property
    def chw(self) -> tuple[int, int, int]:
        """The image's (C, H, W), whatever its layout."""
        return image_chw(self.in_shape, self.channels_last)

    def sizes(self) -> list[tuple[int, int]]:
        """(H, W) of the input and after each conv layer."""
        _, height, width = self.chw
        return conv_sizes(height, width, self.kernels, self.strides)

    @property
    def conv_dim(self) -> int:
        """Number of flattened features after the last conv."""
        height, width = self.sizes()[-1]
        return self.channels[-1] * height * width


class ConvEncoder(nn.Module):
    """`obs [..., C, H, W]` (or `[..., H, W, C]`), float or uint8 -> `[..., feature_dim]`.

    uint8 frames are scaled to [0, 1] here, so replay buffers can keep them 4x smaller. Weights are
    orthogonal with the activation's gain, biases zero (as CleanRL's Atari networks).
    """

    def __init__(self, cfg: ConvEncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        in_channels = cfg.chw[0]
        for out_channels, kernel, stride in zip(cfg.channels, cfg.kernels, cfg.strides, strict=True):
            conv = nn.Conv2d(in_channels, out_channels, kernel, stride)
            orthogonal_init_(conv, GAINS[cfg.activation])
            layers += [conv, make_activation(cfg.activation)]
            in_channels = out_channels
        layers.append(nn.Flatten())
        self.feature_dim = cfg.conv_dim
        if cfg.out_dim is not None:
            head = nn.Linear(cfg.conv_dim, cfg.out_dim)
            orthogonal_init_(head, GAINS[cfg.activation])
            layers += [head, make_activation(cfg.activation)]
            self.feature_dim = cfg.out_dim
        self.net = nn.Sequential(*layers)

    def forward(self, obs: Tensor) -> Tensor:
        shape = tuple(self.cfg.in_shape)
        if tuple(obs.shape[-3:]) != shape:
            raise UserError(f"ConvEncoder expects images of shape [..., {shape}], got {tuple(obs.shape)}")
        lead = obs.shape[:-3]
        x = obs.reshape(-1, *shape)
        if self.cfg.channels_last:
            x = x.permute(0, 3, 1, 2)
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x
        return self.net(x).reshape(*lead, self.feature_dim)


@dataclass
class ConvDecoderConfig:
    """The mirror of a ConvEncoderConfig: a latent `[..., in_dim]` -> an image of exactly `out_shape`.

    The layer lists are given in the encoder's order (`channels[i]` is the i-th encoder conv's output),
    so `ConvDecoderConfig.mirror(encoder_cfg, latent_dim)` is the usual way to make one.
    """

    out_shape: tuple[int, int, int]
    channels: tuple[int, ...]
    kernels: tuple[int, ...]
    strides: tuple[int, ...]
    in_dim: int = 512
    activation: str = "relu"
    channels_last: bool = False

    def __post_init__(self) -> None:
        self.out_shape, self.channels = tuple(self.out_shape), tuple(self.channels)
        self.kernels, self.strides = tuple(self.kernels), tuple(self.strides)
        _check_layers(self.out_shape, self.channels, self.kernels, self.strides)
        check_positive_int(self.in_dim, "in_dim")
        check_activation(self.activation)
        self.sizes()

    @classmethod
    def mirror(cls, encoder: ConvEncoderConfig, in_dim: int) -> ConvDecoderConfig:
        """The decoder that inverts `encoder`'s shapes, from an `in_dim` latent to its input image."""
        return cls(
            encoder.in_shape,
            encoder.channels,
            encoder.kernels,
            encoder.strides,
            in_dim,
            encoder.activation,
            encoder.channels_last,
        )

    @classmethod
    def nature(
        cls, out_shape: tuple[int, int, int], in_dim: int = 512, channels_last: bool = False
    ) -> ConvDecoderConfig:
        """The mirror of `ConvEncoderConfig.nature(out_shape)`."""
        return cls.mirror(ConvEncoderConfig.nature(out_shape, None, channels_last), in_dim)

    @property
    def chw(self) -> tuple[int, int, int]:
        """The output image's (C, H, W), whatever its layout."""
        return image_chw(self.out_shape, self.channels_last)

    def sizes(self) -> list[tuple[int, int]]:
        """(H, W) of the image and after each encoder conv; the decoder walks this list backwards."""
        _, height, width = self.chw
        return conv_sizes(height, width, self.kernels, self.strides)


class ConvDecoder(nn.Module):
    """`z [..., in_dim] -> [..., C, H, W]` (or `[..., H, W, C]`): unbounded outputs (logits or means).

    Linear -> activation -> reshape to the encoder's last feature map, then one transposed conv per
    encoder conv, in reverse. A transposed conv maps size n to (n - 1) * stride + kernel; the encoder's
    floor division lost up to stride - 1 pixels, which `output_padding` puts back, so the output has
    exactly the image's size with no crop or resize.
    """

    def __init__(self, cfg: ConvDecoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        sizes = cfg.sizes()
        height, width = sizes[-1]
        fc = nn.Linear(cfg.in_dim, cfg.channels[-1] * height * width)
        orthogonal_init_(fc, GAINS[cfg.activation])
        layers: list[nn.Module] = [
            fc,
            make_activation(cfg.activation),
            nn.Unflatten(-1, (cfg.channels[-1], height, width)),
        ]
        targets = (cfg.chw[0],) + cfg.channels[:-1]
        for i in reversed(range(len(cfg.channels))):
            (h_out, w_out), (h_in, w_in) = sizes[i], sizes[i + 1]
            kernel, stride = cfg.kernels[i], cfg.strides[i]
            padding = (h_out - ((h_in - 1) * stride + kernel), w_out - ((w_in - 1) * stride + kernel))
            deconv = nn.ConvTranspose2d(cfg.channels[i], targets[i], kernel, stride, output_padding=padding)
            last = i == 0
            orthogonal_init_(deconv, 1.0 if last else GAINS[cfg.activation])
            layers.append(deconv)
            if not last:
                layers.append(make_activation(cfg.activation))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        lead = z.shape[:-1]
        x = self.net(z.reshape(-1, self.cfg.in_dim))
        if self.cfg.channels_last:
            x = x.permute(0, 2, 3, 1)
        return x.reshape(*lead, *self.cfg.out_shape)
