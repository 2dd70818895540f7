"""A small pre-norm transformer encoder/decoder stack in the style of nanoGPT (Radford et al. 2019)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from core.errors import UserError
from core.validation import check_positive_int
from perception.attention import SelfAttention

POSITIONS = ("learned", "sinusoidal")
POOLS = ("cls", "mean", None)


@dataclass
class TransformerConfig:
    """Sizes and options of a Transformer.

    Tokens come in one of three forms: ids `[B, T]` (`vocab_size` set), vectors `[B, T, in_dim]`
    (`in_dim` set, projected linearly), or ready-made `[B, T, dim]` embeddings, e.g. from a
    PatchEmbedding (neither set). `causal` lets token t attend only to tokens <= t (a decoder).
    `pool` reduces the sequence to one vector: a learned [CLS] token prepended to it ("cls", Devlin et
    al. 2019), the mean of the outputs ("mean"), or None to keep one output per token. `n_outputs`
    adds a linear head after the final LayerNorm. `fused_attention` picks torch's
    scaled_dot_product_attention over the written-out softmax(q k^T / sqrt(d)) v (same result).
    """

    dim: int = 64
    depth: int = 2
    heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.0
    max_len: int = 256
    causal: bool = False
    positions: str = "learned"
    in_dim: int | None = None
    vocab_size: int | None = None
    n_outputs: int | None = None
    pool: str | None = None
    fused_attention: bool = True

    def __post_init__(self) -> None:
        for name in ("dim", "depth", "heads", "mlp_ratio", "max_len"):
            check_positive_int(getattr(self, name), name)
        for name in ("in_dim", "vocab_size", "n_outputs"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        if self.dim % self.heads:
            raise UserError(f"dim {self.dim} must be a multiple of heads {self.heads}")
        if not 0 <= self.dropout < 1:
            raise UserError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.positions not in POSITIONS:
            raise UserError(f"unknown positions {self.positions!r}; choose one of {', '.join(POSITIONS)}")
        if self.positions == "sinusoidal" and self.dim % 2:
            raise UserError(f"sinusoidal positions need an even dim, got {self.dim}")
        if self.pool not in POOLS:
            raise UserError(f"unknown pool {self.pool!r}; choose one of 'cls', 'mean' or None")
        if self.pool == "cls" and self.causal:
            raise UserError("pool='cls' needs a non-causal model: a first [CLS] token cannot see the rest")
        if self.in_dim is not None and self.vocab_size is not None:
            raise UserError("set in_dim (vector tokens) or vocab_size (token ids), not both")


def sinusoidal_positions(length: int, dim: int) -> Tensor:
    """`[length, dim]`: PE(p, 2i) = sin(p / 10000^(2i/dim)), PE(p, 2i+1) = cos(same) (Vaswani et al. 2017,
    section 3.5); each pair of dims is a clock of its own frequency, so relative offsets are linear maps."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    table = torch.empty(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class Block(nn.Module):
    """Pre-norm residual block: x + attn(LN(x)), then x + MLP(LN(x)).

    GPT-2's order: the residual stream is never normalised, so gradients reach early layers unscaled
    and training needs no learning-rate warmup (Xiong et al. 2020).
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.dim)
        self.attn = SelfAttention(cfg.dim, cfg.heads, cfg.dropout, cfg.causal, cfg.fused_attention)
        self.ln2 = nn.LayerNorm(cfg.dim)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.dim, cfg.mlp_ratio * cfg.dim),
            nn.GELU(),
            nn.Linear(cfg.mlp_ratio * cfg.dim, cfg.dim),
        )
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.dropout(self.attn(self.ln1(x)))
        return x + self.dropout(self.mlp(self.ln2(x)))


class Transformer(nn.Module):
    """Token embedding + positions -> `depth` Blocks -> final LayerNorm -> [pool] -> [head].

    Output: `[B, T, n_outputs or dim]`, or `[B, n_outputs or dim]` when pooled. Weights start as in
    GPT-2: normal(0, 0.02), zero biases, and the two projections that write into the residual stream
    scaled by 1/sqrt(2 depth) so its variance does not grow with depth.

    Parameters: each block has (4 + 2 r) dim^2 + (9 + r) dim, r = mlp_ratio (12 dim^2 + 13 dim for r=4:
    qkv 3 dim^2 + 3 dim, proj dim^2 + dim, MLP 2 r dim^2 + r dim + dim, two LayerNorms 4 dim); add the
    embedding (in_dim dim + dim, or vocab_size dim), learned positions max_len dim, [CLS] dim, the
    final LayerNorm 2 dim and the head dim n_outputs + n_outputs. See `num_parameters`.
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.vocab_size is not None:
            self.embed: nn.Module = nn.Embedding(cfg.vocab_size, cfg.dim)
        elif cfg.in_dim is not None:
            self.embed = nn.Linear(cfg.in_dim, cfg.dim)
        else:
            self.embed = nn.Identity()
        if cfg.positions == "learned":
            self.positions = nn.Parameter(torch.zeros(cfg.max_len, cfg.dim))
        else:
            self.register_buffer("positions", sinusoidal_positions(cfg.max_len, cfg.dim), persistent=False)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.dim)) if cfg.pool == "cls" else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.ln_f = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.n_outputs) if cfg.n_outputs is not None else None
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
        for block in self.blocks:
            for residual_out in (block.attn.proj, block.mlp[-1]):
                nn.init.normal_(residual_out.weight, std=0.02 / math.sqrt(2 * self.cfg.depth))
        for table in (self.positions, self.cls):
            if isinstance(table, nn.Parameter):
                nn.init.normal_(table, std=0.02)

    def num_parameters(self) -> int:
        """Number of trainable parameters (sinusoidal positions are a fixed buffer, not counted)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def forward(self, tokens: Tensor) -> Tensor:
        cfg = self.cfg
        width = cfg.in_dim or cfg.dim
        if cfg.vocab_size is not None:
            expected, ok = "[B, T]", tokens.dim() == 2
        else:
            expected, ok = f"[B, T, {width}]", tokens.dim() == 3 and tokens.shape[-1] == width
        if not ok:
            raise UserError(f"Transformer expects tokens {expected}, got {tuple(tokens.shape)}")
        length = tokens.shape[1]
        if length > cfg.max_len:
            raise UserError(f"sequence of {length} tokens is longer than max_len {cfg.max_len}")
        x = self.embed(tokens) + self.positions[:length]
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        x = self.ln_f(x)
        if cfg.pool == "cls":
            x = x[:, 0]
        elif cfg.pool == "mean":
            x = x.mean(dim=1)
        return self.head(x) if self.head is not None else x
