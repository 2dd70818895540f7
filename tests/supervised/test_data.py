import gzip
import pickle

import numpy as np
import pytest

from core.errors import UserError
from envs.gridworld.env import GridWorldEnv
from envs.gridworld.pixels import PixelPainter
from supervised.data import (
    ArrayDataset,
    cifar_dataset,
    frames_dataset,
    idx_dataset,
    load_digits_dataset,
    read_cifar_batch,
    read_idx,
)


def write_idx(path, array, code):
    """An IDX file written by hand from the format's definition, independent of the reader."""
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def toy_dataset(counts=(30, 10, 20)):
    labels = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    images = np.linspace(0, 1, len(labels), dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 2, 2))
    return ArrayDataset(images, labels)


@pytest.mark.parametrize("name", ["images.idx", "images.idx.gz"])
@pytest.mark.parametrize(
    "dtype,code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D)]
)
def test_idx_round_trip(tmp_path, name, dtype, code):
    array = (np.arange(2 * 3 * 4) * 11 - 5).astype(dtype).reshape(2, 3, 4)  # negatives wrap in uint8
    out = read_idx(write_idx(tmp_path / name, array, code))
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, array)


def test_idx_dataset_scales_mnist_style_files(tmp_path):
    images = np.array([[[0, 255], [51, 102]], [[255, 0], [0, 0]]], dtype=np.uint8)
    labels = np.array([7, 3], dtype=np.uint8)
    data = idx_dataset(write_idx(tmp_path / "x.idx", images, 8), write_idx(tmp_path / "y.idx", labels, 8))
    assert data.images.shape == (2, 1, 2, 2) and data.images.dtype == np.float32
    np.testing.assert_allclose(data.images[0, 0], [[0, 1], [0.2, 0.4]])
    np.testing.assert_array_equal(data.labels, [7, 3])


def test_idx_errors(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        read_idx(tmp_path / "missing.idx")
    (tmp_path / "magic.idx").write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(UserError, match="bad magic"):
        read_idx(tmp_path / "magic.idx")
    good = write_idx(tmp_path / "good.idx", np.zeros((4, 5), np.uint8), 8).read_bytes()
    (tmp_path / "short.idx").write_bytes(good[:-3])
    with pytest.raises(UserError, match="truncated IDX"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "header.idx").write_bytes(good[:6])
    with pytest.raises(UserError, match="header cut short"):
        read_idx(tmp_path / "header.idx")
    (tmp_path / "cut.idx.gz").write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(UserError, match="corrupt gzip"):
        read_idx(tmp_path / "cut.idx.gz")


def write_cifar(path, n, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    with path.open("wb") as f:
        pickle.dump({b"batch_label": b"test", b"data": data, b"labels": labels}, f, protocol=2)
    return data, labels


def test_cifar_batch_layout(tmp_path):
    data, labels = write_cifar(tmp_path / "data_batch_1", 3)
    images, out_labels = read_cifar_batch(tmp_path / "data_batch_1")
    assert images.shape == (3, 3, 32, 32) and images.dtype == np.uint8
    # Pixel (r, c) of channel k is element k*1024 + r*32 + c of the row.
    assert images[1, 2, 5, 7] == data[1, 2 * 1024 + 5 * 32 + 7]
    np.testing.assert_array_equal(out_labels, labels)
    joined = cifar_dataset([tmp_path / "data_batch_1", tmp_path / "data_batch_1"])
    assert len(joined) == 6 and joined.images.max() <= 1.0
    np.testing.assert_allclose(joined.images[4], images[1] / 255, rtol=1e-6)


class Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_cifar_errors(tmp_path):
    with pytest.raises(UserError, match="file not found"):
        read_cifar_batch(tmp_path / "missing")
    write_cifar(tmp_path / "good", 4)
    (tmp_path / "cut").write_bytes((tmp_path / "good").read_bytes()[:200])
    with pytest.raises(UserError, match="corrupt CIFAR"):
        read_cifar_batch(tmp_path / "cut")
    (tmp_path / "evil").write_bytes(pickle.dumps({b"data": Boom()}))
    with pytest.raises(UserError, match="refusing to load builtins.print"):
        read_cifar_batch(tmp_path / "evil")
    (tmp_path / "shape").write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(UserError, match="expected uint8"):
        read_cifar_batch(tmp_path / "shape")


def test_digits_shape_and_range():
    data = load_digits_dataset()
    assert data.images.shape == (1797, 1, 8, 8) and data.images.dtype == np.float32
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    assert data.labels.dtype == np.int64 and set(np.unique(data.labels)) == set(range(10))


def test_stratified_split_keeps_class_proportions():
    data = toy_dataset()
    rest, part = data.split(0.2, seed=1)
    assert np.bincount(part.labels).tolist() == [6, 2, 4]
    assert np.bincount(rest.labels).tolist() == [24, 8, 16]
    # The two sides are disjoint and cover the whole.
    values = np.concatenate([rest.images[:, 0, 0, 0], part.images[:, 0, 0, 0]])
    np.testing.assert_array_equal(np.sort(values), data.images[:, 0, 0, 0])


def test_split_is_seeded():
    data = toy_dataset()
    a, b, c = (data.split(0.3, seed=s, stratified=False)[1].images for s in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(UserError):
        data.split(1.0)


def test_batches_cover_every_example_once():
    data = toy_dataset()
    batches = list(data.batches(16, np.random.default_rng(0)))
    assert [len(y) for _, y in batches] == [16, 16, 16, 12]
    values = np.concatenate([x[:, 0, 0, 0].numpy() for x, _ in batches])
    np.testing.assert_array_equal(np.sort(values), data.images[:, 0, 0, 0])
    ordered = np.concatenate([y.numpy() for _, y in data.batches(16)])
    np.testing.assert_array_equal(ordered, data.labels)


def test_dataset_checks():
    with pytest.raises(UserError, match=r"\[0, 1\]"):
        ArrayDataset(np.full((2, 1, 2, 2), 255.0), np.zeros(2))
    with pytest.raises(UserError, match="labels"):
        ArrayDataset(np.zeros((2, 1, 2, 2)), np.zeros(3))


def pixel_env():
    return GridWorldEnv("book", obs="pixels")


def test_frames_are_labelled_with_the_agent_cell_and_reproducible():
    a = frames_dataset(pixel_env, 40, seed=3)
    b = frames_dataset(pixel_env, 40, seed=3)
    c = frames_dataset(pixel_env, 40, seed=4)
    assert a.images.shape == (40, 3, 36, 48) and a.labels.shape == (40, 2)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)
    painter_frame = PixelPainter(pixel_env().layout).paint(tuple(a.labels[7]))
    np.testing.assert_allclose(a.images[7], painter_frame.transpose(2, 0, 1) / 255, rtol=1e-6)


def test_frames_need_image_observations():
    with pytest.raises(UserError, match="uint8 image"):
        frames_dataset(lambda: GridWorldEnv("book", obs="coords"), 5)
