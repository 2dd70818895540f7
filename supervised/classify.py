"""Image classification: a ConvEncoder trunk and a linear head, trained by the shared Trainer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from torch import Tensor, nn
from torch.nn import functional as F

from core.rundir import RunDir
from core.seeding import seed_everything
from core.validation import check_positive_int, check_range
from perception import ConvEncoder, ConvEncoderConfig
from supervised.data import ArrayDataset
from supervised.trainer import Trainer, TrainerConfig


class ImageClassifier(nn.Module):
    """`images [B, C, H, W] -> logits [B, n_classes]`: conv features, then one linear layer."""

    def __init__(self, encoder: ConvEncoderConfig, n_classes: int) -> None:
        super().__init__()
        self.encoder = ConvEncoder(encoder)
        self.head = nn.Linear(self.encoder.feature_dim, check_positive_int(n_classes, "n_classes"))

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.encoder(images))


def classification_loss(model: nn.Module, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
    """Cross-entropy of the logits against the labels, and the batch's accuracy."""
    images, labels = batch
    logits = model(images)
    accuracy = (logits.argmax(dim=-1) == labels).float().mean()
    return F.cross_entropy(logits, labels), {"accuracy": accuracy}


def train_classifier(
    data: ArrayDataset,
    cfg: TrainerConfig,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    feature_dim: int = 128,
    run_dir: RunDir | None = None,
) -> tuple[ImageClassifier, dict[str, Any]]:
    """Train a classifier on stratified train/val/test splits of `data`; return it and its test metrics.

    The splits are drawn with `cfg.seed`; `val_fraction` is of the whole data set. The trunk is the
    Nature CNN fitted to the image size (see `ConvEncoderConfig.nature`). With a `run_dir`, the run
    gets config.json (enough to rebuild the model) and eval.json besides the trainer's files.
    """
    check_range("test_fraction", test_fraction, 0.0, 1.0, low_open=True)
    check_range("val_fraction", val_fraction, 0.0, 1.0 - test_fraction, low_open=True)
    rest, test = data.split(test_fraction, seed=cfg.seed)
    train, val = rest.split(val_fraction / (1.0 - test_fraction), seed=cfg.seed)
    encoder = ConvEncoderConfig.nature(data.image_shape, out_dim=feature_dim)
    n_classes = int(data.labels.max()) + 1
    seed_everything(cfg.seed)  # the initial weights
    model = ImageClassifier(encoder, n_classes)
    if run_dir is not None:
        run_dir.write_config(
            {"task": "classify", "encoder": asdict(encoder), "n_classes": n_classes, "trainer": asdict(cfg)}
        )
    trainer = Trainer(model, classification_loss, cfg, run_dir)
    history = trainer.fit(train, val)
    metrics = {f"test_{key}": value for key, value in trainer.evaluate(test).items()}
    metrics.update(epochs=len(history), n_train=len(train), n_val=len(val), n_test=len(test))
    if run_dir is not None:
        run_dir.write_json(run_dir.eval_path.name, metrics)
    return model, metrics
