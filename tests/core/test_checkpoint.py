import numpy as np
import pytest
import torch

from core.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from core.errors import UserError


def _payload():
    return {
        "kind": "dqn",
        "weights": {"layer.weight": torch.randn(3, 2), "layer.bias": torch.zeros(3)},
        "hyperparams": {"gamma": 0.99, "hidden": [64, 64], "double": True, "note": None},
        "buffer": np.arange(6, dtype=np.float32).reshape(2, 3),
        "step": np.int64(1234),
        "mean": np.float64(0.25),  # a float subclass that weights_only would refuse as it is
        "pair": (1, "a"),
    }


def test_round_trip(tmp_path):
    payload = _payload()
    save_checkpoint(tmp_path / "model.pt", payload)
    loaded = load_checkpoint(tmp_path / "model.pt", kind="dqn")
    assert loaded["format"] == FORMAT and loaded["format_version"] == 1
    for name, tensor in payload["weights"].items():
        assert torch.equal(loaded["weights"][name], tensor)
    assert loaded["hyperparams"] == payload["hyperparams"]
    assert isinstance(loaded["buffer"], torch.Tensor)  # numpy arrays come back as tensors
    assert np.array_equal(loaded["buffer"].numpy(), payload["buffer"])
    assert loaded["step"] == 1234 and type(loaded["step"]) is int
    assert loaded["mean"] == 0.25 and type(loaded["mean"]) is float
    assert loaded["pair"] == (1, "a")


def test_unsupported_type_fails_before_writing(tmp_path):
    with pytest.raises(TypeError, match=r"payload\['opt'\]: cannot save 'object' values"):
        save_checkpoint(tmp_path / "model.pt", {"opt": object()})
    assert not any(tmp_path.iterdir())


def test_interrupted_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    save_checkpoint(path, {"kind": "dqn", "w": torch.ones(2)})

    def half_save(obj, f):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"kind": "dqn", "w": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="checkpoint not found: .*nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_file(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, _payload())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"corrupt checkpoint: .*model.pt \(truncated"):
        load_checkpoint(path)


def test_garbage_bytes(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"\x00garbage\xff" * 100)
    with pytest.raises(UserError, match=r"corrupt checkpoint: .*model.pt \("):
        load_checkpoint(path)


def test_foreign_torch_file(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(UserError, match=r"corrupt checkpoint: .* \(not an rlsuite checkpoint\)"):
        load_checkpoint(path)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"format": FORMAT, "format_version": 1, "x": np.arange(3)}, path)  # a numpy pickle
    with pytest.raises(UserError, match=r"corrupt checkpoint: .* \(holds objects other than"):
        load_checkpoint(path)


def test_wrong_kind(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, {"kind": "vae"})
    with pytest.raises(UserError, match=r"checkpoint .*model.pt holds a vae, not a dqn"):
        load_checkpoint(path, kind="dqn")
