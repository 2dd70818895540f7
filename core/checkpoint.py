"""Save and load checkpoints: torch's zip format, loaded with `weights_only=True`.

`weights_only` loading cannot run code hidden in a file, so a payload holds only tensors and
python primitives (str, int, float, bool, None) in nested dicts, lists and tuples. Numpy arrays
and numpy scalars are converted on save (to tensors and python numbers), so they come back as
those types. Files are written atomically: an interrupted save never leaves half a checkpoint.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.atomic import atomic_write
from core.errors import UserError

FORMAT = "rlsuite-checkpoint"
FORMAT_VERSION = 1

_PRIMITIVES = (str, int, float, bool, type(None))


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write `payload` plus a format header to `path` atomically.

    Raises TypeError, before anything is written, if the payload holds a type that a
    `weights_only` load would refuse.
    """
    import torch  # here, not at the top: the CLI's planning commands never pay for importing torch

    if not isinstance(payload, dict):
        raise TypeError(f"checkpoint payload must be a dict, got {type(payload).__name__}")
    data = {**_to_loadable(payload, "payload"), "format": FORMAT, "format_version": FORMAT_VERSION}
    atomic_write(path, lambda f: torch.save(data, f))


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Load a checkpoint written by `save_checkpoint` onto the CPU, header keys included.

    If `kind` is given, the payload's "kind" entry must equal it (a DQN loader refuses a VAE).
    Every problem with the file raises UserError with a one-line message naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip; a cut-off zip loses its index
        raise UserError(f"corrupt checkpoint: {path} (truncated or not a checkpoint file)")
    import torch

    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:  # torch raises many types: unpickling, CRC, zip, EOF errors
        raise UserError(f"corrupt checkpoint: {path} ({_load_failure(e)})") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"corrupt checkpoint: {path} (not an rlsuite checkpoint)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise UserError(
            f"corrupt checkpoint: {path} (format version {version!r}; this rlsuite reads up to "
            f"{FORMAT_VERSION})"
        )
    if kind is not None and payload.get("kind") != kind:
        found = payload.get("kind") or "model of unknown kind"
        raise UserError(f"checkpoint {path} holds a {found}, not a {kind}")
    return payload


def save_model(path: str | Path, kind: str, config: dict[str, Any], model: Any) -> None:
    """A model's config and weights (its ``state_dict``) in one checkpoint, written atomically."""
    save_checkpoint(path, {"kind": kind, "config": config, "state": model.state_dict()})


def load_model(path: str | Path, kind: str, build: Callable[[dict[str, Any]], Any]) -> Any:
    """The model ``save_model`` wrote: ``build(config)`` makes it, the saved weights fill it."""
    payload = load_checkpoint(path, kind=kind)
    model = build(payload["config"])
    model.load_state_dict(payload["state"])
    return model


def _to_loadable(value: Any, where: str) -> Any:
    """Convert numpy values to torch/python ones, and reject anything weights_only refuses."""
    import torch

    # numpy scalars first: np.float64 is a float subclass, yet weights_only refuses to load it
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor) or isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"checkpoint {where}: numpy object arrays cannot be saved")
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, dict):
        return {k: _to_loadable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_to_loadable(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise TypeError(f"checkpoint {where}: cannot save {type(value).__name__!r} values")


def _load_failure(error: Exception, limit: int = 120) -> str:
    """A short, one-line reason why torch.load failed."""
    if str(error).startswith("Weights only load failed"):
        return "holds objects other than tensors and plain values"
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."
