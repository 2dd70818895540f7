import json

import pytest
import torch

from core.checkpoint import load_checkpoint
from core.errors import UserError
from core.rundir import RunDir
from supervised.augment import AugmentConfig
from supervised.classify import ClassifierConfig, build_classifier, train_classifier
from supervised.data import load_digits_dataset
from supervised.trainer import TrainerConfig


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset()


def test_digits_classifier_beats_90_percent_in_a_few_epochs(tmp_path, digits):
    cfg = TrainerConfig(epochs=5, batch_size=64, learning_rate=3e-3, progress_bar=False)
    run = RunDir.create(tmp_path, "digits")
    model, metrics = train_classifier(digits, cfg, run_dir=run)  # about a second
    assert metrics["test_accuracy"] > 0.9
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 1797
    assert json.loads(run.eval_path.read_text())["test_accuracy"] == metrics["test_accuracy"]

    # config.json rebuilds the model, and model.pt holds weights it accepts.
    config = run.read_config()
    rebuilt = build_classifier(
        ClassifierConfig(**config["model"]), config["image_shape"], config["n_classes"]
    )
    rebuilt.load_state_dict(load_checkpoint(run.model_path, kind="supervised model")["model"])
    assert rebuilt(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize(
    "tokens",
    [{"tokens": "patches"}, {"tokens": "rows"}, {"patch": 4, "patch_stride": 2, "stem_channels": (8,)}],
)
def test_transformer_classifier_learns_digits_with_augmentation(tokens, digits):
    cfg = TrainerConfig(epochs=3, batch_size=64, learning_rate=2e-3, progress_bar=False)
    model_cfg = ClassifierConfig(model="transformer", **tokens, dim=32, depth=1)
    _, metrics = train_classifier(digits, cfg, model_cfg, AugmentConfig.digits(), val_fraction=0)
    assert metrics["test_accuracy"] > 0.25 and metrics["n_val"] == 0  # chance is 0.1


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 36, 48), (1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_classifiers_fit_many_image_sizes(shape):
    for cfg in (
        ClassifierConfig(),
        ClassifierConfig(pad=2),
        ClassifierConfig(model="transformer", patch=4, patch_stride=2),
        ClassifierConfig(model="transformer", patch=4, patch_stride=2, stem_channels=(8, 4)),
        ClassifierConfig(model="transformer", patch=4),
        ClassifierConfig(model="transformer", tokens="rows"),
    ):
        assert build_classifier(cfg, shape, 7)(torch.rand(2, *shape)).shape == (2, 7)


def test_bad_classifier_configs():
    with pytest.raises(UserError, match="unknown model"):
        ClassifierConfig(model="rnn")
    with pytest.raises(UserError, match="unknown tokens"):
        ClassifierConfig(tokens="pixels")
    with pytest.raises(UserError, match="stem_channels needs tokens='patches'"):
        ClassifierConfig(model="transformer", tokens="rows", stem_channels=(8,))
    with pytest.raises(UserError, match="stem_channels entry"):
        ClassifierConfig(stem_channels=(8, 0))
    assert ClassifierConfig(stem_channels=8).stem_channels == (8,)
    with pytest.raises(UserError, match="patches"):
        build_classifier(ClassifierConfig(model="transformer", patch=3), (1, 8, 8), 10)
