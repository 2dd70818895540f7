import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from core.checkpoint import load_checkpoint
from core.errors import UserError
from core.metrics import MetricsLogger
from core.rundir import RunDir
from perception import MLP, MLPConfig
from supervised.data import ArrayDataset, load_digits_dataset
from supervised.trainer import Trainer, TrainerConfig


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset().split(0.2, seed=0)


def mlp(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Dropout(dropout), MLP(MLPConfig(64, 10, hidden=(32,))))


def cross_entropy(model, batch):
    images, labels = batch
    logits = model(images)
    accuracy = (logits.argmax(-1) == labels).float().mean()
    return F.cross_entropy(logits, labels), {"accuracy": accuracy}


def quiet(**overrides):
    return TrainerConfig(progress_bar=False, **overrides)


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_loss_falls_on_digits(digits):
    train, val = digits
    trainer = Trainer(mlp(), cross_entropy, quiet(epochs=4, learning_rate=1e-2))
    history = trainer.fit(train, val)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert history[-1]["val_accuracy"] > 0.85
    assert trainer.evaluate(val) == pytest.approx(
        {"loss": history[-1]["val_loss"], "accuracy": history[-1]["val_accuracy"]}
    )
    assert [row["step"] for row in trainer.logger.history] == [1, 2, 3, 4]


def test_early_stopping_stops_when_validation_loss_stalls(digits):
    train, val = digits
    # A zero learning rate never changes the model, so the validation loss never improves after epoch 1.
    trainer = Trainer(mlp(), cross_entropy, quiet(epochs=10, learning_rate=0.0, early_stopping_patience=2))
    history = trainer.fit(train, val)
    assert len(history) == 3 and trainer.stopped_early


def resume_setup(tmp_path, digits, interrupt_at=None):
    """A run with dropout, cosine schedule and momentum, optionally interrupted by a Ctrl-C mid-epoch."""
    calls = 0

    def loss_fn(model, batch):
        nonlocal calls
        calls += 1
        if calls == interrupt_at:
            raise KeyboardInterrupt
        return cross_entropy(model, batch)

    cfg = quiet(
        epochs=4, batch_size=128, optimizer="sgd", learning_rate=0.05, schedule="cosine", grad_clip=1.0
    )
    run = RunDir.create(tmp_path, "run", resume=(tmp_path / "run").exists())
    return Trainer(mlp(dropout=0.2), loss_fn, cfg, run, MetricsLogger(run.path, tensorboard=False))


def test_resume_after_interruption_equals_an_uninterrupted_run(tmp_path, digits):
    train, val = digits
    full = resume_setup(tmp_path / "a", digits)
    expected = full.fit(train, val)

    # 12 batches per epoch of training plus 3 of validation: call 40 is in the middle of epoch 3.
    interrupted = resume_setup(tmp_path / "b", digits, interrupt_at=40)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(train, val)
    assert load_checkpoint(tmp_path / "b" / "run" / "checkpoint.pt")["epoch"] == 2

    resumed = resume_setup(tmp_path / "b", digits)
    assert resumed.fit(train, val, resume=True) == expected
    for a, b in zip(params(full.model), params(resumed.model), strict=True):
        assert torch.equal(a, b)
    assert [row["step"] for row in resumed.logger.history] == [1, 2, 3, 4]
    best = load_checkpoint(tmp_path / "b" / "run" / "model.pt", kind="supervised model")
    assert best["loss"] == min(row["val_loss"] for row in expected)

    changed = resume_setup(tmp_path / "b", digits)
    changed.cfg.learning_rate = 0.1
    with pytest.raises(UserError, match="learning_rate differ"):
        changed.fit(train, val, resume=True)


def test_same_seed_same_run(digits):
    train, val = digits
    runs = [
        Trainer(mlp(dropout=0.3), cross_entropy, quiet(epochs=2, seed=seed)).fit(train, val)
        for seed in (1, 1, 2)
    ]
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_evaluate_weights_batches_by_size():
    data = ArrayDataset(np.zeros((10, 1, 1, 1)), np.arange(10))
    linear = nn.Linear(1, 1)

    def label_mean(model, batch):
        mean = batch[1].float().mean()
        return mean, {"double": 2 * mean}

    result = Trainer(linear, label_mean, quiet(batch_size=4)).evaluate(data)
    assert result == pytest.approx({"loss": 4.5, "double": 9.0})


def test_grad_clip_caps_the_step():
    data = ArrayDataset(np.ones((8, 1, 1, 1)), np.zeros(8))
    model = nn.Linear(1, 1)
    before = params(model)

    def big_loss(model, batch):
        return 1000.0 * model(batch[0].reshape(-1, 1)).sum(), {}

    cfg = quiet(epochs=1, batch_size=8, optimizer="sgd", momentum=0.0, learning_rate=0.1, grad_clip=0.5)
    Trainer(model, big_loss, cfg).fit(data)
    step = torch.cat([(a - b).flatten() for a, b in zip(params(model), before, strict=True)])
    assert step.norm().item() == pytest.approx(0.1 * 0.5, rel=1e-5)


def test_mistakes_are_user_errors(digits):
    train, _ = digits
    with pytest.raises(UserError, match="optimizer"):
        TrainerConfig(optimizer="adam")
    with pytest.raises(UserError, match="schedule"):
        TrainerConfig(schedule="step")
    with pytest.raises(UserError, match="val_data"):
        Trainer(mlp(), cross_entropy, quiet(early_stopping_patience=1)).fit(train)
    with pytest.raises(UserError, match="run directory"):
        Trainer(mlp(), cross_entropy, quiet()).fit(train, resume=True)
    with pytest.raises(UserError, match="loss became nan"):
        Trainer(mlp(), lambda m, b: (m(b[0]).sum() * float("nan"), {}), quiet()).fit(train)
