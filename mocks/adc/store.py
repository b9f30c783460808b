"""The appliance's configuration store: objects, referential integrity, uniqueness.

Generic over the declarations in ``kinds.py``. Every write is validated completely before
anything changes, so a failed request leaves the store exactly as it was — the property a
client relies on when it retries. Indexes (who references whom, unique values, DNS name
suffixes) are kept in step on every write so that integrity checks and DNS lookups stay
O(1) however large the configuration grows (later benchmarks load tens of thousands of
objects).

The store knows nothing about HTTP, sessions or the HA role; it raises ``ApiFailure``.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import Counter
from typing import Any

from mocks.adc.codes import ApiFailure, Code
from mocks.adc.kinds import BUILT_IN_HEALTHCHECKS, DOMAIN, HEALTHCHECK, KINDS, LOAD_ORDER, POOL, RSERVER, Kind
from mocks.adc.validation import addresses_match_type

Obj = dict[str, Any]
# (kind path, identity) — identity is the name, or "pool/node:port" for pool members.
Ref = tuple[str, str]

STATE_VERSION = 1


class Store:
    """All configuration objects of one emulated appliance."""

    def __init__(self) -> None:
        self._objects: dict[str, dict[str, Obj]] = {path: {} for path in KINDS if path != RSERVER}
        self._members: dict[str, dict[str, Obj]] = {}
        self._referrers: dict[Ref, set[Ref]] = {}
        self._unique: dict[tuple[str, tuple[Any, ...]], str] = {}
        self._suffixes: Counter[str] = Counter()
        for check in BUILT_IN_HEALTHCHECKS:  # built-ins keep one uuid across restarts and resets
            fixed = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"mock-adc/{HEALTHCHECK}/{check['name']}"))
            self._insert(KINDS[HEALTHCHECK], dict(check), pool=None, uuid=fixed)

    # Reads -----------------------------------------------------------------------------

    def objects(self, path: str, *, pool: str | None = None) -> list[Obj]:
        """The stored objects of a kind in creation order (internal records, not copies)."""
        if path == RSERVER:
            return list(self._pool_members(pool).values())
        return list(self._objects[path].values())

    def get(self, path: str, name: str, *, pool: str | None = None) -> Obj:
        return self._find(KINDS[path], name, pool)

    def public(self, path: str, record: Obj) -> Obj:
        """The JSON view of a stored object, as the API returns it."""
        view = dict(record)
        if path == POOL:
            members = self._members.get(record["name"], {})
            view["rservers"] = [dict(member) for member in members.values()]
        return view

    def resolvable(self, name: str) -> Obj | None:
        """The enabled domain called ``name``; a disabled one does not exist for DNS."""
        found = self._objects[DOMAIN].get(name)
        return found if found is not None and found["enable"] else None

    def has_names_below(self, name: str) -> bool:
        """True when some enabled domain ends in ``.name`` (an empty non-terminal for DNS)."""
        return self._suffixes[name] > 0

    def counts(self) -> dict[str, int]:
        counts = {path: len(objects) for path, objects in self._objects.items()}
        counts[RSERVER] = sum(len(members) for members in self._members.values())
        return counts

    # Writes ----------------------------------------------------------------------------

    def create(self, path: str, body: Obj, *, pool: str | None = None) -> Obj:
        kind = KINDS[path]
        if kind.nested:
            self._pool_members(pool)
        return self._insert(kind, body, pool=pool, uuid=None)

    def update(self, path: str, name: str, body: Obj, *, pool: str | None = None) -> Obj:
        kind = KINDS[path]
        current = self._find(kind, name, pool)
        changes = self._checked_fields(kind, body, current=current)
        merged = {**current, **changes}
        self._check_consistency(kind, merged, identity=self._identity(kind, merged, pool))
        self._unindex(kind, current, pool)
        current.update(changes)
        self._index(kind, current, pool)
        return current

    def delete(self, path: str, name: str, *, pool: str | None = None) -> Obj:
        kind = KINDS[path]
        current = self._find(kind, name, pool)
        identity = self._identity(kind, current, pool)
        users = self._referrers.get((kind.path, identity))
        if users:
            user_kind, user = sorted(users)[0]
            raise ApiFailure(Code.IN_USE, f"{kind.path} '{identity}' is in use by {user_kind} '{user}'")
        if kind.path == POOL:
            for member in list(self._members.get(identity, {}).values()):
                self._unindex(KINDS[RSERVER], member, identity)
            self._members.pop(identity, None)
        self._unindex(kind, current, pool)
        if kind.nested:
            del self._pool_members(pool)[current["name"]]
        else:
            del self._objects[kind.path][identity]
        return current

    # Persistence -----------------------------------------------------------------------

    def dump(self) -> Obj:
        """Every object, in an order ``load`` can replay (it skips the built-in ones)."""
        objects = {path: [dict(obj) for obj in self._objects[path].values()] for path in LOAD_ORDER if path != RSERVER}
        members = {pool: [dict(obj) for obj in found.values()] for pool, found in self._members.items()}
        return {"version": STATE_VERSION, "objects": objects, "rservers": members}

    @classmethod
    def load(cls, state: Obj) -> Store:
        """Rebuild a store from ``dump`` output, validating every object again."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported state version {state.get('version')!r}")
        store = cls()
        for path in LOAD_ORDER:
            if path == RSERVER:
                for pool, members in state.get("rservers", {}).items():
                    for member in members:
                        store._restore(KINDS[RSERVER], member, pool=pool)
            elif path != HEALTHCHECK:
                for obj in state["objects"].get(path, []):
                    store._restore(KINDS[path], obj, pool=None)
        return store

    def _restore(self, kind: Kind, saved: Obj, *, pool: str | None) -> None:
        body = {key: value for key, value in saved.items() if key in kind.fields}
        self._insert(kind, body, pool=pool, uuid=str(saved["uuid"]))

    # Internals -------------------------------------------------------------------------

    def _pool_members(self, pool: str | None) -> dict[str, Obj]:
        if pool is None or pool not in self._objects[POOL]:
            raise ApiFailure(Code.NOT_FOUND, f"{POOL} '{pool}' not found")
        return self._members.get(pool, {})

    def _find(self, kind: Kind, name: str, pool: str | None) -> Obj:
        found = (self._pool_members(pool) if kind.nested else self._objects[kind.path]).get(name)
        if found is None:
            where = f"{pool}/{name}" if kind.nested else name
            raise ApiFailure(Code.NOT_FOUND, f"{kind.path} '{where}' not found")
        return found

    def _insert(self, kind: Kind, body: Obj, *, pool: str | None, uuid: str | None) -> Obj:
        record = self._checked_fields(kind, body, current=None)
        if kind.nested:
            record["name"] = f"{record['node']}:{record['port']}"
        identity = self._identity(kind, record, pool)
        existing = self._pool_members(pool) if kind.nested else self._objects[kind.path]
        if record["name"] in existing:
            raise ApiFailure(Code.ALREADY_EXISTS, f"{kind.path} '{identity}' already exists")
        self._check_consistency(kind, record, identity=identity)
        # Stable field order in every answer: name, uuid, then the kind's declared fields.
        record = {"name": record["name"], "uuid": uuid or str(uuidlib.uuid4())} | {
            key: record[key] for key in kind.fields if key != "name"
        }
        if kind.nested:  # the pool's member table is created by its first member
            self._members.setdefault(str(pool), {})[record["name"]] = record
        else:
            existing[record["name"]] = record
        self._index(kind, record, pool)
        return record

    def _checked_fields(self, kind: Kind, body: Obj, *, current: Obj | None) -> Obj:
        """Validate the request's fields; on create, add defaults and require the rest."""
        checked: Obj = {}
        for key, value in body.items():
            spec = kind.fields.get(key)
            if spec is None:
                self._check_read_only_echo(kind, key, value, current)
                continue
            normalised = spec.validate(key, value)
            if current is not None and not spec.changeable and normalised != current[key]:
                raise ApiFailure(Code.READ_ONLY_FIELD, f"field '{key}' cannot be changed", field=key)
            checked[key] = normalised
        if current is None:
            for key, spec in kind.fields.items():
                if key in checked:
                    continue
                if spec.required or spec.default is None:
                    raise ApiFailure(Code.MISSING_FIELD, f"missing required field '{key}'", field=key)
                checked[key] = spec.default()
        return checked

    def _check_read_only_echo(self, kind: Kind, key: str, value: Any, current: Obj | None) -> None:
        """Accept a read-only field only when it repeats the stored value (GET-modify-PUT)."""
        read_only = {"uuid"} | ({"rservers"} if kind.path == POOL else set()) | ({"name"} if kind.nested else set())
        if key not in read_only:
            raise ApiFailure(Code.UNKNOWN_FIELD, f"unknown field '{key}' for {kind.path}", field=key)
        stored = None if current is None else self.public(kind.path, current).get(key)
        if current is None or value != stored:
            raise ApiFailure(Code.READ_ONLY_FIELD, f"field '{key}' is read-only", field=key)

    def _check_consistency(self, kind: Kind, record: Obj, *, identity: str) -> None:
        if kind.path == DOMAIN:
            addresses_match_type(record["type"], record["addresses"])
        for key, target in kind.references.items():
            value = record[key]
            for name in value if isinstance(value, list) else [value]:
                if name not in self._objects[target]:
                    raise ApiFailure(
                        Code.REFERENCE_NOT_FOUND, f"{target} '{name}' named by '{key}' does not exist", field=key
                    )
        for combo in kind.unique:
            holder = self._unique.get(self._unique_key(kind, combo, record))
            if holder is not None and holder != identity:
                fields = "+".join(combo)
                raise ApiFailure(
                    Code.DUPLICATE_VALUE,
                    f"{fields} already used by {kind.path} '{holder}'",
                    field=combo[0],
                )

    @staticmethod
    def _identity(kind: Kind, record: Obj, pool: str | None) -> str:
        return f"{pool}/{record['name']}" if kind.nested else str(record["name"])

    @staticmethod
    def _unique_key(kind: Kind, combo: tuple[str, ...], record: Obj) -> tuple[str, tuple[Any, ...]]:
        return kind.path, tuple(record[key] for key in combo)

    def _targets(self, kind: Kind, record: Obj) -> list[Ref]:
        targets: list[Ref] = []
        for key, target in kind.references.items():
            value = record[key]
            targets.extend((target, name) for name in (value if isinstance(value, list) else [value]))
        return targets

    def _index(self, kind: Kind, record: Obj, pool: str | None) -> None:
        me = (kind.path, self._identity(kind, record, pool))
        for target in self._targets(kind, record):
            self._referrers.setdefault(target, set()).add(me)
        for combo in kind.unique:
            self._unique[self._unique_key(kind, combo, record)] = me[1]
        if kind.path == DOMAIN and record["enable"]:
            self._suffixes.update(_proper_suffixes(record["name"]))

    def _unindex(self, kind: Kind, record: Obj, pool: str | None) -> None:
        me = (kind.path, self._identity(kind, record, pool))
        for target in self._targets(kind, record):
            users = self._referrers.get(target)
            if users is not None:
                users.discard(me)
                if not users:
                    del self._referrers[target]
        for combo in kind.unique:
            self._unique.pop(self._unique_key(kind, combo, record), None)
        if kind.path == DOMAIN and record["enable"]:
            for suffix in _proper_suffixes(record["name"]):
                self._suffixes[suffix] -= 1
                if not self._suffixes[suffix]:
                    del self._suffixes[suffix]  # no zero entries piling up as names come and go


def _proper_suffixes(name: str) -> list[str]:
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels))]
