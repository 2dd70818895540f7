import os

import pytest

from core import atomic
from core.atomic import atomic_write, atomic_write_bytes, atomic_write_text


def test_writes_and_replaces(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    atomic_write_text(path, "one")
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"
    assert os.listdir(path.parent) == ["f.txt"]


def test_failing_rename_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_failing_writer_midway_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")

    def half_then_fail(f):
        f.write(b"half of the new")
        raise KeyboardInterrupt  # Ctrl-C during a save

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_permissions_follow_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
