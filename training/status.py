"""The status-file protocol between a training run and whoever watches it.

A run writes `status.json` in its folder: its state (one of STATES), a phase, progress and, when it fails, the error.
Writes are atomic (a temporary file renamed over the old one), so a reader never sees half a file; readers treat a
missing or unreadable file as an empty status.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

STATES = ("queued", "running", "stopping", "finished", "failed")
ACTIVE_STATES = ("queued", "running", "stopping")


def read_json(path: str | Path) -> dict[str, Any]:
    """A JSON object from a file; {} when it is missing or not (yet) valid JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def read_status(run_dir: str | Path) -> dict[str, Any]:
    """The run's status.json ({} before the run wrote one)."""
    return read_json(Path(run_dir) / "status.json")


def write_status(run_dir: str | Path, state: str, **extra: Any) -> None:
    """Atomically update status.json (readers never see half a file); keeps earlier keys."""
    if state not in STATES:
        raise ValueError(f"unknown run state {state!r}; one of {', '.join(STATES)}")
    path = Path(run_dir) / "status.json"
    status = read_json(path)
    status.update(extra, state=state, updated=time.time())
    tmp = path.with_name(f".status.{os.getpid()}.{threading.get_ident()}.tmp")  # unique per writer thread
    tmp.write_text(json.dumps(status, indent=1))
    os.replace(tmp, path)
