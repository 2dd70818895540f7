"""Self-supervised losses on two batches of embeddings `z1, z2 [N, D]` of two views of the same N images.

- InfoNCE / NT-Xent (SimCLR, Chen et al. 2020, eq. 1): contrastive; each view must pick its twin out of
  the 2N - 1 other views.
- VICReg (Bardes et al. 2022, eqs. 1-6): non-contrastive; the views agree (invariance), every
  dimension keeps a standard deviation of at least 1 over the batch (variance), and dimensions are
  decorrelated (covariance). The last two are what stop the trivial constant embedding.
- Barlow Twins (Zbontar et al. 2021, eq. 1): the cross-correlation matrix of the two views' standardised
  embeddings is pushed to the identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from core.errors import UserError


def _check_pair(z1: Tensor, z2: Tensor, min_batch: int) -> None:
    if z1.dim() != 2 or z1.shape != z2.shape:
        raise UserError(
            f"expected two embeddings of the same shape [N, D], got {tuple(z1.shape)}, {tuple(z2.shape)}"
        )
    if z1.shape[0] < min_batch:
        raise UserError(f"this loss needs a batch of at least {min_batch}, got {z1.shape[0]}")


def info_nce(z1: Tensor, z2: Tensor, temperature: float = 0.1) -> Tensor:
    """NT-Xent: mean over the 2N views of -log( exp(sim(i, j)/t) / sum_{k != i} exp(sim(i, k)/t) ),
    j being i's twin and sim the cosine similarity."""
    _check_pair(z1, z2, 2)
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    twins = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, twins)


def off_diagonal(matrix: Tensor) -> Tensor:
    """The off-diagonal entries of a square matrix, flattened."""
    d = matrix.shape[0]
    return matrix.flatten()[1:].view(d - 1, d + 1)[:, :-1].flatten()


def vicreg_terms(z1: Tensor, z2: Tensor, eps: float = 1e-4) -> dict[str, Tensor]:
    """The three VICReg terms, unweighted.

    invariance s = mean ||z1 - z2||^2 / D (the MSE), eq. 5;
    variance v = mean_d max(0, 1 - sqrt(Var(z_d) + eps)), each branch, summed over branches, eq. 1-2;
    covariance c = sum_{i != j} C(z)_ij^2 / D, C the batch covariance, each branch, summed, eq. 3-4.
    """
    _check_pair(z1, z2, 2)
    dim = z1.shape[1]
    invariance = F.mse_loss(z1, z2)
    variance = z1.new_zeros(())
    covariance = z1.new_zeros(())
    for z in (z1, z2):
        z = z - z.mean(dim=0)
        variance = variance + F.relu(1 - torch.sqrt(z.var(dim=0) + eps)).mean()
        cov = z.T @ z / (z.shape[0] - 1)
        covariance = covariance + off_diagonal(cov).pow(2).sum() / dim
    return {"invariance": invariance, "variance": variance, "covariance": covariance}


def vicreg(
    z1: Tensor, z2: Tensor, sim_coeff: float = 25.0, std_coeff: float = 25.0, cov_coeff: float = 1.0
) -> tuple[Tensor, dict[str, Tensor]]:
    """VICReg's loss, lambda s + mu v + nu c (eq. 6; the paper's lambda = mu = 25, nu = 1), and its terms."""
    terms = vicreg_terms(z1, z2)
    loss = sim_coeff * terms["invariance"] + std_coeff * terms["variance"] + cov_coeff * terms["covariance"]
    return loss, terms


def barlow_twins(z1: Tensor, z2: Tensor, lambd: float = 5e-3, eps: float = 1e-5) -> Tensor:
    """sum_i (1 - C_ii)^2 + lambd sum_{i != j} C_ij^2, with C the cross-correlation of the two views'
    embeddings, each dimension standardised over the batch."""
    _check_pair(z1, z2, 2)
    n = z1.shape[0]
    a = (z1 - z1.mean(0)) / (z1.std(0, unbiased=False) + eps)
    b = (z2 - z2.mean(0)) / (z2.std(0, unbiased=False) + eps)
    c = a.T @ b / n
    on_diag = (1 - torch.diagonal(c)).pow(2).sum()
    return on_diag + lambd * off_diagonal(c).pow(2).sum()
