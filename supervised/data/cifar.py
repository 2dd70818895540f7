"""Read CIFAR-10's "python version" batches (Krizhevsky 2009): pickled dicts of uint8 rows and labels.

The files are pickles, and unpickling can run code, so we only ever open files the user points at,
and through an unpickler that accepts nothing but numpy arrays and plain values: a tampered file
fails with a UserError instead of running anything.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import UserError
from supervised.data.array import ArrayDataset

CIFAR_SHAPE = (3, 32, 32)  # each row: 1024 red, then 1024 green, then 1024 blue values, row-major

# What pickled numpy arrays refer to (numpy 1 and 2 module names; `_codecs.encode` rebuilds bytes in
# protocol-2 pickles written by Python 3).
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global except those needed to rebuild a numpy array."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """`(images uint8 [N, 3, 32, 32], labels int64 [N])` from one CIFAR-10 batch file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    try:
        with path.open("rb") as f:
            # encoding="bytes": the batches were pickled by Python 2, their keys are byte strings.
            batch = _ArrayUnpickler(f, encoding="bytes").load()
    except Exception as e:  # unpickling raises many types on damaged input
        raise UserError(f"corrupt CIFAR batch: {path} ({type(e).__name__}: {e})") from e
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise UserError(f"corrupt CIFAR batch: {path} (expected a dict with b'data' and b'labels')")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"], dtype=np.int64)
    row = int(np.prod(CIFAR_SHAPE))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != row or labels.shape != (len(data),):
        raise UserError(
            f"corrupt CIFAR batch: {path} (data {data.dtype} {data.shape}, labels {labels.shape}; "
            f"expected uint8 [N, {row}] and [N])"
        )
    return data.reshape(-1, *CIFAR_SHAPE), labels


def cifar_dataset(paths: Sequence[str | Path]) -> ArrayDataset:
    """Several CIFAR-10 batch files joined into one dataset, images scaled to [0, 1]."""
    if not paths:
        raise UserError("cifar_dataset needs at least one batch file")
    parts = [read_cifar_batch(p) for p in paths]
    images = np.concatenate([images for images, _ in parts])
    return ArrayDataset(images / np.float32(255.0), np.concatenate([labels for _, labels in parts]))
