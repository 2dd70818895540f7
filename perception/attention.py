"""Multi-head self-attention (Vaswani et al. 2017, section 3.2), written out and fused."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def causal_mask(length: int, device: torch.device | None = None) -> Tensor:
    """`[T, T]` boolean, True where query t may attend to key s: s <= t (no peeking at the future)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def explicit_attention(
    q: Tensor, k: Tensor, v: Tensor, causal: bool = False, dropout: nn.Module | None = None
) -> Tensor:
    """softmax(q k^T / sqrt(d)) v over `[..., T, d]` tensors (eq. 1), with future keys masked out
    (-inf before the softmax, so their weight is exactly 0) when `causal`."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        scores = scores.masked_fill(~causal_mask(q.shape[-2], q.device), float("-inf"))
    weights = scores.softmax(dim=-1)
    if dropout is not None:
        weights = dropout(weights)
    return weights @ v


class SelfAttention(nn.Module):
    """`[B, T, dim] -> [B, T, dim]`: `heads` attentions of size dim / heads side by side, then a projection.

    `fused` calls torch's scaled_dot_product_attention (the same maths in one kernel, and less memory);
    otherwise `explicit_attention` computes it step by step. Dropout applies to the attention weights.
    """

    def __init__(self, dim: int, heads: int, dropout: float, causal: bool, fused: bool) -> None:
        super().__init__()
        self.heads, self.dropout, self.causal, self.fused = heads, dropout, causal, fused
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attn_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        batch, length, dim = x.shape
        # [B, T, 3 * dim] -> three [B, heads, T, dim / heads]
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        if self.fused:
            p = self.dropout if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=self.causal)
        else:
            out = explicit_attention(q, k, v, self.causal, self.attn_dropout)
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))
