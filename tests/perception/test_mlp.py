import math

import pytest
import torch

from core.errors import UserError
from perception import MLP, MLPConfig


def test_shapes_keep_leading_dims():
    mlp = MLP(MLPConfig(in_dim=5, out_dim=3, hidden=(16, 8)))
    assert mlp(torch.randn(5)).shape == (3,)
    assert mlp(torch.randn(4, 7, 5)).shape == (4, 7, 3)


def test_no_hidden_layers_is_one_linear_map():
    mlp = MLP(MLPConfig(in_dim=4, out_dim=2, hidden=()))
    assert [type(m) for m in mlp.net] == [torch.nn.Linear]


@pytest.mark.parametrize("activation,gain", [("relu", math.sqrt(2)), ("tanh", 5 / 3)])
def test_hidden_layers_are_orthogonal_with_activation_gain(activation, gain):
    torch.manual_seed(0)
    mlp = MLP(MLPConfig(in_dim=32, out_dim=4, hidden=(16, 16), activation=activation, out_gain=0.01))
    linears = [m for m in mlp.net if isinstance(m, torch.nn.Linear)]
    for layer in linears[:-1]:
        weight = layer.weight  # [out, in] with out <= in: orthonormal rows times the gain
        assert torch.allclose(weight @ weight.T, gain**2 * torch.eye(weight.shape[0]), atol=1e-5)
        assert torch.all(layer.bias == 0)
    last = linears[-1]
    assert torch.allclose(last.weight @ last.weight.T, 0.01**2 * torch.eye(4), atol=1e-7)
    assert torch.all(last.bias == 0)


def test_relu_gain_keeps_the_signal_scale():
    torch.manual_seed(0)
    mlp = MLP(MLPConfig(in_dim=256, out_dim=256, hidden=(256,) * 6, out_gain=1.0))
    x = torch.randn(512, 256)
    ratio = mlp(x).pow(2).mean() / x.pow(2).mean()
    assert 0.3 < ratio < 3  # with gain 1 instead of sqrt(2) this shrinks by about 2**6


def test_without_out_gain_last_layer_keeps_default_init():
    torch.manual_seed(0)
    last = MLP(MLPConfig(in_dim=64, out_dim=64, hidden=())).net[-1]
    assert last.weight.abs().max() <= 1 / math.sqrt(64)
    assert last.bias.abs().sum() > 0


def test_layer_norm_follows_each_hidden_linear():
    mlp = MLP(MLPConfig(in_dim=3, out_dim=1, hidden=(8, 8), activation="gelu", layer_norm=True))
    names = [type(m).__name__ for m in mlp.net]
    assert names == ["Linear", "LayerNorm", "GELU", "Linear", "LayerNorm", "GELU", "Linear"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"activation": "swish"}, "unknown activation 'swish'"),
        ({"in_dim": 0}, "in_dim"),
        ({"out_dim": 2.5}, "out_dim"),
        ({"hidden": (8, -1)}, "hidden width"),
    ],
)
def test_bad_config_is_a_user_error(kwargs, match):
    with pytest.raises(UserError, match=match):
        MLPConfig(**{"in_dim": 3, "out_dim": 2, **kwargs})
