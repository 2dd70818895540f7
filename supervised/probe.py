"""Evaluation of frozen features: the same linear, k-NN and regression probes for learned features and raw
pixels, so that a representation is judged against the input it was learned from.

The linear and regression probes standardise the features with the training split's statistics (a
linear probe's usual batch-norm without affine, He et al. 2020); each probe fits scikit-learn's estimator
on the training split only and scores it on the test split.
"""

from __future__ import annotations

import numpy as np

from core.errors import UserError

_MAX_ITER = 2000


def _check(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> None:
    for name, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
        if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
            raise UserError(
                f"{name} features must be [N, D] with N = len(labels) > 0, got {x.shape} and {y.shape}"
            )
    if train_x.shape[1] != test_x.shape[1]:
        raise UserError(f"train and test features differ in width: {train_x.shape[1]} vs {test_x.shape[1]}")


def _standardise(train_x: np.ndarray, test_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train_x.mean(0), train_x.std(0)
    std = np.where(std > 1e-8, std, 1.0)  # constant dimensions (dead units, black border pixels) stay 0
    return (train_x - mean) / std, (test_x - mean) / std


def linear_probe(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, c: float = 1.0
) -> float:
    """Test accuracy of a multinomial logistic regression (inverse L2 strength `c`) on the features."""
    from sklearn.linear_model import LogisticRegression

    _check(train_x, train_y, test_x, test_y)
    train_x, test_x = _standardise(train_x, test_x)
    model = LogisticRegression(C=c, max_iter=_MAX_ITER).fit(train_x, train_y)
    return float(model.score(test_x, test_y))


def knn_probe(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, k: int = 5
) -> float:
    """Test accuracy of a `k`-nearest-neighbour vote (Euclidean, on the features as they are).

    Not standardised, unlike the other probes: distances would then weigh a near-constant pixel (a
    digit's border) as much as a stroke, and k-NN on raw pixels is the usual baseline.
    """
    from sklearn.neighbors import KNeighborsClassifier

    _check(train_x, train_y, test_x, test_y)
    model = KNeighborsClassifier(n_neighbors=k).fit(train_x, train_y)
    return float(model.score(test_x, test_y))


def regression_probe(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, alpha: float = 1.0
) -> float:
    """Test R² (averaged over the targets' columns) of a ridge regression (L2 strength `alpha`) on the
    features: how linearly the features encode a quantity, e.g. the agent's position."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    _check(train_x, train_y, test_x, test_y)
    train_x, test_x = _standardise(train_x, test_x)
    model = Ridge(alpha=alpha).fit(train_x, train_y.astype(np.float64))
    return float(r2_score(test_y.astype(np.float64), model.predict(test_x)))
