"""Perception models shared by agents, world models and supervised tasks: plain nn.Modules with a config."""

from perception.conv import ConvDecoder, ConvDecoderConfig, ConvEncoder, ConvEncoderConfig
from perception.mlp import MLP, MLPConfig
from perception.patches import PatchEmbedding
from perception.transformer import Transformer, TransformerConfig
from perception.vae import VAE, VAEConfig

__all__ = [
    "MLP",
    "MLPConfig",
    "ConvEncoder",
    "ConvEncoderConfig",
    "ConvDecoder",
    "ConvDecoderConfig",
    "VAE",
    "VAEConfig",
    "Transformer",
    "TransformerConfig",
    "PatchEmbedding",
]
