import json

import torch

from core.checkpoint import load_checkpoint
from core.rundir import RunDir
from perception import ConvEncoderConfig
from supervised.classify import ImageClassifier, train_classifier
from supervised.data import load_digits_dataset
from supervised.trainer import TrainerConfig


def test_digits_classifier_beats_90_percent_in_a_few_epochs(tmp_path):
    cfg = TrainerConfig(epochs=5, batch_size=64, learning_rate=3e-3, progress_bar=False)
    run = RunDir.create(tmp_path, "digits")
    model, metrics = train_classifier(load_digits_dataset(), cfg, run_dir=run)  # about a second
    assert metrics["test_accuracy"] > 0.9
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 1797
    assert json.loads(run.eval_path.read_text())["test_accuracy"] == metrics["test_accuracy"]

    # config.json rebuilds the model, and model.pt holds weights it accepts.
    config = run.read_config()
    rebuilt = ImageClassifier(ConvEncoderConfig(**config["encoder"]), config["n_classes"])
    rebuilt.load_state_dict(load_checkpoint(run.model_path, kind="supervised model")["model"])
    assert rebuilt(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
