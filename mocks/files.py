"""An emulator's state file: written so that a crash never leaves half of it behind, read back whole or refused."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_json_atomically(path: Path, data: Any) -> None:
    """Temporary file, fsync, rename: readers see the old file or the new one, whole."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


STATE_VERSION = 1


class StateFileError(Exception):
    """The state file exists but cannot be used; the message says why."""


def write_state_file(path: Path, config: Any) -> None:
    """The unit's saved configuration, with the file format's version."""
    write_json_atomically(path, {"version": STATE_VERSION, "config": config})


def read_state_file(path: Path, load: Callable[[Any], None]) -> None:
    """The saved configuration of ``path`` handed to ``load`` (nothing when the file is new).

    A file that cannot be read, has another version or that ``load`` refuses (with one of
    the errors a malformed document raises) is a ``StateFileError`` naming the file.
    """
    if not path.exists():
        return
    try:
        saved: Any = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported state version {saved.get('version')!r}")
        load(saved["config"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StateFileError(f"cannot load state file {path}: {exc}") from exc
