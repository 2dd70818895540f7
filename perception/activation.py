"""Activation functions by name, and the orthogonal initialisation every perception model shares."""

from __future__ import annotations

import math

from torch import nn

from core.errors import UserError

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "elu": nn.ELU}

# Gain that keeps activations' scale through a layer (He et al. 2015; torch.nn.init.calculate_gain).
# GELU and ELU are ReLU-like for positive inputs, so they share ReLU's sqrt(2).
GAINS: dict[str, float] = {"relu": math.sqrt(2), "tanh": 5 / 3, "gelu": math.sqrt(2), "elu": math.sqrt(2)}


def check_activation(name: str) -> str:
    """Return `name`, or raise UserError listing the known activations."""
    if name not in ACTIVATIONS:
        raise UserError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return name


def make_activation(name: str) -> nn.Module:
    """A fresh activation module for `name` ("relu", "tanh", "gelu" or "elu")."""
    return ACTIVATIONS[check_activation(name)]()


def orthogonal_init_(layer: nn.Module, gain: float) -> None:
    """Orthogonal weights scaled by `gain` and zero biases (Saxe et al. 2014).

    Orthogonal matrices preserve norms, so with the activation's gain the signal neither explodes nor
    vanishes with depth; it is the initialisation of SB3's and CleanRL's policy networks.
    """
    nn.init.orthogonal_(layer.weight, gain)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
