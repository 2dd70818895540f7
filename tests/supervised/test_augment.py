import pytest
import torch

from core.errors import UserError
from supervised.augment import AugmentConfig, augment


@pytest.mark.parametrize("shape", [(5, 1, 8, 8), (3, 3, 36, 48), (2, 3, 32, 32), (2, 1, 28, 28)])
def test_augment_keeps_shape_and_range_for_many_sizes(shape):
    images = torch.rand(shape)
    for cfg in (AugmentConfig.digits(), AugmentConfig.ssl_digits(), AugmentConfig.ssl_frames()):
        out = augment(images, cfg, torch.Generator().manual_seed(0))
        assert out.shape == images.shape and out.min() >= 0 and out.max() <= 1


def test_augment_is_seeded_and_the_default_changes_nothing():
    images = torch.rand(4, 1, 8, 8)
    cfg = AugmentConfig.ssl_digits()
    a = augment(images, cfg, torch.Generator().manual_seed(3))
    b = augment(images, cfg, torch.Generator().manual_seed(3))
    c = augment(images, cfg, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.allclose(augment(images, AugmentConfig()), images)


def test_a_shift_moves_the_image():
    images = torch.zeros(1, 1, 8, 8)
    images[0, 0, 3:5, 3:5] = 1.0
    out = augment(images, AugmentConfig(max_shift=0.25), torch.Generator().manual_seed(0))
    assert not torch.allclose(out, images)
    assert out.sum().item() == pytest.approx(images.sum().item(), rel=0.3)  # moved, not erased


def test_bad_configs_raise_user_errors():
    with pytest.raises(UserError, match="crop_scale"):
        AugmentConfig(crop_scale=(0.5, 1.5))
    with pytest.raises(UserError, match="padding"):
        AugmentConfig(padding="reflect")
    with pytest.raises(UserError, match="float images"):
        augment(torch.zeros(2, 8, 8), AugmentConfig())
