import math

import pytest
import torch

from core.errors import UserError
from supervised.ssl_losses import barlow_twins, info_nce, off_diagonal, vicreg, vicreg_terms


def test_info_nce_on_orthonormal_views_matches_the_closed_form():
    # Twins identical and every other view orthogonal: each of the 2N views scores 1/t against its twin
    # and 0 against the 2N - 2 others, so the loss is -log(e^(1/t) / (e^(1/t) + 2N - 2)).
    n, t = 3, 0.5
    z = torch.eye(n) * 7.0  # the scale is normalised away
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2 * n - 2))
    assert info_nce(z, z.clone(), temperature=t).item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_prefers_aligned_twins():
    torch.manual_seed(0)
    z1 = torch.randn(16, 8)
    assert info_nce(z1, z1 + 0.01 * torch.randn(16, 8)) < info_nce(z1, torch.randn(16, 8))


def test_vicreg_terms_on_hand_computed_batches():
    # z = [[1, 0], [-1, 0]]: variances (unbiased) 2 and 0, no covariance.
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    terms = vicreg_terms(z, z.clone())
    assert terms["invariance"].item() == 0.0
    per_branch = (0.0 + (1 - math.sqrt(1e-4))) / 2  # hinge max(0, 1 - sqrt(var + eps)) per dim, averaged
    assert terms["variance"].item() == pytest.approx(2 * per_branch)
    assert terms["covariance"].item() == 0.0

    # z = [[1, 1], [-1, -1]]: covariance matrix [[2, 2], [2, 2]], off-diagonal squares 8, over D = 2: 4.
    z = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    assert vicreg_terms(z, z.clone())["covariance"].item() == pytest.approx(2 * 4.0)

    # Invariance is the mean squared difference.
    a, b = torch.zeros(4, 3), torch.full((4, 3), 2.0)
    loss, terms = vicreg(a, b, sim_coeff=1.0, std_coeff=0.0, cov_coeff=0.0)
    assert terms["invariance"].item() == loss.item() == 4.0


def test_barlow_twins_is_zero_at_the_identity_and_4d_when_anticorrelated():
    z = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])  # standardised, uncorrelated
    assert barlow_twins(z, z.clone()).item() == pytest.approx(0.0, abs=1e-6)
    assert barlow_twins(z, -z).item() == pytest.approx(4 * 2, rel=1e-4)


def test_off_diagonal_and_bad_shapes():
    m = torch.arange(9.0).view(3, 3)
    assert off_diagonal(m).tolist() == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    with pytest.raises(UserError, match="same shape"):
        vicreg_terms(torch.zeros(4, 2), torch.zeros(4, 3))
    with pytest.raises(UserError, match="at least 2"):
        info_nce(torch.zeros(1, 2), torch.zeros(1, 2))
