"""A snapshot file (or directory) as a cluster source: re-read when it changes, polled once a second.

Serves ``adcbridge plan --snapshot`` and ``run --snapshot`` (offline runs, demos, tests).
The file is parsed only when its modification time or size changed, so a resync of an
unchanged 10,000-host file costs a ``stat``. A file that cannot be read fails the cycle
(``SnapshotError``); it never counts as an empty cluster.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

from adcbridge.config import Settings
from adcbridge.k8s.snapshot_file import read_snapshot, snapshot_files
from adcbridge.model import ClusterSnapshot

POLL_SECONDS = 1.0
Signature = tuple[tuple[str, int, int], ...]


class FileSource:
    def __init__(
        self,
        path: Path,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._path = path
        self._settings = settings
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._cached: tuple[Signature, ClusterSnapshot] | None = None

    async def snapshot(self) -> ClusterSnapshot:
        signature = self._signature()
        if self._cached is None or self._cached[0] != signature:
            parsed = await asyncio.to_thread(read_snapshot, self._path, self._settings, taken_at=self._clock())
            self._cached = (signature, parsed)
        return dataclasses.replace(self._cached[1], taken_at=self._clock())

    async def wait_for_change(self) -> None:
        seen = self._cached[0] if self._cached is not None else self._signature()
        while self._signature() == seen:  # noqa: ASYNC110 - polling a file is the point
            await asyncio.sleep(self._poll_seconds)

    def _signature(self) -> Signature:
        """Name, modification time and size of the file, or of every file of the directory."""
        try:
            files = snapshot_files(self._path) if self._path.is_dir() else [self._path]
            return tuple((file.name, *_stat(file)) for file in files)
        except OSError:
            return ()


def _stat(path: Path) -> tuple[int, int]:
    status = os.stat(path)
    return (status.st_mtime_ns, status.st_size)
