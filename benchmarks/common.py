"""What every benchmark shares: the machine and versions, a results file, a printed table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_text
from core.json_text import json_text
from core.rundir import library_versions

RESULTS_DIR = Path(__file__).resolve().parent / "results"
COMMANDS_KEPT = 10  # runs recorded in a results file's "commands"


def machine() -> dict[str, Any]:
    """Where the figures were measured: they are only comparable on the same machine."""
    memory_kib = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if "MemTotal" in line
        ),
        0,
    )
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
    }


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """``benchmarks/results/NAME.json`` with the figures, the machine, the versions and the command.

    ``commands`` lists the last runs that wrote the file (latest last, with the UTC time): a run of some
    parts (``--only``, ``--skip``) keeps the other parts' figures, and this says where those came from.
    """
    path = RESULTS_DIR / f"{name}.json"
    command = " ".join([Path(sys.executable).name, *sys.argv])
    earlier = json.loads(path.read_text()).get("commands", []) if path.is_file() else []
    record = {
        **figures,
        "machine": machine(),
        "versions": library_versions(),
        "command": command,
        "commands": [*earlier, {"command": command, "utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}][
            -COMMANDS_KEPT:
        ],
    }
    atomic_write_text(path, json_text(record, indent=2) + "\n")
    return path


def finish(name: str, figures: dict[str, Any], quick: bool) -> Path:
    """Say which targets were met, write the results file (``NAME-quick.json`` for a quick run), and where."""
    for target, met in figures.get("targets", {}).items():
        print(f"  {'met' if met else 'NOT MET'}: {target}")
    path = write_results(f"{name}-quick" if quick else name, figures)
    print(f"wrote {path}")
    return path


def print_table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    """A plain aligned table on stdout."""
    cells = [header] + [[_format(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * width for width in widths))


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.3f}"
    return str(value)


def run_worker(script: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``script --worker ARGS`` in a fresh process (clean memory figures, a hard time limit).

    The worker prints one JSON object as its last line; a crash or a time-out is reported, not raised.
    """
    try:
        done = subprocess.run(
            [sys.executable, script, "--worker", *args], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": f"failed: {last}"}
    return {"status": "ok", **json.loads(done.stdout.strip().splitlines()[-1])}
