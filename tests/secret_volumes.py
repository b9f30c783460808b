"""Files published the way the kubelet updates a Secret or ConfigMap volume.

Each update writes a new timestamped directory, then swaps the ``..data`` symlink to it in one
rename; the visible names are symlinks through ``..data``. A reader therefore sees all old files
or all new ones, and a file's identity (inode, mtime) changes on every update.
"""

from __future__ import annotations

from itertools import count
from pathlib import Path

_versions = count(1)


def publish(directory: Path, files: dict[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    version = directory / f"..{next(_versions):04d}"
    version.mkdir()
    for name, content in files.items():
        (version / name).write_bytes(content)
    staged = directory / "..data_tmp"
    staged.symlink_to(version.name)
    staged.rename(directory / "..data")
    for name in files:
        visible = directory / name
        if not visible.is_symlink():
            visible.symlink_to(f"..data/{name}")
