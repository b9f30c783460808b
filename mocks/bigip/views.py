"""How objects and collections look on the wire, and the query options that shape them.

Every object starts with ``kind``, ``name``, ``partition``, ``fullPath``, ``generation`` and
``selfLink`` (host ``localhost``, ``?ver=<version>``); subcollections are referenced as
``<name>Reference: {"link", "isSubcollection": true}`` and carry ``items`` when the
request asked ``expandSubcollections=true``. A collection is ``{"kind", "selfLink",
"items"}`` and has no ``items`` at all when it is empty. ``$filter=partition eq P``,
``$select``, ``$top`` and ``$skip`` apply to collections; ``$select`` to objects too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mocks.bigip import errors
from mocks.bigip.database import Obj
from mocks.bigip.kinds import ObjectType

if TYPE_CHECKING:
    from mocks.bigip.store import Store

BASE = "https://localhost/mgmt/tm"
FILTER = re.compile(r"\s*partition\s+eq\s+'?([^'\s]+)'?\s*")
KNOWN_OPTIONS = frozenset({"$filter", "$select", "$top", "$skip", "expandSubcollections", "ver", "options"})


@dataclass(frozen=True)
class Query:
    partition: str | None = None
    select: tuple[str, ...] = ()
    top: int | None = None
    skip: int = 0
    expand: bool = False
    echo: str = ""  # the query as the collection's selfLink repeats it

    @classmethod
    def parse(cls, params: dict[str, str]) -> Query:
        unknown = sorted(key for key in params if key.startswith("$") and key not in KNOWN_OPTIONS)
        if unknown:
            raise errors.bad_request(f"Query parameter {unknown[0]} is not supported.", api_error=errors.REST)
        partition = None
        if "$filter" in params:
            matched = FILTER.fullmatch(params["$filter"].replace("+", " "))
            if matched is None:
                raise errors.bad_request(f"Query parameter $filter={params['$filter']} is not supported.")
            partition = matched.group(1)
        select = tuple(key.strip() for key in params.get("$select", "").split(",") if key.strip())
        echo = "&".join(f"{key}={quote(value, safe='$,+ ')}" for key, value in params.items() if key != "ver")
        return cls(
            partition=partition,
            select=select,
            top=_count(params, "$top"),
            skip=_count(params, "$skip") or 0,
            expand=params.get("expandSubcollections", "").lower() == "true",
            echo=echo.replace(" ", "+"),
        )


def _count(params: dict[str, str], key: str) -> int | None:
    raw = params.get(key)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise errors.bad_request(f"Query parameter {key}={raw} must be a non-negative integer.", api_error=errors.REST)
    return int(raw)


def link(path: str, store: Store, query: str = "") -> str:
    """A link as a unit writes it: host localhost, the query kept, ``ver`` last."""
    return f"{BASE}/{path}?{query + '&' if query else ''}ver={store.version}"


def object_path(otype: ObjectType, record: Obj, parent_path: str | None) -> str:
    """The object's URI path under /mgmt/tm/."""
    base = otype.path if parent_path is None else f"{parent_path}/{otype.path}"
    return f"{base}/{otype.uri_id(record)}"


def reference_key(segment: str) -> str:
    head, *rest = segment.split("-")
    return head + "".join(part.capitalize() for part in rest) + "Reference"


def render(
    store: Store, otype: ObjectType, record: Obj, *, parent: Obj | None, parent_path: str | None, expand: bool
) -> Obj:
    path = object_path(otype, record, parent_path)
    shown: Obj = {"kind": otype.kind, **otype.header(record), "selfLink": link(path, store)}
    shown |= otype.present(store, record, parent)
    for segment, child in otype.children.items():
        reference: Obj = {"link": link(f"{path}/{segment}", store), "isSubcollection": True}
        if expand:
            items = [
                render(store, child, item, parent=record, parent_path=path, expand=False)
                for item in store.records(child, record)
            ]
            if items:
                reference["items"] = items
        shown[reference_key(segment)] = reference
    return shown


def select(shown: Obj, query: Query) -> Obj:
    if not query.select:
        return shown
    return {key: shown[key] for key in query.select if key in shown}


def collection(
    store: Store,
    otype: ObjectType,
    records: list[Obj],
    *,
    parent: Obj | None,
    parent_path: str | None,
    query: Query,
    extra: list[Obj] | None = None,
) -> Obj:
    """A collection answer: filtered, paged, selected, without ``items`` when empty."""
    if query.partition is not None:
        if not store.has_partition(query.partition):
            raise errors.folder_missing(f"/{query.partition}")
        records = [record for record in records if record.get("partition") == query.partition]
    fixed = extra or []
    end = None if query.top is None else query.skip + query.top
    page = []
    for index in range(len(fixed) + len(records))[query.skip : end]:  # render only the page asked for
        if index < len(fixed):
            item = fixed[index]
        else:
            record = records[index - len(fixed)]
            item = render(store, otype, record, parent=parent, parent_path=parent_path, expand=query.expand)
        page.append(select(item, query))
    path = otype.path if parent_path is None else f"{parent_path}/{otype.path}"
    answer: Obj = {"kind": otype.collection_kind, "selfLink": link(path, store, query.echo)}
    if page:
        answer["items"] = page
    return answer


def plain(value: Any) -> Any:
    """Internal keys (``_...``) removed at every depth, for /_mock/state."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items() if not key.startswith("_")}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
