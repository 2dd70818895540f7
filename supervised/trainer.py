"""One training loop for every supervised task: classification, VAEs, self-supervised learning, world models.

A task supplies a model, data and `loss_fn(model, batch) -> (loss, metrics)`; the trainer owns the
rest: optimiser, learning-rate schedule, gradient clipping, per-epoch metrics, early stopping on the
validation loss, the best model, and a checkpoint after every epoch that `fit(..., resume=True)`
continues from exactly as if the run had never stopped (a Ctrl-C loses at most the current epoch).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from core.checkpoint import load_checkpoint, save_checkpoint
from core.errors import UserError
from core.metrics import MetricsLogger
from core.progress import progress_bar
from core.rundir import RunDir
from core.seeding import generator_from_json, generator_to_json, seed_everything
from core.validation import check_positive_int, check_range, check_seed

LossFn = Callable[[nn.Module, Any], tuple[Tensor, dict[str, float | Tensor]]]
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("constant", "cosine")
CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_KIND = "supervised trainer state"
MODEL_KIND = "supervised model"


class BatchSource(Protocol):
    """What the trainer trains on: a length and batches, shuffled by a numpy generator when given one."""

    def __len__(self) -> int: ...

    def batches(self, batch_size: int, rng: np.random.Generator | None = None) -> Iterable[Any]: ...


@dataclass
class TrainerConfig:
    """How to train. The defaults suit small image models; `momentum` applies to SGD only.

    `schedule="cosine"` anneals the rate to zero over all steps (Loshchilov & Hutter 2017, without
    restarts). `early_stopping_patience` stops after that many epochs without a lower validation
    loss (None: never). `grad_clip` caps the global gradient norm (None: no cap). `progress_bar`
    None shows the bar only in a terminal.
    """

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "constant"
    early_stopping_patience: int | None = None
    seed: int = 0
    grad_clip: float | None = None
    progress_bar: bool | None = None

    def __post_init__(self) -> None:
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        check_range("learning_rate", self.learning_rate, 0.0, math.inf)
        check_range("momentum", self.momentum, 0.0, 1.0)
        check_range("weight_decay", self.weight_decay, 0.0, math.inf)
        if self.early_stopping_patience is not None:
            check_positive_int(self.early_stopping_patience, "early_stopping_patience")
        check_seed(self.seed)
        if self.grad_clip is not None:
            check_range("grad_clip", self.grad_clip, 0.0, math.inf, low_open=True)


class Trainer:
    """Train `model` by minimising `loss_fn` on batches; see the module docstring for what it owns.

    With a `run_dir`, the best model so far (lowest validation loss, or training loss without
    validation data) is written to `run_dir.model_path` and the full training state to
    `checkpoint.pt` there, both atomically. Metrics go to `logger`, by default a MetricsLogger on
    the run folder (in memory only without one). After `fit` the model holds its last epoch's weights.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        cfg: TrainerConfig,
        run_dir: RunDir | None = None,
        logger: MetricsLogger | None = None,
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.cfg = cfg
        self.run_dir = run_dir
        self._owns_logger = logger is None
        self.logger = logger if logger is not None else MetricsLogger(run_dir.path if run_dir else None)
        self.optimizer = _make_optimizer(model, cfg)
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self.rng = np.random.default_rng(cfg.seed)
        self.epoch = 0
        self.history: list[dict[str, float]] = []
        self.best_loss = math.inf
        self.stale_epochs = 0

    @property
    def checkpoint_path(self) -> Path:
        """Where the training state is saved; a UserError without a run folder."""
        if self.run_dir is None:
            raise UserError("resuming needs a run directory to read the checkpoint from")
        return self.run_dir.path / CHECKPOINT_NAME

    @property
    def stopped_early(self) -> bool:
        """Whether the validation loss has not improved for `early_stopping_patience` epochs."""
        patience = self.cfg.early_stopping_patience
        return patience is not None and self.stale_epochs >= patience

    def fit(
        self, train_data: BatchSource, val_data: BatchSource | None = None, resume: bool = False
    ) -> list[dict[str, float]]:
        """Train for `cfg.epochs` epochs (or until early stopping); return one metrics dict per epoch.

        `resume=True` first loads the run folder's checkpoint: model, optimiser, schedule, random
        state, epoch and history, so the finished run equals an uninterrupted one. The config must
        be the one the run started with (only `progress_bar` may change).
        """
        cfg = self.cfg
        if cfg.early_stopping_patience is not None and val_data is None:
            raise UserError("early stopping watches the validation loss: pass val_data")
        if len(train_data) == 0:
            raise UserError("the training data is empty")
        steps_per_epoch = math.ceil(len(train_data) / cfg.batch_size)
        self.scheduler = _make_scheduler(self.optimizer, cfg, steps_per_epoch * cfg.epochs)
        if resume:
            self._load_state(load_checkpoint(self.checkpoint_path, kind=CHECKPOINT_KIND))
        else:
            self.rng = seed_everything(cfg.seed)  # torch's global RNG drives dropout and VAE sampling
        try:
            with progress_bar(steps_per_epoch * cfg.epochs, "train", cfg.progress_bar) as bar:
                bar.update(self.epoch * steps_per_epoch)
                while self.epoch < cfg.epochs and not self.stopped_early:
                    row = _prefixed("train", self._train_epoch(train_data, bar))
                    if val_data is not None:
                        row.update(_prefixed("val", self.evaluate(val_data)))
                    row["lr"] = self.optimizer.param_groups[0]["lr"]
                    self.epoch += 1
                    self.history.append({"epoch": self.epoch, **row})
                    self._end_epoch(row.get("val_loss", row["train_loss"]))
                    self.logger.log(self.epoch, **row)
                    bar.set_postfix(loss=f"{row['train_loss']:.4g}")
        finally:
            if self._owns_logger:  # flush TensorBoard's events, even after a Ctrl-C
                self.logger.close()
        return self.history

    @torch.no_grad()
    def evaluate(self, data: BatchSource) -> dict[str, float]:
        """The loss and metrics of `loss_fn` over all of `data`, in eval mode, weighted by batch size."""
        self.model.eval()
        totals: dict[str, float] = defaultdict(float)
        count = 0
        for batch in data.batches(self.cfg.batch_size):
            loss, metrics = self.loss_fn(self.model, batch)
            size = _batch_len(batch)
            for key, value in {"loss": loss, **metrics}.items():
                totals[key] += float(value) * size
            count += size
        if count == 0:
            raise UserError("cannot evaluate on empty data")
        return {key: total / count for key, total in totals.items()}

    def _train_epoch(self, data: BatchSource, bar: Any) -> dict[str, float]:
        self.model.train()
        totals: dict[str, float] = defaultdict(float)
        count = 0
        for batch in data.batches(self.cfg.batch_size, self.rng):
            loss, metrics = self.loss_fn(self.model, batch)
            if not torch.isfinite(loss):
                raise UserError(
                    f"the loss became {loss.item()} in epoch {self.epoch + 1}; try a lower learning_rate "
                    "or a grad_clip"
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            size = _batch_len(batch)
            for key, value in {"loss": loss.detach(), **metrics}.items():
                totals[key] += float(value) * size
            count += size
            bar.update(1)
        return {key: total / count for key, total in totals.items()}

    def _end_epoch(self, monitored_loss: float) -> None:
        """Track the best loss and patience; save the best model and the training state."""
        improved = monitored_loss < self.best_loss
        if improved:
            self.best_loss, self.stale_epochs = monitored_loss, 0
        else:
            self.stale_epochs += 1
        if self.run_dir is None:
            return
        if improved:
            save_checkpoint(
                self.run_dir.model_path,
                {
                    "kind": MODEL_KIND,
                    "model": self.model.state_dict(),
                    "epoch": self.epoch,
                    "loss": monitored_loss,
                },
            )
        save_checkpoint(self.checkpoint_path, self._state())

    def _state(self) -> dict[str, Any]:
        return {
            "kind": CHECKPOINT_KIND,
            "config": asdict(self.cfg),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "rng": generator_to_json(self.rng),
            "torch_rng": torch.get_rng_state(),
            "epoch": self.epoch,
            "history": self.history,
            "best_loss": self.best_loss,
            "stale_epochs": self.stale_epochs,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        saved, current = state["config"], asdict(self.cfg)
        changed = [key for key in current if key != "progress_bar" and saved.get(key) != current[key]]
        if changed:  # a different config would not continue the same run
            raise UserError(f"cannot resume with a changed training config: {', '.join(changed)} differ")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        self.rng = generator_from_json(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch = state["epoch"]
        self.history = state["history"]
        self.best_loss = state["best_loss"]
        self.stale_epochs = state["stale_epochs"]


def record_config(run_dir: RunDir, entries: dict[str, Any]) -> None:
    """Add `entries` to the run's config.json, keeping what is there (e.g. the CLI's task spec)."""
    existing = run_dir.read_config() if run_dir.config_path.is_file() else {}
    existing.pop("versions", None)
    run_dir.write_config({**existing, **entries})


def _make_optimizer(model: nn.Module, cfg: TrainerConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise UserError("the model has no trainable parameters")
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, cfg.learning_rate, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.AdamW(params, cfg.learning_rate, weight_decay=cfg.weight_decay)


def _make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainerConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Per-step cosine annealing to zero over the whole run, or None for a constant rate."""
    if cfg.schedule == "constant":
        return None
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}_{key}": value for key, value in metrics.items()}


def _batch_len(batch: Any) -> int:
    """Number of examples in a batch: a tensor, or a tuple/list/dict of tensors sharing dim 0."""
    if isinstance(batch, dict):
        batch = next(iter(batch.values()))
    if isinstance(batch, tuple | list):
        batch = batch[0]
    return len(batch)
