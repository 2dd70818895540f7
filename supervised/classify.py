"""Image classification: a CNN (ConvEncoder trunk, linear head) or a transformer over patches or rows,
trained by the shared Trainer on stratified splits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from torch import Tensor, nn
from torch.nn import functional as F

from core.errors import UserError
from core.rundir import RunDir
from core.seeding import seed_everything
from core.validation import check_positive_int, check_range
from perception import ConvEncoder, ConvEncoderConfig, PatchEmbedding, Transformer, TransformerConfig
from supervised.augment import AugmentConfig, augment
from supervised.data import ArrayDataset
from supervised.trainer import Trainer, TrainerConfig, record_config

MODELS = ("cnn", "transformer")
TOKENS = ("patches", "rows")


# The settings only one model reads: setting one for the other model is a mistake worth naming.
MODEL_SETTINGS = {
    "cnn": ("feature_dim", "pad"),
    "transformer": ("tokens", "patch", "patch_stride", "stem_channels", "dim", "depth", "heads", "dropout"),
}


def check_settings_used(model: str, given: Iterable[str]) -> None:
    """UserError naming any of the ``given`` settings (``--set`` names) that ``model`` does not read."""
    unused = sorted(
        name for other, names in MODEL_SETTINGS.items() if other != model for name in names if name in given
    )
    if unused:
        raise UserError(f"{', '.join(unused)}: not read by model {model!r} (choose one with --set model=...)")


@dataclass
class ClassifierConfig:
    """Which classifier, and its sizes.

    "cnn": the Nature trunk fitted to the image (ConvEncoderConfig.nature) with a `feature_dim` head,
    on the image framed by `pad` zero pixels (the small-image preset's unpadded 3x3 convs otherwise see
    the outermost pixels of an 8x8 digit only once).
    "transformer": the image as a sequence of tokens, either `patch` x `patch` squares (ViT,
    Dosovitskiy et al. 2021) or its pixel rows (each row's C * W values one token), read by a
    pre-norm Transformer of width `dim` whose [CLS] output is classified. `patch_stride` below `patch`
    makes the patches overlap (see PatchEmbedding). `stem_channels` puts a convolutional stem under the
    patches: one padded 3x3 conv and a GELU per entry, with that many channels, so each patch token is cut
    from local stroke features rather than raw pixels (Xiao et al. 2021, "Early convolutions help
    transformers see better": on small data sets the stem is what a ViT lacks against a CNN).
    """

    model: str = "cnn"
    feature_dim: int = 128
    pad: int = 0
    tokens: str = "patches"
    patch: int = 2
    patch_stride: int | None = None
    stem_channels: tuple[int, ...] = ()
    dim: int = 64
    depth: int = 3
    heads: int = 4
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise UserError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.tokens not in TOKENS:
            raise UserError(f"unknown tokens {self.tokens!r}; choose one of {', '.join(TOKENS)}")
        for name in ("feature_dim", "patch", "dim", "depth", "heads"):
            check_positive_int(getattr(self, name), name)
        if not isinstance(self.pad, int) or self.pad < 0:
            raise UserError(f"pad must be a whole number of pixels >= 0, got {self.pad!r}")
        if isinstance(self.stem_channels, int):  # one conv, e.g. stem_channels=32 on the command line
            self.stem_channels = (self.stem_channels,)
        self.stem_channels = tuple(self.stem_channels)
        for width in self.stem_channels:
            check_positive_int(width, "stem_channels entry")
        if self.stem_channels and self.tokens != "patches":
            raise UserError("stem_channels needs tokens='patches' (the stem's output is cut into patches)")


class ImageClassifier(nn.Module):
    """`images [B, C, H, W] -> logits [B, n_classes]`: [zero padding], conv features, one linear layer.

    `encoder` is sized for the padded image, (C, H + 2 pad, W + 2 pad).
    """

    def __init__(self, encoder: ConvEncoderConfig, n_classes: int, pad: int = 0) -> None:
        super().__init__()
        self.pad = nn.ZeroPad2d(pad)
        self.encoder = ConvEncoder(encoder)
        self.head = nn.Linear(self.encoder.feature_dim, check_positive_int(n_classes, "n_classes"))

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.encoder(self.pad(images)))


class RowTokens(nn.Module):
    """`[B, C, H, W] -> [B, H, C * W]`: each pixel row is one token (the channels of a row side by side)."""

    def forward(self, images: Tensor) -> Tensor:
        batch, channels, height, width = images.shape
        return images.permute(0, 2, 1, 3).reshape(batch, height, channels * width)


def patch_tokens(image_shape: tuple[int, int, int], cfg: ClassifierConfig) -> tuple[nn.Module, int]:
    """The patch embedding of `cfg` (under its conv stem, if any) and the number of tokens it makes."""
    channels, height, width = image_shape
    layers: list[nn.Module] = []
    for stem_width in cfg.stem_channels:
        layers += [nn.Conv2d(channels, stem_width, 3, padding=1), nn.GELU()]
        channels = stem_width
    patches = PatchEmbedding((channels, height, width), cfg.patch, cfg.dim, cfg.patch_stride)
    if not layers:
        return patches, patches.num_patches
    return nn.Sequential(*layers, patches), patches.num_patches


class TransformerClassifier(nn.Module):
    """`images [B, C, H, W] -> logits [B, n_classes]`: tokens, positions, blocks, [CLS] -> linear head."""

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int, cfg: ClassifierConfig) -> None:
        super().__init__()
        channels, height, width = image_shape
        self.tokens: nn.Module
        if cfg.tokens == "patches":
            (self.tokens, length), in_dim = patch_tokens(image_shape, cfg), None
        else:
            self.tokens, length, in_dim = RowTokens(), height, channels * width
        self.transformer = Transformer(
            TransformerConfig(
                dim=cfg.dim,
                depth=cfg.depth,
                heads=cfg.heads,
                dropout=cfg.dropout,
                max_len=length,
                in_dim=in_dim,
                n_outputs=check_positive_int(n_classes, "n_classes"),
                pool="cls",
            )
        )

    def forward(self, images: Tensor) -> Tensor:
        return self.transformer(self.tokens(images))


def build_classifier(cfg: ClassifierConfig, image_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """The model `cfg` describes, for images of `image_shape` (C, H, W) and `n_classes` classes."""
    if cfg.model == "cnn":
        channels, height, width = image_shape
        padded = (channels, height + 2 * cfg.pad, width + 2 * cfg.pad)
        return ImageClassifier(ConvEncoderConfig.nature(padded, out_dim=cfg.feature_dim), n_classes, cfg.pad)
    return TransformerClassifier(image_shape, n_classes, cfg)


def classification_loss(model: nn.Module, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
    """Cross-entropy of the logits against the labels, and the batch's accuracy."""
    images, labels = batch
    logits = model(images)
    accuracy = (logits.argmax(dim=-1) == labels).float().mean()
    return F.cross_entropy(logits, labels), {"accuracy": accuracy}


def augmented_loss(aug: AugmentConfig):
    """`classification_loss` on augmented images while training; evaluation sees the images as they are."""

    def loss_fn(model: nn.Module, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        images, labels = batch
        if model.training:
            images = augment(images, aug)
        return classification_loss(model, (images, labels))

    return loss_fn


def train_classifier(
    data: ArrayDataset,
    cfg: TrainerConfig,
    model_cfg: ClassifierConfig | None = None,
    aug: AugmentConfig | None = None,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    run_dir: RunDir | None = None,
    resume: bool = False,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train a classifier on stratified train/val/test splits of `data`; return it and its test metrics.

    The splits are drawn with `cfg.seed`; `val_fraction` is of the whole data set (0: no validation
    split, the whole rest trains and the last epoch's model is kept). With `aug`, training batches are
    augmented. With a `run_dir`, the run gets config.json (enough to rebuild the model) and eval.json
    besides the trainer's files.
    """
    model_cfg = model_cfg or ClassifierConfig()
    check_range("test_fraction", test_fraction, 0.0, 1.0, low_open=True)
    check_range("val_fraction", val_fraction, 0.0, 1.0 - test_fraction)
    rest, test = data.split(test_fraction, seed=cfg.seed)
    train, val = (rest, None)
    if val_fraction > 0:
        train, val = rest.split(val_fraction / (1.0 - test_fraction), seed=cfg.seed)
    n_classes = int(data.labels.max()) + 1
    seed_everything(cfg.seed)  # the initial weights
    model = build_classifier(model_cfg, data.image_shape, n_classes)
    if run_dir is not None:
        record_config(
            run_dir,
            {
                "model": asdict(model_cfg),
                "image_shape": list(data.image_shape),
                "n_classes": n_classes,
                "augment": None if aug is None else asdict(aug),
                "trainer": asdict(cfg),
            },
        )
    loss_fn = classification_loss if aug is None else augmented_loss(aug)
    trainer = Trainer(model, loss_fn, cfg, run_dir)
    history = trainer.fit(train, val, resume=resume)
    metrics = {f"test_{key}": value for key, value in trainer.evaluate(test).items()}
    n_val = 0 if val is None else len(val)
    metrics.update(epochs=len(history), n_train=len(train), n_val=n_val, n_test=len(test))
    if run_dir is not None:
        run_dir.write_json(run_dir.eval_path.name, metrics)
    return model, metrics
