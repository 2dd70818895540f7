"""Read the IDX format of MNIST and Fashion-MNIST (LeCun et al.), gzipped or not.

An IDX file is: two zero bytes, a type code, the number of dims; then each dim as a big-endian
uint32; then the values, big-endian, row-major.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from core.errors import UserError
from supervised.data.array import ArrayDataset

IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in the IDX file `path`, in native byte order.

    A missing file, a bad header, or data shorter or longer than the header says raise UserError.
    """
    raw = _read_bytes(Path(path))
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise UserError(f"not an IDX file: {path} (bad magic number {raw[:4].hex() or 'none'})")
    dtype, ndim = np.dtype(IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"truncated IDX file: {path} (header cut short)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        state = "truncated" if len(raw) - header < expected else "corrupt"
        raise UserError(
            f"{state} IDX file: {path} (shape {shape} needs {expected} data bytes, found {len(raw) - header})"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def idx_dataset(images_path: str | Path, labels_path: str | Path) -> ArrayDataset:
    """A pair of MNIST-style IDX files (uint8 images `[N, H, W]`, labels `[N]`); images scaled to [0, 1]."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise UserError(f"{images_path}: expected uint8 images [N, H, W], got {images.dtype} {images.shape}")
    if labels.shape != (len(images),):
        raise UserError(f"{labels_path}: expected {len(images)} labels, got shape {labels.shape}")
    return ArrayDataset(images[:, None] / np.float32(255.0), labels)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as e:  # a cut-off or damaged gzip stream
        raise UserError(f"corrupt gzip file: {path} ({e})") from e
