"""The unit's configuration database: tables of objects, a generation counter, and an undo
journal that makes any group of writes all-or-nothing.

Every object, subcollection item and index entry lives in ``tables[table][parent][key]``
(``parent`` is ``""`` for top-level objects, the parent's full path for subcollection
items). All writes go through ``put``, which journals the previous value while a block
runs under ``atomic()``; when the block raises, the journal is replayed backwards and the
database is exactly as before. One request is one atomic block, and so is a whole
transaction commit (its commands nest inside). Stored objects are never mutated in place:
a change stores a new dict, so a journal entry keeps the old one intact.

Undo rather than copying: a transaction against a configuration of tens of thousands of
objects must cost what it writes, not what the unit holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

Obj = dict[str, Any]
_MISSING: Any = object()


class Database:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.generation = 1
        self._journal: list[tuple[str, str, str, Any]] = []
        self._generations: list[int] = []
        self._depth = 0

    # Reads -------------------------------------------------------------------------------

    def get(self, table: str, key: str, *, parent: str = "") -> Any:
        return self.tables.get(table, {}).get(parent, {}).get(key)

    def items(self, table: str, *, parent: str = "") -> dict[str, Any]:
        """The entries under one parent (do not modify the result)."""
        return self.tables.get(table, {}).get(parent, {})

    # Writes ------------------------------------------------------------------------------

    def put(self, table: str, key: str, value: Any, *, parent: str = "") -> None:
        """Store ``value`` (None removes the entry), journaling what was there."""
        rows = self.tables.setdefault(table, {}).setdefault(parent, {})
        previous = rows.get(key, _MISSING)
        if self._depth:
            self._journal.append((table, parent, key, previous))
        self._raw_put(table, parent, key, value)

    def next_generation(self) -> int:
        self.generation += 1
        return self.generation

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All writes inside happen, or none do (nesting allowed: the outermost block decides
        for itself, an inner block that fails undoes its own part and re-raises)."""
        mark = len(self._journal)
        self._generations.append(self.generation)
        self._depth += 1
        try:
            yield
        except BaseException:
            self._undo(mark)
            self.generation = self._generations[-1]
            raise
        finally:
            self._depth -= 1
            self._generations.pop()
            if not self._depth:
                self._journal.clear()

    def _undo(self, mark: int) -> None:
        while len(self._journal) > mark:
            table, parent, key, previous = self._journal.pop()
            self._raw_put(table, parent, key, None if previous is _MISSING else previous)

    def _raw_put(self, table: str, parent: str, key: str, value: Any) -> None:
        parents = self.tables.setdefault(table, {})
        if value is not None:
            parents.setdefault(parent, {})[key] = value
            return
        rows = parents.get(parent)
        if rows is None:
            return
        rows.pop(key, None)
        if not rows:
            del parents[parent]  # no empty member tables piling up as pools come and go
