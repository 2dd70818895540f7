"""One folder per training run: config, weights, metrics, evaluation results and media.

Layout (see DESIGN.md, "Run directories"):
    runs/<name>/config.json    everything needed to rebuild the model, plus library versions
    runs/<name>/model.pt       weights (written atomically)
    runs/<name>/metrics.csv    one row per logged step
    runs/<name>/tb/            TensorBoard events
    runs/<name>/eval.json      the latest evaluation
    runs/<name>/*.gif, *.png   media
"""

from __future__ import annotations

import json
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_text
from core.errors import UserError
from core.json_text import json_text


class RunDir:
    """Paths and small read/write helpers for one run folder. Build one with `create` or `open`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @classmethod
    def create(cls, root: str | Path = "runs", name: str | None = None, resume: bool = False) -> RunDir:
        """Make (or, with `resume`, reopen) the folder `root/name`; `name` defaults to a timestamp.

        A new run refuses a non-empty folder, so it never mixes its files into another run's.
        """
        root = Path(root)
        if name is None:
            name = _fresh_timestamp_name(root)
        _check_file_name(name, "run name")
        path = root / name
        if resume:
            if not path.is_dir():
                raise UserError(f"cannot resume: run directory {path} does not exist")
        elif path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UserError(
                f"run directory {path} already exists and is not empty (resume it or pick another name)"
            )
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Open an existing run for reading; it must hold a config.json."""
        run = cls(path)
        if not run.path.is_dir():
            raise UserError(f"run directory not found: {run.path}")
        if not run.config_path.is_file():
            raise UserError(f"not a run directory (no config.json): {run.path}")
        return run

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def model_path(self) -> Path:
        return self.path / "model.pt"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def eval_path(self) -> Path:
        return self.path / "eval.json"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tb"

    def write_config(self, config: dict[str, Any]) -> None:
        """Write `config` as config.json, adding the library versions that produced the run."""
        self.write_json(self.config_path.name, {**config, "versions": library_versions()})

    def read_config(self) -> dict[str, Any]:
        """Read config.json back; a missing or malformed file is a UserError."""
        return _read_json(self.config_path)

    def write_json(self, name: str, obj: dict[str, Any]) -> Path:
        """Write `obj` as pretty JSON to the file `name` inside the run, atomically."""
        path = self.media_path(name)
        atomic_write_text(path, json_text(obj, indent=2) + "\n")
        return path

    def media_path(self, name: str) -> Path:
        """Path for a file (GIF, PNG, JSON) directly inside the run folder."""
        _check_file_name(name, "file name")
        return self.path / name

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"


def library_versions() -> dict[str, str]:
    """Versions of python and the libraries that decide a run's numbers."""
    # Imported here so that merely importing this module does not pay for torch.
    import gymnasium
    import numpy
    import torch

    try:
        rlsuite = metadata.version("rlsuite")
    except metadata.PackageNotFoundError:
        rlsuite = "unknown"
    return {
        "python": platform.python_version(),
        "rlsuite": rlsuite,
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
    }


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"malformed JSON: {path} ({e})") from e
    if not isinstance(obj, dict):
        raise UserError(f"malformed JSON: {path} (expected an object)")
    return obj


def _fresh_timestamp_name(root: Path) -> str:
    """A timestamp name not yet taken under `root` (runs started in the same second get -2, -3...)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name, n = stamp, 1
    while (root / name).exists():
        n += 1
        name = f"{stamp}-{n}"
    return name


def _check_file_name(name: str, what: str) -> None:
    """A plain name, so that nothing is written outside the run folder."""
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise UserError(f"invalid {what}: {name!r} (must be a plain name, not a path)")
