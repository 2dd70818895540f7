import imageio.v3 as iio
import numpy as np
import pytest
import torch

from core.errors import UserError
from core.rundir import RunDir
from perception import VAEConfig
from supervised.data import load_digits_dataset
from supervised.images import image_grid, save_png
from supervised.trainer import TrainerConfig
from supervised.vae_task import interpolations, save_vae_pictures, train_vae


def test_vae_on_digits_learns_and_saves_pictures(tmp_path):
    data = load_digits_dataset()
    cfg = TrainerConfig(epochs=4, batch_size=128, learning_rate=2e-3, progress_bar=False)
    run = RunDir.create(tmp_path, "vae")
    model, metrics, test = train_vae(data, cfg, VAEConfig((1, 8, 8), latent_dim=8, hidden=(64,)), run_dir=run)
    # The per-pixel figure is the per-image loss over 64 pixels; a trained model beats the untrained one.
    assert metrics["test_nelbo_per_pixel"] == pytest.approx(metrics["test_loss"] / 64)
    history = [row["train_loss"] for row in run_history(run)]
    assert history[-1] < history[0]
    paths = save_vae_pictures(model, test, run.path, n=4, scale=2)
    assert sorted(paths) == ["interpolation", "reconstructions", "samples"]
    grid = iio.imread(paths["interpolation"])
    assert grid.shape == (4 * 16 + 3, 8 * 16 + 7, 3)  # 4 pairs x 8 steps of 16x16 tiles, 1-pixel gaps


def run_history(run):
    import csv

    with run.metrics_path.open() as f:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]


def test_interpolation_ends_decode_the_posterior_means():
    torch.manual_seed(0)
    from perception import VAE

    model = VAE(VAEConfig((1, 8, 8), latent_dim=4, hidden=(16,)))
    a, b = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    line = interpolations(model, a, b, steps=5).view(2, 5, 1, 8, 8)
    mu_a, _ = model.encode(a)
    assert torch.allclose(line[:, 0], torch.sigmoid(model.decode(mu_a)), atol=1e-6)


def test_image_grid_layout_and_errors(tmp_path):
    grid = image_grid(np.ones((5, 1, 2, 3)), n_cols=2, scale=2)
    assert grid.shape == (3 * 4 + 2, 2 * 6 + 1, 3) and grid.dtype == np.uint8
    path = save_png(grid, tmp_path / "g.png")
    assert np.array_equal(iio.imread(path), grid)
    with pytest.raises(UserError, match=".png"):
        save_png(grid, tmp_path / "g.jpg")
    with pytest.raises(UserError, match="image_grid"):
        image_grid(np.ones((2, 2, 4, 4)), 2)
