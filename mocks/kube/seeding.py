"""Seed files: objects loaded at start from a directory of YAML and JSON files.

Files are read in sorted name order; a file may hold several YAML documents and ``kind: List``
documents whose ``items`` are objects. CustomResourceDefinitions go first, whatever file they
are in, so custom resources of their kinds can follow; then Namespaces, then everything else in
file order. Each object goes through the same create path as an HTTP POST, so a seed that a
real server would refuse is refused here too, with a ``SeedError`` naming file and object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
SUFFIXES = (".yaml", ".yml", ".json")


class SeedError(Exception):
    """A seed file that cannot be read, or an object in it the server refuses."""


def _documents(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return [json.loads(text)]
    return [document for document in yaml.safe_load_all(text) if document is not None]


def _flatten(path: Path, document: Any) -> Iterable[tuple[str, Obj]]:
    if not isinstance(document, dict):
        raise SeedError(f"{path}: a document is not a mapping")
    if document.get("kind") == "List":
        for item in document.get("items") or []:
            yield from _flatten(path, item)
        return
    yield str(path), document


def read_seed_dir(directory: Path) -> list[tuple[str, Obj]]:
    """``(file, object)`` pairs in load order (see the module docstring)."""
    if not directory.is_dir():
        raise SeedError(f"{directory}: not a directory")
    found: list[tuple[str, Obj]] = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file()):
        try:
            documents = _documents(path)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise SeedError(f"{path}: {exc}") from exc
        for document in documents:
            found.extend(_flatten(path, document))
    return in_load_order(found)


def in_load_order(pairs: list[tuple[str, Obj]]) -> list[tuple[str, Obj]]:
    rank = {"CustomResourceDefinition": 0, "Namespace": 1}
    return sorted(pairs, key=lambda pair: rank.get(str(pair[1].get("kind")), 2))


def describe(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if isinstance(meta, dict) and meta.get("namespace") else ""
    name = meta.get("name") if isinstance(meta, dict) else None
    return f"{obj.get('kind', '?')} {where}{name or '?'}"
