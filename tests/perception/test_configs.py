"""Configs are saved as JSON with the model (DESIGN.md, run directories) and must rebuild it exactly."""

import json
from dataclasses import asdict

import pytest

from perception import (
    ConvDecoderConfig,
    ConvEncoderConfig,
    MLPConfig,
    TransformerConfig,
    VAEConfig,
)

CONFIGS = [
    MLPConfig(4, 2, hidden=(8, 8), activation="tanh", layer_norm=True, out_gain=0.01),
    ConvEncoderConfig.nature((36, 48, 3), out_dim=64, channels_last=True),
    ConvDecoderConfig.nature((1, 8, 8), in_dim=16),
    VAEConfig((1, 8, 8), latent_dim=4, conv=True, decoder="gaussian", sigma=None),
    TransformerConfig(dim=32, in_dim=5, pool="cls", n_outputs=3, positions="sinusoidal"),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda cfg: type(cfg).__name__)
def test_config_round_trips_through_json(cfg):
    loaded = type(cfg)(**json.loads(json.dumps(asdict(cfg))))  # tuples come back as lists
    assert loaded == cfg
