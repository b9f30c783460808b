"""Server-side printing: the ``meta.k8s.io/v1`` ``Table`` that ``kubectl get`` asks for.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…,application/json`` and
prints the columns it gets back. The fake prints NAME and AGE for every kind (the real server
prints more for built-in kinds and a CRD's additionalPrinterColumns); each row carries the
object's metadata (``PartialObjectMetadata``), or the whole object with
``includeObject=Object``, which kubectl reads for ``-A``'s NAMESPACE column and ``--show-labels``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]


def wants_table(accept: str) -> bool:
    for part in accept.split(","):
        params = {p.strip() for p in part.split(";")[1:]}
        if {"as=Table", "g=meta.k8s.io", "v=v1"} <= params:
            return True
        if "application/json" in part.split(";")[0] and not params:
            return False
    return False


def age(timestamp: str | None, now: datetime | None = None) -> str:
    if not timestamp:
        return "<unknown>"
    seconds = int(
        ((now or datetime.now(UTC)) - datetime.fromisoformat(timestamp.replace("Z", "+00:00"))).total_seconds()
    )
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _row(obj: Obj, include: str) -> Obj:
    meta = obj.get("metadata") or {}
    if include == "Object":
        embedded = obj
    else:
        embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
    row: Obj = {"cells": [meta.get("name", ""), age(meta.get("creationTimestamp"))]}
    if include != "None":
        row["object"] = embedded
    return row


def table(items: list[Obj], list_metadata: Obj, include: str = "Metadata") -> Obj:
    columns = [
        {"name": "Name", "type": "string", "format": "name", "description": "Name of the object", "priority": 0},
        {"name": "Age", "type": "string", "format": "", "description": "Time since creation", "priority": 0},
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": columns,
        "rows": [_row(obj, include) for obj in items],
    }
