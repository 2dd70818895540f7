import math

import pytest
import torch

from core.errors import UserError
from perception import PatchEmbedding, Transformer, TransformerConfig
from perception.transformer import sinusoidal_positions


def test_output_shapes():
    tokens = torch.randint(0, 11, (3, 9))
    assert Transformer(TransformerConfig(vocab_size=11))(tokens).shape == (3, 9, 64)
    assert Transformer(TransformerConfig(vocab_size=11, n_outputs=11, causal=True))(tokens).shape == (
        3,
        9,
        11,
    )
    vectors = torch.randn(3, 9, 5)
    assert Transformer(TransformerConfig(in_dim=5, pool="mean", n_outputs=2))(vectors).shape == (3, 2)
    assert Transformer(TransformerConfig(in_dim=5, pool="cls"))(vectors).shape == (3, 64)
    assert Transformer(TransformerConfig(dim=32))(torch.randn(3, 9, 32)).shape == (3, 9, 32)


def test_causal_mask_blocks_the_future():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(vocab_size=20, causal=True, depth=3))
    tokens = torch.randint(0, 20, (2, 10))
    changed = tokens.clone()
    changed[:, 6] = (changed[:, 6] + 1) % 20
    before, after = model(tokens), model(changed)
    assert torch.allclose(before[:, :6], after[:, :6], atol=1e-6)
    assert not torch.allclose(before[:, 6:], after[:, 6:])


def test_without_causal_mask_every_output_sees_every_token():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(vocab_size=20))
    tokens = torch.randint(0, 20, (1, 10))
    changed = tokens.clone()
    changed[0, 9] = (changed[0, 9] + 1) % 20
    assert not torch.allclose(model(tokens)[:, 0], model(changed)[:, 0])


@pytest.mark.parametrize("causal", [False, True])
def test_fused_attention_equals_explicit(causal):
    torch.manual_seed(0)
    cfg = dict(in_dim=3, causal=causal, depth=2, heads=4)
    fused = Transformer(TransformerConfig(**cfg))
    explicit = Transformer(TransformerConfig(**cfg, fused_attention=False))
    explicit.load_state_dict(fused.state_dict())
    x = torch.randn(2, 12, 3)
    assert torch.allclose(fused(x), explicit(x), atol=1e-5)


