"""Image augmentations for small images (8x8 digits, 36x48 grid frames), batched in torch and seeded.

Every geometric change is one random affine map per image, applied with `grid_sample`: a random
resized crop (SimCLR's main augmentation, Chen et al. 2020, appendix A), a small rotation and a
shift. Torchvision's crops resize through PIL one image at a time and round crop boxes to whole
pixels, which on an 8x8 digit is a coarse jitter; a sub-pixel affine on the whole batch is both
finer and faster. Photometric changes (brightness, Gaussian noise) follow, and the result is clipped
to [0, 1]. Randomness comes from `generator`, or torch's global generator (which the Trainer seeds and
checkpoints, so an augmented run still resumes exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from core.errors import UserError
from core.validation import check_range

PADDINGS = ("zeros", "border")


@dataclass
class AugmentConfig:
    """Strengths of each augmentation; the defaults change nothing.

    `crop_scale` is the range of the crop's area as a fraction of the image (a crop is then resized
    back to the full image), `crop_ratio` the range of its aspect ratio. `max_shift` is the largest
    translation as a fraction of the side, `max_rotation` the largest rotation in degrees.
    `brightness` scales each image by a factor in [1 - b, 1 + b]; `noise_std` adds Gaussian noise.
    `padding` fills what comes from outside the image: "zeros" (black, the digits' background) or
    "border" (the edge pixels repeated, for frames whose background is not black).
    """

    crop_scale: tuple[float, float] = (1.0, 1.0)
    crop_ratio: tuple[float, float] = (1.0, 1.0)
    max_shift: float = 0.0
    max_rotation: float = 0.0
    brightness: float = 0.0
    noise_std: float = 0.0
    padding: str = "zeros"

    def __post_init__(self) -> None:
        self.crop_scale, self.crop_ratio = tuple(self.crop_scale), tuple(self.crop_ratio)
        for name in ("crop_scale", "crop_ratio"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise UserError(f"{name} must be a range 0 < low <= high, got {getattr(self, name)}")
        if self.crop_scale[1] > 1:
            raise UserError(f"crop_scale is a fraction of the image's area, at most 1, got {self.crop_scale}")
        check_range("max_shift", self.max_shift, 0.0, 1.0)
        check_range("max_rotation", self.max_rotation, 0.0, 180.0)
        check_range("brightness", self.brightness, 0.0, 1.0)
        check_range("noise_std", self.noise_std, 0.0, math.inf)
        if self.padding not in PADDINGS:
            raise UserError(f"unknown padding {self.padding!r}; choose one of {', '.join(PADDINGS)}")

    @classmethod
    def digits(cls) -> AugmentConfig:
        """For supervised training on 8x8 digits: one-pixel shifts, a mild crop and rotation."""
        return cls(crop_scale=(0.8, 1.0), crop_ratio=(0.9, 1.1), max_shift=0.12, max_rotation=10.0)

    @classmethod
    def ssl_digits(cls) -> AugmentConfig:
        """For self-supervised views of digits: stronger crops, shifts and noise (Chen et al. 2020 find
        that the views' difficulty is what makes the representation)."""
        return cls(
            crop_scale=(0.5, 1.0),
            crop_ratio=(0.75, 1.33),
            max_shift=0.15,
            max_rotation=15.0,
            brightness=0.3,
            noise_std=0.05,
        )

    @classmethod
    def ssl_frames(cls) -> AugmentConfig:
        """For self-supervised views of env frames: mild photometric changes and noise only. Moving the
        image would move the agent, and where the agent is, is what the features must keep. Mild,
        because two frames of a grid differ only by the agent's small disc: at brightness ±30 % and
        noise 0.1 a view moved a frame further than a one-cell move did, and a VICReg encoder on a 7x7
        maze's frames kept neighbouring cells' features alike (a frozen-encoder DQN then learnt slower
        than from scratch; at these settings faster)."""
        return cls(brightness=0.1, noise_std=0.03, padding="border")

    @property
    def geometric(self) -> bool:
        """Whether any crop, shift or rotation is on."""
        return self.crop_scale != (1.0, 1.0) or self.max_shift > 0 or self.max_rotation > 0


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def random_affine(images: Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None) -> Tensor:
    """Each image of `[B, C, H, W]` cropped, rotated and shifted at random, resampled bilinearly.

    In grid_sample's normalised coordinates the image spans [-1, 1]; `theta` maps output points to
    input points, so a crop of width fraction s is a scale by s, and its centre may move by up to
    1 - s on that axis without leaving the image.
    """
    batch = images.shape[0]
    area = _uniform(batch, *cfg.crop_scale, generator)
    log_ratio = _uniform(batch, math.log(cfg.crop_ratio[0]), math.log(cfg.crop_ratio[1]), generator)
    ratio = torch.exp(log_ratio)
    sx, sy = torch.sqrt(area * ratio).clamp(max=1.0), torch.sqrt(area / ratio).clamp(max=1.0)
    angle = torch.deg2rad(_uniform(batch, -cfg.max_rotation, cfg.max_rotation, generator))
    shift = 2 * cfg.max_shift
    tx = (1 - sx) * _uniform(batch, -1, 1, generator) + _uniform(batch, -shift, shift, generator)
    ty = (1 - sy) * _uniform(batch, -1, 1, generator) + _uniform(batch, -shift, shift, generator)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([sx * cos, -sy * sin, tx], -1), torch.stack([sx * sin, sy * cos, ty], -1)], 1
    ).to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=cfg.padding, align_corners=False)


def augment(images: Tensor, cfg: AugmentConfig, generator: torch.Generator | None = None) -> Tensor:
    """A randomly changed copy of a `[B, C, H, W]` float batch in [0, 1] (see AugmentConfig)."""
    if images.dim() != 4 or not images.is_floating_point():
        raise UserError(
            f"augment expects float images [B, C, H, W], got {images.dtype} {tuple(images.shape)}"
        )
    out = random_affine(images, cfg, generator) if cfg.geometric else images
    batch = images.shape[0]
    if cfg.brightness > 0:
        factor = _uniform(batch, 1 - cfg.brightness, 1 + cfg.brightness, generator)
        out = out * factor.to(out.dtype).view(batch, 1, 1, 1)
    if cfg.noise_std > 0:
        out = out + cfg.noise_std * torch.randn(out.shape, generator=generator, dtype=out.dtype)
    return out.clamp(0.0, 1.0)
