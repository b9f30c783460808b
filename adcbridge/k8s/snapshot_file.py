"""The offline cluster source: YAML files of Kubernetes objects read into a ``ClusterSnapshot``.

For demos, tests and dry runs without a cluster: ``kubectl get ... -o yaml`` output or
hand-written manifests, in one file or in a directory of them (read in name order; the demo
cluster in ``config/demo/`` is one, and also seeds the fake API server). A file may be a
stream of documents (``---``), each one an object, a ``kind: List`` (its ``items``) or a
plain YAML list of objects.

What makes the *file* unusable raises ``SnapshotError`` naming it: it cannot be read, is not
YAML, holds no documents at all, or holds something other than objects where objects belong
(a scalar document, a list entry that is not a mapping). An empty file is an error rather
than an empty cluster: a truncated file must not look like a cluster with no hosts, which
would withdraw every DNS name. An explicitly empty list (``[]`` or a List without items) is
an empty cluster. Problems *inside* an object are left to ``objects.snapshot_from``, which
reports and skips the object.

This module and ``config.py`` are the only ones of the bridge that import ``yaml``; it only
reads (the safe loader: no tags that build Python objects) and never writes. It parses with
libyaml's C loader when PyYAML was built with it (about seven times faster on a file of 10,000
objects), else with the pure-Python one; both accept the same documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from adcbridge.config import KicSettings, Settings
from adcbridge.errors import SnapshotError, excerpt
from adcbridge.k8s.objects import described, snapshot_from
from adcbridge.model import ClusterSnapshot

SUFFIXES = frozenset({".yaml", ".yml", ".json"})
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_snapshot(path: Path | str, settings: KicSettings | Settings, *, taken_at: float) -> ClusterSnapshot:
    """The snapshot the file describes, or SnapshotError if the file itself is unusable."""
    return snapshot_from(load_objects(Path(path)), settings, taken_at=taken_at)


def load_objects(path: Path) -> list[Mapping[str, Any]]:
    """Every object of the file (or of the directory's files, by name), Lists and plain lists
    flattened, in file order."""
    if path.is_dir():
        files = snapshot_files(path)
        if not files:
            raise SnapshotError(f"snapshot directory {path}: holds no .yaml, .yml or .json files")
        return [obj for file in files for obj in load_objects(file)]
    documents = _documents(_text(path), path)
    if all(document is None for document in documents):
        raise SnapshotError(f"snapshot file {path}: holds no Kubernetes objects (empty file?)")
    objects: list[Mapping[str, Any]] = []
    for number, document in enumerate(documents, 1):
        objects.extend(_objects_in(document, f"snapshot file {path}: document {number}"))
    return objects


def snapshot_files(directory: Path) -> list[Path]:
    """The files a snapshot directory is made of, in name order (``00-namespaces.yaml`` first)."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SnapshotError(f"snapshot file {path}: cannot read it: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"snapshot file {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def _documents(text: str, path: Path) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=SAFE_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = exc.problem or exc.context or "syntax error"
        raise SnapshotError(f"snapshot file {path}: not valid YAML{where}: {reason}") from exc
    except yaml.YAMLError as exc:
        raise SnapshotError(f"snapshot file {path}: not valid YAML: {excerpt(str(exc))}") from exc


def _objects_in(document: Any, where: str) -> list[Mapping[str, Any]]:
    """The objects of one document: itself, the items of a List, or the entries of a list."""
    if document is None:
        return []
    if isinstance(document, Mapping) and document.get("kind") == "List":
        items = document.get("items")
        if items is not None and not isinstance(items, list):
            raise SnapshotError(f"{where}: a List whose items are not a list")
        return _entries(items or [], f"{where}, List item")
    if isinstance(document, Mapping):
        return [document]
    if isinstance(document, list):
        return _entries(document, f"{where}, list entry")
    raise SnapshotError(f"{where}: {described(document)}, not a Kubernetes object or a list of them")


def _entries(entries: list[Any], where: str) -> list[Mapping[str, Any]]:
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, Mapping):
            raise SnapshotError(f"{where} {number}: {described(entry)}, not a Kubernetes object")
    return entries
