"""What every kind of configuration object has in common: identity, properties, references.

An ``ObjectType`` declares a kind (its URI, ``kind`` strings, the label mcpd uses in its
messages, default properties and which properties may be written) and the rules that go
beyond the generic ones. The generic rules, applied by ``store.py`` to every kind:

- a create starts from the kind's defaults and applies the body's properties one by one
  (``accept``); an update does the same on a copy of the stored object;
- ``kind``, ``selfLink``, ``generation`` and ``*Reference`` keys in a body are ignored (a
  client may send back what it read); ``name``, ``partition``, ``fullPath`` and the kind's
  read-only properties must repeat the stored value;
- a property the kind does not know is refused ("Found unexpected json pair");
- ``finish`` checks the whole object and does what a device does on the side (implicit
  nodes, virtual addresses); ``references`` says which objects this one uses, so the
  store can refuse to delete what is in use.

Stored records are plain dicts: the header (``name``, ``partition``, ``fullPath``,
``generation``), the properties, and internal keys starting with ``_`` that are never
shown.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from mocks.bigip import errors
from mocks.bigip.database import Obj
from mocks.bigip.names import drop_route_domain_zero, split_identifier, valid_name

if TYPE_CHECKING:
    from mocks.bigip.store import Store

REMOVE: Any = object()  # a validator's answer for "this property is now unset"
HEADER = ("name", "partition", "subPath", "fullPath", "generation")
IGNORED = frozenset({"kind", "selfLink", "generation"})
IDENTITY = frozenset({"name", "partition", "fullPath", "subPath"})


@dataclass(frozen=True)
class Ref:
    """This object uses the object ``key`` of ``table`` (under ``parent`` for subcollection items)."""

    table: str
    key: str
    parent: str = ""


Validator = Callable[["Store", Obj, Any], Any]


class ObjectType:
    path: str = ""  # the URI under /mgmt/tm/, or the segment under a parent object
    kind: str = ""
    collection_kind: str = ""
    label: str = ""
    defaults: ClassVar[dict[str, Any]] = {}
    optional: ClassVar[frozenset[str]] = frozenset({"description"})
    read_only: ClassVar[frozenset[str]] = frozenset()
    partitioned: ClassVar[bool] = True
    toggles: ClassVar[bool] = False  # an "enabled"/"disabled" pair
    writable_by_clients: ClassVar[bool] = True
    slash_in_name: ClassVar[bool] = False  # a name may hold "/" (GTM virtual servers and their pool members)
    parent: ObjectType | None = None

    def __init__(self) -> None:
        self.validators: dict[str, Validator] = {"description": _description}
        self.children: dict[str, ObjectType] = {}

    # Identity ---------------------------------------------------------------------------

    @property
    def table(self) -> str:
        return self.path if self.parent is None else f"{self.parent.table}/{self.path}"

    @property
    def where(self) -> str:
        """How "Found unexpected json pair" names the kind (``/ltm/pool``)."""
        return "/" + self.table

    def header(self, record: Obj) -> Obj:
        """The keys a GET shows first, before ``selfLink``."""
        return {key: record[key] for key in HEADER if key in record}

    def short_name(self, name: str) -> str:
        """An unpartitioned kind's name as stored (a folder's ``/x`` is ``x``)."""
        return name

    def identity(self, record: Obj, parent: Obj | None) -> str:
        """How mcpd messages name the object."""
        return str(record["fullPath"])

    def key(self, record: Obj) -> str:
        return str(record["fullPath"])

    def key_from_uri(self, raw: str) -> str:
        """The key of the object a URI segment names (``~P~name`` or a bare name = /Common)."""
        if not self.partitioned:
            return raw.replace("~", "/")
        partition, name = split_identifier(raw)
        return f"/{partition}/{drop_route_domain_zero(name)}"

    def uri_id(self, record: Obj) -> str:
        """The object's last URI segment: ``~P~name``, or the bare name if unpartitioned."""
        if not self.partitioned:
            return str(record["name"]).replace("/", "~")
        return "~" + str(record["fullPath"])[1:].replace("/", "~")

    def default_partition(self, parent: Obj | None) -> str:
        """Where an object lies when its body names no partition."""
        return "Common"

    def check_name(self, store: Store, partition: str, name: str, parent: Obj | None) -> str:
        """The name to store (normalised), or the device's "invalid name" answer."""
        name = drop_route_domain_zero(name)
        if not valid_name(name):
            raise errors.invalid_name(f"/{partition}/{name}" if self.partitioned else name)
        return name

    # Properties -------------------------------------------------------------------------

    def new_record(self, partition: str, name: str) -> Obj:
        header: Obj = {"name": name}
        if self.partitioned:
            header |= {"partition": partition, "fullPath": f"/{partition}/{name}"}
        else:
            header |= {"fullPath": name}
        record = header | copy.deepcopy(self.defaults)
        if self.toggles:
            record["_enabled"] = True
        return record

    def accept(self, store: Store, record: Obj, body: Obj, current: Obj | None) -> bool:
        """Apply the body's properties to ``record``; True when it carried any writable one."""
        changed = False
        if self.toggles:
            changed = _apply_toggles(record, body)
        for key, value in body.items():
            if key in IGNORED or key.endswith("Reference") or (self.toggles and key in ("enabled", "disabled")):
                continue
            if key in IDENTITY:
                if current is not None and value != current.get(key):
                    raise errors.bad_request(f"The {key} of {current['fullPath']} cannot be changed.", api_error=3)
                continue
            if key in self.read_only and current is not None:
                if value != current.get(key):
                    raise errors.bad_request(f'"{key}" is read-only for {self.label}.', api_error=errors.FRAMEWORK)
                continue
            if key not in self.defaults and key not in self.optional and key not in self.validators:
                raise errors.unexpected_pair(self.where, key, value)
            checked = self.validate(store, record, key, value)
            if checked is REMOVE:
                record.pop(key, None)
            else:
                record[key] = checked
            changed = True
        return changed

    def validate(self, store: Store, record: Obj, key: str, value: Any) -> Any:
        validator = self.validators.get(key)
        if validator is not None:
            return validator(store, record, value)
        default = self.defaults.get(key)
        if default is not None and not _same_json_type(default, value):
            raise errors.invalid_value(key, value)
        return value

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        """Whole-object checks and side effects of a create (``current`` None) or update,
        before the record is stored."""

    def after_save(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        """Side effects once the record is stored (subcollection items, released objects)."""

    def references(self, record: Obj, parent: Obj | None) -> list[Ref]:
        return []

    # Deletion ---------------------------------------------------------------------------

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        """Refuse when in use; ``users`` are (label, identity) of the objects using it."""
        if users:
            label, who = users[0]
            raise errors.in_use(
                f"The {self.label} ({record['fullPath']}) cannot be deleted because it is in use by a {label} ({who})."
            )

    def after_delete(self, store: Store, record: Obj, parent: Obj | None) -> None:
        """Side effects of a delete (a virtual address that deletes itself)."""

    # Presentation -----------------------------------------------------------------------

    def present(self, store: Store, record: Obj, parent: Obj | None) -> Obj:
        """The properties as a GET shows them (after the header, before the references)."""
        shown = {key: value for key, value in record.items() if key not in HEADER and not key.startswith("_")}
        if self.toggles:
            shown["enabled" if record["_enabled"] else "disabled"] = True
        return dict(sorted(shown.items()))


def _apply_toggles(record: Obj, body: Obj) -> bool:
    enabled, disabled = body.get("enabled"), body.get("disabled")
    for key, value in (("enabled", enabled), ("disabled", disabled)):
        if value is not None and not isinstance(value, bool):
            raise errors.invalid_value(key, value)
    if enabled is not None and disabled is not None and enabled == disabled:
        raise errors.bad_request('"enabled" and "disabled" may not both be specified with the same value.')
    if enabled is not None:
        record["_enabled"] = enabled
    elif disabled is not None:
        record["_enabled"] = not disabled
    return enabled is not None or disabled is not None


def _same_json_type(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int)
    return isinstance(value, type(default))


def _description(store: Store, record: Obj, value: Any) -> Any:
    if not isinstance(value, str):
        raise errors.invalid_value("description", value)
    return value


def text(key: str, *, allowed: frozenset[str] | None = None) -> Validator:
    def check(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, str) or (allowed is not None and value not in allowed):
            raise errors.invalid_value(key, value)
        return value

    return check


def number(key: str, low: int, high: int) -> Validator:
    """An integer from ``low`` to ``high``; BIG-IP also takes it as a string of digits."""

    def check(store: Store, record: Obj, value: Any) -> Any:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise errors.invalid_value(key, value)
        return value

    return check


def named_bodies(key: str, value: Any) -> Iterator[Obj]:
    """The items of list field ``key``, where each item is a name or an object with a
    ``name`` (``["a", {"name": "b", ...}]``), as objects; each item is checked as it is
    reached, so a caller's own check of an earlier item speaks first."""
    if not isinstance(value, list):
        raise errors.invalid_value(key, value)
    return (_named_body(key, item) for item in value)


def _named_body(key: str, item: Any) -> Obj:
    body = {"name": item} if isinstance(item, str) else item
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise errors.invalid_value(key, item)
    return body
