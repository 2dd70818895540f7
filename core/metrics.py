"""Training metrics: a CSV file a human can open, TensorBoard events, and an in-memory history."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from types import TracebackType
from typing import Any

from core.atomic import atomic_write_text
from core.rundir import RunDir


class MetricsLogger:
    """Log scalars per step to `<run_dir>/metrics.csv` and TensorBoard (`<run_dir>/tb`).

    `run_dir=None` keeps the history in memory only. An existing metrics.csv (a resumed run) is
    read into the history and appended to. The CSV's columns are `step` then every key seen so
    far; a row missing a key leaves its cell empty.
    """

    def __init__(self, run_dir: str | Path | None, tensorboard: bool = True) -> None:
        self.history: list[dict[str, float]] = []
        self._columns: list[str] = ["step"]
        self._csv_path: Path | None = None
        self._writer: Any = None
        if run_dir is None:
            return
        run = RunDir(run_dir)
        run.path.mkdir(parents=True, exist_ok=True)
        self._csv_path = run.metrics_path
        if self._csv_path.is_file():
            self._read_existing()
        if tensorboard:
            # Lazy: TensorBoard's import costs seconds, and in-memory users never need it.
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(run.tensorboard_dir))

    def log(self, step: int, **scalars: float) -> None:
        """Record `scalars` (anything `float()` accepts) at training step `step`."""
        row: dict[str, float] = {"step": int(step), **{k: float(v) for k, v in scalars.items()}}
        self.history.append(row)
        if self._writer is not None:
            for key, value in scalars.items():
                self._writer.add_scalar(key, float(value), int(step))
        if self._csv_path is None:
            return
        new_keys = [k for k in row if k not in self._columns]
        if new_keys or not self._csv_path.is_file():
            self._columns += new_keys
            self._rewrite_csv()
        else:
            with self._csv_path.open("a", newline="", encoding="utf-8") as f:
                self._csv_writer(f).writerow(row)

    def close(self) -> None:
        """Flush and close the TensorBoard writer (the CSV is complete after every `log`)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _csv_writer(self, f: Any) -> csv.DictWriter:
        return csv.DictWriter(f, fieldnames=self._columns, restval="", lineterminator="\n")

    def _rewrite_csv(self) -> None:
        """Write the whole history with the current columns (needed when a new key appears)."""
        buffer = io.StringIO()
        writer = self._csv_writer(buffer)
        writer.writeheader()
        writer.writerows(self.history)
        atomic_write_text(self._csv_path, buffer.getvalue())

    def _read_existing(self) -> None:
        with self._csv_path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            self._columns = list(reader.fieldnames or ["step"])
            for record in reader:
                row = {k: float(v) for k, v in record.items() if v != ""}
                row["step"] = int(row["step"])
                self.history.append(row)
