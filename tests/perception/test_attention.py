import math

import torch

from perception.attention import SelfAttention, causal_mask, explicit_attention


def test_explicit_attention_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    v = torch.tensor([[10.0], [20.0]])
    # query 0 scores (1, 0) / sqrt(2); query 1 scores (0, 2) / sqrt(2)
    w0 = torch.softmax(torch.tensor([1.0, 0.0]) / math.sqrt(2), 0)
    w1 = torch.softmax(torch.tensor([0.0, 2.0]) / math.sqrt(2), 0)
    expected = torch.stack([w0 @ v, w1 @ v])
    assert torch.allclose(explicit_attention(q, k, v), expected)
    # causal: query 0 sees only key 0
    assert torch.allclose(explicit_attention(q, k, v, causal=True)[0], v[0])


def test_causal_mask_is_lower_triangular():
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]


def test_fused_equals_explicit():
    torch.manual_seed(0)
    x = torch.randn(2, 7, 16)
    for causal in (False, True):
        fused = SelfAttention(16, heads=4, dropout=0.0, causal=causal, fused=True)
        explicit = SelfAttention(16, heads=4, dropout=0.0, causal=causal, fused=False)
        explicit.load_state_dict(fused.state_dict())
        assert torch.allclose(fused(x), explicit(x), atol=1e-6)


def test_heads_attend_independently():
    """Each head's output equals single-head attention on its own slice of q, k and v."""
    torch.manual_seed(0)
    attn = SelfAttention(8, heads=2, dropout=0.0, causal=False, fused=False)
    x = torch.randn(1, 5, 8)
    q, k, v = attn.qkv(x).split(8, dim=-1)
    per_head = [explicit_attention(q[..., h : h + 4], k[..., h : h + 4], v[..., h : h + 4]) for h in (0, 4)]
    assert torch.allclose(attn(x), attn.proj(torch.cat(per_head, dim=-1)), atol=1e-6)