def test_sinusoidal_positions_match_the_formula():
    table = sinusoidal_positions(50, 8)
    for p in (0, 1, 17, 49):
        for i in range(4):
            angle = p / 10000 ** (2 * i / 8)
            assert math.isclose(table[p, 2 * i].item(), math.sin(angle), abs_tol=1e-5)
            assert math.isclose(table[p, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-5)


def test_sinusoidal_positions_are_a_fixed_buffer():
    model = Transformer(TransformerConfig(vocab_size=5, positions="sinusoidal", max_len=16))
    assert torch.equal(model.positions, sinusoidal_positions(16, 64))
    assert "positions" not in dict(model.named_parameters())


def test_positions_make_order_matter():
    torch.manual_seed(0)
    model = Transformer(TransformerConfig(vocab_size=5, positions="sinusoidal"))
    tokens = torch.tensor([[0, 1, 2, 3]])
    assert not torch.allclose(model(tokens)[0, 0], model(tokens.flip(1))[0, 3])


def test_num_parameters_follows_the_documented_formula():
    d, r, depth = 32, 4, 3
    per_block = (4 + 2 * r) * d**2 + (9 + r) * d
    cfg = TransformerConfig(dim=d, depth=depth, heads=4, mlp_ratio=r, max_len=20, in_dim=7, n_outputs=3)
    expected = depth * per_block + (7 * d + d) + 20 * d + 2 * d + (d * 3 + 3)
    assert Transformer(cfg).num_parameters() == expected
    with_cls = TransformerConfig(dim=d, depth=1, max_len=20, vocab_size=9, pool="cls", positions="sinusoidal")
    assert Transformer(with_cls).num_parameters() == per_block + 9 * d + d + 2 * d


def test_residual_projections_start_smaller():
    model = Transformer(TransformerConfig(dim=64, depth=8, in_dim=4))
    assert abs(model.blocks[0].attn.qkv.weight.std().item() - 0.02) < 0.002
    assert abs(model.blocks[0].attn.proj.weight.std().item() - 0.02 / 4) < 0.0005


def test_gradients_reach_every_parameter():
    model = Transformer(TransformerConfig(dim=16, heads=2, vocab_size=6, pool="cls", n_outputs=2))
    model(torch.randint(0, 6, (2, 5))).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_vit_on_patches():
    patches = PatchEmbedding((3, 36, 48), patch=12, dim=32)
    assert patches.num_patches == 12
    images = torch.randint(0, 256, (2, 3, 36, 48), dtype=torch.uint8)
    tokens = patches(images)
    assert tokens.shape == (2, 12, 32)
    assert torch.allclose(tokens, patches(images.float() / 255))
    vit = Transformer(TransformerConfig(dim=32, max_len=patches.num_patches, pool="cls", n_outputs=4))
    assert vit(tokens).shape == (2, 4)


def test_patch_tokens_are_linear_maps_of_patches_in_row_order():
    torch.manual_seed(0)
    patches = PatchEmbedding((1, 4, 6), patch=2, dim=5)
    image = torch.randn(1, 1, 4, 6)
    weight, bias = patches.proj.weight.reshape(5, 4), patches.proj.bias
    row, col = 1, 2  # the 6th patch of 2 rows x 3 columns
    patch = image[0, 0, 2 * row : 2 * row + 2, 2 * col : 2 * col + 2].reshape(4)
    assert torch.allclose(patches(image)[0, row * 3 + col], weight @ patch + bias, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"dim": 30, "heads": 4}, "multiple of heads"),
        ({"positions": "rotary"}, "unknown positions 'rotary'"),
        ({"positions": "sinusoidal", "dim": 9, "heads": 3}, "even dim"),
        ({"pool": "max"}, "unknown pool 'max'"),
        ({"pool": "cls", "causal": True}, "non-causal"),
        ({"in_dim": 3, "vocab_size": 5}, "not both"),
        ({"dropout": 1.0}, "dropout"),
        ({"depth": 0}, "depth"),
        ({"n_outputs": 0}, "n_outputs"),
    ],
)
def test_bad_config_is_a_user_error(kwargs, match):
    with pytest.raises(UserError, match=match):
        TransformerConfig(**kwargs)


def test_bad_inputs_are_user_errors():
    model = Transformer(TransformerConfig(vocab_size=5, max_len=4))
    with pytest.raises(UserError, match="longer than max_len 4"):
        model(torch.zeros(1, 5, dtype=torch.long))
    with pytest.raises(UserError, match=r"expects tokens \[B, T\]"):
        model(torch.zeros(1, 3, 2, dtype=torch.long))
    with pytest.raises(UserError, match=r"expects tokens \[B, T, 7\]"):
        Transformer(TransformerConfig(in_dim=7))(torch.zeros(1, 3, 6))
    with pytest.raises(UserError, match="does not split into 5x5 patches"):
        PatchEmbedding((3, 36, 48), patch=5, dim=8)
    with pytest.raises(UserError, match="expects"):
        PatchEmbedding((3, 8, 8), patch=4, dim=8)(torch.zeros(1, 8, 8, 3))


def test_overlapping_patches_keep_the_token_grid_and_see_their_neighbours():
    torch.manual_seed(0)
    patches = PatchEmbedding((1, 8, 8), patch=4, dim=6, stride=2)
    assert patches.num_patches == 16
    image = torch.randn(1, 1, 8, 8)
    tokens = patches(image)
    assert tokens.shape == (1, 16, 6)
    # Token (1, 1) reads rows and columns 1..4 (stride 2, one pixel of padding): a change at (4, 4)
    # reaches it, and the non-overlapping tokens of stride 4 would not share it with token (1, 2).
    changed = image.clone()
    changed[0, 0, 4, 4] += 1.0
    moved = (patches(changed) - tokens).abs().sum(-1)[0].view(4, 4)
    assert moved[1, 1] > 0 and moved[1, 2] > 0 and moved[0, 0] == 0
    with pytest.raises(UserError, match="stride"):
        PatchEmbedding((1, 8, 8), patch=4, dim=6, stride=3)
