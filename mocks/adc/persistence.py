"""Keeping the appliance's configuration in a JSON file across restarts.

Saves are debounced (one write shortly after a burst of changes, not one per request, so
persistence costs nothing at benchmark rates) and atomic (write a temporary file, fsync,
rename), and a final save runs on shutdown. A kill -9 can therefore lose the last
``delay`` seconds of changes — like an appliance that had not yet written its config —
but never leaves a half-written file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from mocks.adc.codes import ApiFailure
from mocks.adc.store import Store
from mocks.files import write_json_atomically


class StateFileError(Exception):
    """The state file exists but cannot be used; the message says why."""


def load_store(path: Path) -> Store:
    """The store saved in ``path``, or an empty one when the file does not exist yet."""
    if not path.exists():
        return Store()
    try:
        return Store.load(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ApiFailure) as exc:
        raise StateFileError(f"cannot load state file {path}: {exc}") from exc


def save_store(path: Path, store: Store) -> None:
    write_json_atomically(path, store.dump())


class DebouncedSaver:
    """Schedules one save ``delay`` seconds after the first unsaved change."""

    def __init__(self, path: Path, store_of: Callable[[], Store], *, delay: float = 0.2) -> None:
        self._path = path
        self._store_of = store_of
        self._delay = delay
        self._pending: asyncio.TimerHandle | None = None

    def changed(self) -> None:
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(self._delay, self.flush)

    def flush(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        save_store(self._path, self._store_of())
