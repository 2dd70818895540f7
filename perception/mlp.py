"""A multilayer perceptron: the body of value functions, policies and learned dynamics."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from core.validation import check_positive_int
from perception.activation import GAINS, check_activation, make_activation, orthogonal_init_


@dataclass
class MLPConfig:
    """Sizes and activation of an MLP.

    `hidden` lists the widths of the hidden layers (empty: one linear map). `layer_norm` puts a
    LayerNorm after each hidden linear layer, before its activation. `out_gain` scales the orthogonal
    init of the last layer (e.g. 0.01 for a policy's logits, 1.0 for a value head); None leaves that
    layer at PyTorch's default init (uniform in ±1/sqrt(fan_in)).
    """

    in_dim: int
    out_dim: int
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    layer_norm: bool = False
    out_gain: float | None = None

    def __post_init__(self) -> None:
        check_positive_int(self.in_dim, "in_dim")
        check_positive_int(self.out_dim, "out_dim")
        self.hidden = tuple(check_positive_int(width, "hidden width") for width in self.hidden)
        check_activation(self.activation)


class MLP(nn.Module):
    """`[..., in_dim] -> [..., out_dim]`: (Linear -> [LayerNorm] -> activation) per hidden layer, then Linear.

    Hidden layers get orthogonal weights with the activation's gain (sqrt(2) for ReLU, 5/3 for tanh)
    and zero biases; the last layer gets gain `out_gain` (see MLPConfig).
    """

    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        width = cfg.in_dim
        for out in cfg.hidden:
            linear = nn.Linear(width, out)
            orthogonal_init_(linear, GAINS[cfg.activation])
            layers.append(linear)
            if cfg.layer_norm:
                layers.append(nn.LayerNorm(out))
            layers.append(make_activation(cfg.activation))
            width = out
        last = nn.Linear(width, cfg.out_dim)
        if cfg.out_gain is not None:
            orthogonal_init_(last, cfg.out_gain)
        layers.append(last)
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
