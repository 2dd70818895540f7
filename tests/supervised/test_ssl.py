import numpy as np
import pytest
import torch

from core.errors import UserError
from core.rundir import RunDir
from supervised.augment import AugmentConfig
from supervised.data import ArrayDataset, load_digits_dataset
from supervised.probe import knn_probe, linear_probe, regression_probe
from supervised.ssl import FullBatches, SSLConfig, SSLModel, extract_features, frozen_features, train_ssl
from supervised.trainer import TrainerConfig


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset().split(0.3, seed=0)


@pytest.mark.parametrize("method", ["simclr", "vicreg", "barlow"])
def test_pretraining_lowers_the_loss(method, digits, tmp_path):
    train, _ = digits
    cfg = TrainerConfig(epochs=3, batch_size=128, learning_rate=2e-3, progress_bar=False)
    run = RunDir.create(tmp_path, method)
    model, history = train_ssl(
        train, cfg, SSLConfig(method=method, feature_dim=32), AugmentConfig.ssl_digits(), run
    )
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert run.read_config()["ssl"]["method"] == method and run.model_path.is_file()
    features = extract_features(frozen_features(model), train)
    assert features.shape == (len(train), 32)


def test_channels_last_encoder_takes_gymnasium_frames():
    model = SSLModel((3, 36, 48), SSLConfig(channels_last=True, feature_dim=16))
    assert model.encoder.cfg.in_shape == (36, 48, 3)
    assert model.features(torch.rand(2, 3, 36, 48)).shape == (2, 16)
    assert model.encoder(torch.zeros(2, 36, 48, 3, dtype=torch.uint8)).shape == (2, 16)
    trunk = SSLModel((3, 36, 48), SSLConfig(channels_last=True, feature_dim=None, projector=(8,)))
    assert trunk.features(torch.rand(2, 3, 36, 48)).shape == (2, 64 * 6 * 9)  # the conv trunk's features
    assert trunk(torch.rand(2, 3, 36, 48)).shape == (2, 8)
    frames = torch.rand(2, 3, 36, 48)
    assert torch.equal(trunk.trunk_features(frames), trunk.features(frames))
    assert model.trunk_features(frames).shape == (2, 64 * 6 * 9)
    # The trunk's features, through the encoder's last layer, are the features.
    head = model.encoder.net[-2:]
    assert torch.allclose(head(model.trunk_features(frames)), model.features(frames), atol=1e-6)


def test_ssl_model_takes_a_trunk_of_its_own():
    cfg = SSLConfig(channels=[4, 8], kernels=[8, 4], strides=[4, 2], feature_dim=None, channels_last=True)
    model = SSLModel((3, 56, 56), cfg)
    assert cfg.channels == (4, 8) and model.encoder.cfg.channels == (4, 8)
    assert model.features(torch.rand(2, 3, 56, 56)).shape == (2, 8 * 5 * 5)  # 56 -> 13 -> 5
    with pytest.raises(UserError, match="together"):
        SSLConfig(channels=(4, 8), kernels=(8, 4))


def test_full_batches_drop_the_remainder(digits):
    train, _ = digits
    source = FullBatches(train, 500)
    sizes = [len(x) for x, _ in source.batches(500, np.random.default_rng(0))]
    assert sizes == [500, 500] and len(source) == 1000
    with pytest.raises(UserError, match="fewer than one batch"):
        FullBatches(train.subset(np.arange(10)), 64)
    with pytest.raises(UserError, match="unknown method"):
        SSLConfig(method="byol")


def test_probes_on_separable_data_and_against_noise():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = rng.normal(size=(120, 5)) + 4 * np.eye(3, 5)[y]
    assert linear_probe(x[::2], y[::2], x[1::2], y[1::2]) > 0.95
    assert knn_probe(x[::2], y[::2], x[1::2], y[1::2]) > 0.95
    noise = rng.normal(size=(120, 5))
    assert linear_probe(noise[::2], y[::2], noise[1::2], y[1::2]) < 0.7

    position = rng.uniform(size=(120, 2))
    features = np.concatenate([position @ rng.normal(size=(2, 6)), rng.normal(size=(120, 3))], axis=1)
    assert regression_probe(features[::2], position[::2], features[1::2], position[1::2], alpha=1e-3) > 0.999
    with pytest.raises(UserError, match="differ in width"):
        linear_probe(x[:10], y[:10], x[:10, :3], y[:10])


def test_array_dataset_holds_sequences():
    data = ArrayDataset(np.zeros((4, 3, 5)), np.arange(4))
    assert data.image_shape == (3, 5)
