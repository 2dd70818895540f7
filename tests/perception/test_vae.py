import math

import pytest
import torch
import torch.nn.functional as F

from core.errors import UserError
from perception import VAE, VAEConfig
from perception.vae import gaussian_kl


def _binary_batch(n=4, shape=(1, 8, 8), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand((n, *shape), generator=generator) > 0.5).float()


@pytest.mark.parametrize("conv", [False, True])
def test_shapes(conv):
    vae = VAE(VAEConfig((1, 8, 8), latent_dim=5, conv=conv, hidden=(32,)))
    x = _binary_batch(3)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (3, 5)
    recon, mu, logvar = vae(x)
    assert recon.shape == x.shape
    assert vae.sample(7, torch.Generator().manual_seed(0)).shape == (7, 1, 8, 8)


def test_conv_vae_on_channels_last_uint8_frames():
    vae = VAE(VAEConfig((36, 48, 3), latent_dim=4, conv=True, channels_last=True))
    frames = torch.randint(0, 256, (2, 36, 48, 3), dtype=torch.uint8)
    assert vae(frames)[0].shape == frames.shape
    assert torch.isfinite(vae.loss(frames)["loss"])


def test_bernoulli_loss_by_hand():
    torch.manual_seed(0)
    vae = VAE(VAEConfig((6,), latent_dim=3, hidden=(8,), beta=0.5))
    x = torch.tensor([[1.0, 0, 1, 1, 0, 0], [0, 0, 1, 0, 1, 1]])
    torch.manual_seed(1)
    out = vae.loss(x)

    torch.manual_seed(1)  # the same eps
    mu, logvar = vae.encode(x)
    z = mu + torch.exp(logvar / 2) * torch.randn(mu.shape)
    p = torch.sigmoid(vae.decode(z))
    bce = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(1)
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
    assert torch.allclose(out["recon"], bce.mean(), atol=1e-5)
    assert torch.allclose(out["kl"], kl.mean(), atol=1e-6)
    assert torch.allclose(out["loss"], bce.mean() + 0.5 * kl.mean(), atol=1e-5)


def test_gaussian_loss_is_the_normal_nll():
    torch.manual_seed(0)
    vae = VAE(VAEConfig((5,), latent_dim=2, decoder="gaussian", sigma=0.3, hidden=(8,)))
    x = torch.randn(3, 5)
    torch.manual_seed(1)
    out = vae.loss(x)
    torch.manual_seed(1)
    mean, _, _ = vae(x)
    nll = -torch.distributions.Normal(mean, 0.3).log_prob(x).sum(1).mean()
    assert torch.allclose(out["recon"], nll, atol=1e-5)


def test_learned_sigma_is_stationary_at_the_mean_squared_error():
    torch.manual_seed(0)
    vae = VAE(VAEConfig((5,), latent_dim=2, decoder="gaussian", sigma=None, hidden=(8,)))
    assert vae.log_sigma.requires_grad
    x = torch.randn(3, 5)
    torch.manual_seed(1)
    mean, _, _ = vae(x)
    with torch.no_grad():  # d/d log_sigma of 0.5 e^{-2s} S + D s is zero where e^{2s} = S / D
        vae.log_sigma.fill_(0.5 * math.log((x - mean).pow(2).mean().item()))
    torch.manual_seed(1)
    vae.loss(x)["recon"].backward()
    assert abs(vae.log_sigma.grad.item()) < 1e-4


def test_kl_is_zero_at_the_prior_and_matches_torch_distributions():
    assert torch.equal(gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)), torch.zeros(2))
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    q = torch.distributions.Normal(mu, torch.exp(logvar / 2))
    p = torch.distributions.Normal(torch.zeros(3, 4), torch.ones(3, 4))
    assert torch.allclose(gaussian_kl(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1), atol=1e-5)


def test_reparameterisation_gradient_flows_to_mu_and_logvar():
    vae = VAE(VAEConfig((4,), latent_dim=3, hidden=(8,)))
    mu = torch.randn(2, 3, requires_grad=True)
    logvar = torch.randn(2, 3, requires_grad=True)
    z = vae.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    z.sum().backward()
    eps = torch.randn((2, 3), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(mu.grad, torch.ones(2, 3))  # dz/dmu = 1
    assert torch.allclose(logvar.grad, 0.5 * torch.exp(logvar / 2) * eps)  # dz/dlogvar = sigma eps / 2


def test_loss_gradient_reaches_the_encoder():
    vae = VAE(VAEConfig((1, 8, 8), latent_dim=3, conv=True))
    vae.loss(_binary_batch(2))["loss"].backward()
    first_conv = vae.encoder[0].net[0]
    assert first_conv.weight.grad.abs().sum() > 0


def test_sample_is_reproducible_with_a_generator():
    vae = VAE(VAEConfig((1, 8, 8), latent_dim=3, hidden=(16,)))
    a = vae.sample(4, torch.Generator().manual_seed(3))
    b = vae.sample(4, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and 0 <= a.min() and a.max() <= 1


def _blobs(n, generator):
    """8x8 binary images of one random 3x3 to 5x5 square each: data with a few latent factors."""
    images = torch.zeros(n, 1, 8, 8)
    size = torch.randint(3, 6, (n,), generator=generator)
    row = torch.randint(0, 4, (n,), generator=generator)
    col = torch.randint(0, 4, (n,), generator=generator)
    for i in range(n):
        images[i, 0, row[i] : row[i] + size[i], col[i] : col[i] + size[i]] = 1
    return images


def test_vae_learns_blobs():
    torch.manual_seed(0)
    data = _blobs(256, torch.Generator().manual_seed(0))
    vae = VAE(VAEConfig((1, 8, 8), latent_dim=4, hidden=(64,)))
    optimiser = torch.optim.Adam(vae.parameters(), lr=3e-3)
    with torch.no_grad():
        before = vae.loss(data)["loss"].item()
    for step in range(300):
        batch = data[(step * 32) % 256 :][:32]
        loss = vae.loss(batch)["loss"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        after = vae.loss(data)
    assert after["loss"].item() < 0.4 * before
    assert after["kl"].item() > 1  # the latent is used, not collapsed to the prior
    # the mean reconstruction beats a per-pixel constant (the data's marginal), 64 * H(p) nats
    p = data.mean(0).clamp(1e-3, 1 - 1e-3)
    marginal = F.binary_cross_entropy(p.expand_as(data), data, reduction="none").flatten(1).sum(1).mean()
    assert after["recon"].item() < 0.4 * marginal.item()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"decoder": "poisson"}, "unknown decoder 'poisson'"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"beta": -1.0}, "beta"),
        ({"sigma": 0.0}, "sigma"),
        ({"in_shape": (64,), "conv": True}, "conv VAE needs an image shape"),
        ({"in_shape": (1, 5, 5), "conv": True}, "too small"),
        ({"in_shape": ()}, "at least one dim"),
        ({"activation": "relu6"}, "unknown activation"),
    ],
)
def test_bad_config_is_a_user_error(kwargs, match):
    with pytest.raises(UserError, match=match):
        VAEConfig(**{"in_shape": (1, 8, 8), **kwargs})


def test_wrong_input_shape_is_a_user_error():
    vae = VAE(VAEConfig((1, 8, 8), hidden=(8,)))
    with pytest.raises(UserError, match="expects inputs of shape"):
        vae.encode(torch.zeros(2, 64))
