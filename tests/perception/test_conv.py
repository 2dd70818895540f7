import pytest
import torch

from core.errors import UserError
from perception import ConvDecoder, ConvDecoderConfig, ConvEncoder, ConvEncoderConfig
from perception.conv import nature_layers

SHAPES = [(1, 8, 8), (3, 8, 8), (3, 36, 48), (1, 36, 48), (3, 64, 64), (1, 84, 84), (4, 84, 84), (3, 7, 9)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_encoder_shapes(shape, dtype):
    encoder = ConvEncoder(ConvEncoderConfig.nature(shape, out_dim=32))
    obs = torch.randint(0, 256, (2, *shape)).to(dtype)
    assert encoder(obs).shape == (2, 32)
    assert encoder.feature_dim == 32


@pytest.mark.parametrize("shape", SHAPES)
def test_conv_sizes_match_a_real_forward(shape):
    cfg = ConvEncoderConfig.nature(shape, out_dim=None)
    encoder = ConvEncoder(cfg)
    convs = encoder.net[:-1]  # everything before Flatten
    height, width = cfg.sizes()[-1]
    assert convs(torch.zeros(1, *shape)).shape == (1, 64, height, width)
    assert encoder(torch.zeros(3, *shape)).shape == (3, encoder.feature_dim)
    assert encoder.feature_dim == 64 * height * width


def test_nature_preset_is_the_published_trunk_on_atari_frames():
    cfg = ConvEncoderConfig.nature((4, 84, 84))
    assert (cfg.channels, cfg.kernels, cfg.strides) == ((32, 64, 64), (8, 4, 3), (4, 2, 1))
    assert cfg.sizes()[-1] == (7, 7) and cfg.conv_dim == 3136


@pytest.mark.parametrize("side,last", [(64, (8, 4)), (63, (3, 2)), (16, (3, 2)), (15, (3, 1)), (7, (3, 1))])
def test_nature_layers_rule(side, last):
    kernels, strides = nature_layers(side, 100)
    assert (kernels[0], strides[0]) == last


def test_uint8_is_scaled_by_1_over_255():
    encoder = ConvEncoder(ConvEncoderConfig.nature((3, 8, 8), out_dim=16))
    frames = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    assert torch.allclose(encoder(frames), encoder(frames.float() / 255))


def test_channels_last_matches_channels_first():
    torch.manual_seed(0)
    first = ConvEncoder(ConvEncoderConfig.nature((3, 36, 48), out_dim=16))
    last = ConvEncoder(ConvEncoderConfig.nature((36, 48, 3), out_dim=16, channels_last=True))
    last.load_state_dict(first.state_dict())
    frames = torch.randint(0, 256, (2, 3, 36, 48), dtype=torch.uint8)
    assert torch.allclose(first(frames), last(frames.permute(0, 2, 3, 1)))


def test_leading_dims_are_kept():
    encoder = ConvEncoder(ConvEncoderConfig.nature((1, 8, 8), out_dim=4))
    assert encoder(torch.zeros(1, 8, 8)).shape == (4,)
    assert encoder(torch.zeros(5, 2, 1, 8, 8)).shape == (5, 2, 4)


def test_wrong_image_shape_is_a_user_error():
    encoder = ConvEncoder(ConvEncoderConfig.nature((3, 8, 8)))
    with pytest.raises(UserError, match=r"expects images of shape"):
        encoder(torch.zeros(2, 8, 8, 3))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("channels_last", [False, True])
def test_decoder_returns_exactly_the_encoder_input_shape(shape, channels_last):
    if channels_last:
        shape = (shape[1], shape[2], shape[0])
    enc_cfg = ConvEncoderConfig.nature(shape, out_dim=8, channels_last=channels_last)
    encoder, decoder = ConvEncoder(enc_cfg), ConvDecoder(ConvDecoderConfig.mirror(enc_cfg, 8))
    obs = torch.rand(2, *shape)
    assert decoder(encoder(obs)).shape == obs.shape


def test_decoder_gradients_reach_the_latent():
    decoder = ConvDecoder(ConvDecoderConfig.nature((1, 36, 48), in_dim=6))
    z = torch.randn(3, 6, requires_grad=True)
    decoder(z).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_too_small_image_names_the_sizes():
    with pytest.raises(UserError, match=r"image 6x6 is too small .* layer 3 gets 2x2 input for a 3x3 kernel"):
        ConvEncoderConfig.nature((1, 6, 6))
    with pytest.raises(UserError, match=r"image 16x16 is too small"):
        ConvEncoderConfig((3, 16, 16), (32, 64), (8, 4), (4, 2))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"in_shape": (8, 8)}, "3 dims"),
        ({"kernels": (3,)}, "one entry per conv layer"),
        ({"strides": (1, 0)}, "strides"),
        ({"activation": "sigmoid"}, "unknown activation"),
        ({"out_dim": 0}, "out_dim"),
    ],
)
def test_bad_encoder_config_is_a_user_error(kwargs, match):
    base = {"in_shape": (1, 16, 16), "channels": (8, 8), "kernels": (3, 3), "strides": (1, 1)}
    with pytest.raises(UserError, match=match):
        ConvEncoderConfig(**{**base, **kwargs})


def test_bad_decoder_config_is_a_user_error():
    with pytest.raises(UserError, match="in_dim"):
        ConvDecoderConfig((1, 8, 8), (8,), (3,), (1,), in_dim=0)
