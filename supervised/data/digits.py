"""scikit-learn's 8x8 handwritten digits: real images shipped with the library, so nothing is downloaded."""

from __future__ import annotations

from supervised.data.array import ArrayDataset

DIGITS_MAX = 16.0  # pixel values are counts of set pixels in 4x4 blocks of a 32x32 bitmap, 0..16


def load_digits_dataset() -> ArrayDataset:
    """The 1,797 UCI digits as `[N, 1, 8, 8]` images in [0, 1], labels 0..9."""
    from sklearn.datasets import load_digits  # here: importing scikit-learn costs a second

    digits = load_digits()
    images = digits.images.reshape(-1, 1, 8, 8) / DIGITS_MAX
    return ArrayDataset(images, digits.target)
