"""The reference dialect: ``observe()`` the whole ``/adc/v3.0`` state, ``apply()`` a plan.

Observing lists every kind page by page (one request per 500 objects, never one per
object; pool pages carry their members), and a list that fails fails the whole
observation: an unknown must never look like an absence. An item the parser cannot read
is left out and logged; it is then neither ours to change nor a reason to stop.

Reading a few objects alone (``read_objects``, what a change cycle that updates or deletes asks)
is one GET of each object's own route, concurrently; "not found" means absent, and the answer is
parsed by the same functions as the lists', so an unchanged object compares equal. Past
``READ_ALONE_AT_MOST`` objects it declines and the whole appliance is read instead: a list page
brings 500 objects for the price of one.

Applying runs the plan one dependency level at a time (``applying.run_levels``), one request
per operation with ``concurrency`` workers inside a level. The appliance's own answers settle
races: "already exists" on create re-reads the object and converges it if it is ours (a
conflict otherwise), "not found" on delete means done, "not found" on update creates. After a
plan that wrote anything the running configuration is saved once, so an appliance reboot keeps it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from functools import partial
from typing import Any

from adcbridge.adc.applying import ApplyReport, ReportBuilder, all_or_nothing, run_levels
from adcbridge.adc.client import AdcClient, item_path
from adcbridge.adc.contract import AdcInfo
from adcbridge.adc.reading import keep, read_item
from adcbridge.adc.reference import parsing
from adcbridge.adc.reference.bodies import body
from adcbridge.errors import AdcError, AdcProtocolError, AdcRejected
from adcbridge.model import Action, AdcMember, AdcObject, AdcState, Kind, Operation, Owner, Plan
from adcbridge.planner import changed_fields

log = logging.getLogger(__name__)
ALREADY_EXISTS = 2001
NOT_FOUND = 2002
# Objects read alone at most, one request each; beyond, the lists are read (one request per page of
# 500: 24 pages at 10,000 hosts, 4 on a small appliance).
READ_ALONE_AT_MOST = 16
KIND_PATHS = {
    Kind.NODE: "slb/node",
    Kind.POOL: "slb/pool",
    Kind.VSERVER: "slb/vserver",
    Kind.DOMAIN: "dns/domain",
}


class ReferenceDriver:
    kinds = frozenset(Kind)  # every kind of the model: the model was drawn after this API

    def __init__(self, client: AdcClient, owner: Owner, *, page_size: int, concurrency: int, save_config: bool) -> None:
        self._client = client
        self._owner = owner
        self._page_size = page_size
        self._concurrency = concurrency
        self._save_config = save_config

    async def describe(self) -> AdcInfo:
        info = await self._client.get("system/info")
        version = info.get("version") if isinstance(info, dict) else None
        role = info.get("ha_role") if isinstance(info, dict) else None
        return AdcInfo(str(version)[:40] if version else "?", str(role)[:20] if role else "?")

    def active_unit(self) -> str:
        return ""  # one unit, which refuses writes itself while standby (3001)

    # ------------------------------------------------------------------ observe

    async def connect(self, *, within: float) -> None:
        """Log in and list one node within ``within`` seconds, or ``AdcUnavailable`` naming the last
        error: the first contact of a one-shot run, bounded (``AdcClient.connect``)."""
        await self._client.connect(KIND_PATHS[Kind.NODE], within=within, params={"page": 1, "page_size": 1})

    async def observe(self) -> AdcState:
        """Everything the appliance holds, ours and others'. Raises if any list fails."""
        nodes, pools, vservers, domains = await all_or_nothing(
            self._list(KIND_PATHS[Kind.NODE]),
            self._list(KIND_PATHS[Kind.POOL]),
            self._list(KIND_PATHS[Kind.VSERVER]),
            self._list(KIND_PATHS[Kind.DOMAIN]),
        )
        state = AdcState()
        for item in nodes:
            keep(state, parsing.parse_node, item, named_by="name")
        for item in pools:
            parsed = read_item(parsing.parse_pool, item, named_by="name")
            if parsed is not None:
                pool, members = parsed
                state.pools[pool.key] = pool
                state.members.update({member.key: member for member in members})
        for item in vservers:
            keep(state, parsing.parse_vserver, item, named_by="name")
        for item in domains:
            keep(state, parsing.parse_domain, item, named_by="name")
        return state

    async def read_objects(self, keys: Collection[tuple[Kind, str]]) -> AdcState | None:
        """The objects named, each by one GET of its route (a pool's answer carries its members);
        None for more than ``READ_ALONE_AT_MOST``. Raises if any read fails ("not found" aside)."""
        if len(keys) > READ_ALONE_AT_MOST:
            return None
        asked = sorted(keys)
        limit = asyncio.Semaphore(self._concurrency)
        items = await all_or_nothing(*(self._read_alone(_key_path(kind, key), limit) for kind, key in asked))
        state = AdcState()
        for (kind, key), item in zip(asked, items, strict=True):
            if item is None:
                continue
            if kind is Kind.POOL:
                parsed = read_item(parsing.parse_pool, item, named_by="name")
                if parsed is not None:
                    pool, members = parsed
                    state.pools[pool.key] = pool
                    state.members.update({member.key: member for member in members})
            elif kind is Kind.MEMBER:
                keep(state, partial(parsing.parse_member, key.partition("/")[0]), item, named_by="name")
            else:
                keep(state, PARSERS[kind], item, named_by="name")
        return state

    async def _read_alone(self, path: str, limit: asyncio.Semaphore) -> Any:
        """One object's answer, or None when the appliance has no such object."""
        async with limit:
            try:
                return await self._client.get(path)
            except AdcRejected as exc:
                if exc.code != NOT_FOUND:
                    raise
                return None

    async def _list(self, path: str) -> list[Any]:
        """Every item of a collection: the first page tells the total, the rest come concurrently."""
        key = path.rsplit("/", 1)[-1]
        first = await self._page(path, key, 1)
        items, total = first
        pages = -(-total // self._page_size)
        rest = await all_or_nothing(*(self._page(path, key, page) for page in range(2, pages + 1)))
        for page_items, _ in rest:
            items += page_items
        if len(items) < total:
            raise AdcProtocolError(f"GET {path}: {len(items)} items for a total of {total}")
        return items

    async def _page(self, path: str, key: str, page: int) -> tuple[list[Any], int]:
        data = await self._client.get(path, page=page, page_size=self._page_size)
        items = data.get(key) if isinstance(data, dict) else None
        total = data.get("total") if isinstance(data, dict) else None
        if not isinstance(items, list) or isinstance(total, bool) or not isinstance(total, int):
            raise AdcProtocolError(f"GET {path} page {page}: the answer has no '{key}' list and 'total'")
        return items, total

    # ------------------------------------------------------------------ apply

    async def apply(self, plan: Plan) -> ApplyReport:
        report = ReportBuilder()
        await run_levels(plan.operations, self._execute, concurrency=self._concurrency, report=report)
        if report.report.writes and self._save_config:
            await self._save(report.report)
        return report.report

    async def _save(self, report: ApplyReport) -> None:
        try:
            await self._client.request("POST", "system/config/save")
            report.saved = True
        except AdcError as exc:
            log.warning("could not save the ADC's running configuration: %s", exc)

    async def _execute(self, operation: Operation) -> None:
        obj = operation.obj
        if operation.action is Action.DELETE:
            await self._ignoring(NOT_FOUND, self._client.request("DELETE", _path_of(obj)))
        elif operation.action is Action.CREATE:
            await self._create(obj)
        else:
            await self._update(obj, operation.changes)

    async def _create(self, obj: AdcObject) -> None:
        try:
            await self._client.request("POST", _collection_of(obj), body(obj))
        except AdcRejected as exc:
            if exc.code != ALREADY_EXISTS:
                raise
            await self._converge_existing(obj)

    async def _converge_existing(self, obj: AdcObject) -> None:
        """Someone created it first (often our own earlier attempt whose answer was lost)."""
        current = _parse_one(obj, await self._client.get(_path_of(obj)))
        ours = self._owner.owns(current.description) or isinstance(obj, AdcMember)
        if not ours:
            raise AdcRejected(f"{obj.kind.label} {obj.key} already exists and is not ours", code=ALREADY_EXISTS)
        changes = changed_fields(current, obj)
        if changes:
            await self._update(obj, changes)

    async def _update(self, obj: AdcObject, changes: tuple[str, ...]) -> None:
        wanted = body(obj)
        try:
            await self._client.request("PUT", _path_of(obj), {key: wanted[key] for key in changes if key in wanted})
        except AdcRejected as exc:
            if exc.code != NOT_FOUND:
                raise
            await self._create(obj)

    @staticmethod
    async def _ignoring(code: int, call: Awaitable[Any]) -> None:
        try:
            await call
        except AdcRejected as exc:
            if exc.code != code:
                raise


def _collection_of(obj: AdcObject) -> str:
    if isinstance(obj, AdcMember):
        return f"{item_path(KIND_PATHS[Kind.POOL], obj.pool)}/rserver"
    return KIND_PATHS[obj.kind]


def _path_of(obj: AdcObject) -> str:
    if isinstance(obj, AdcMember):
        return item_path(_collection_of(obj), f"{obj.node}:{obj.port}")
    return item_path(KIND_PATHS[obj.kind], obj.key)


def _key_path(kind: Kind, key: str) -> str:
    """The route of the object of ``kind`` keyed ``key`` (a member's key is ``pool/node:port``)."""
    if kind is Kind.MEMBER:
        pool, _, name = key.partition("/")
        return item_path(f"{item_path(KIND_PATHS[Kind.POOL], pool)}/rserver", name)
    return item_path(KIND_PATHS[kind], key)


# How each kind but a member reads, in a list or alone (a pool here without its members).
PARSERS: dict[Kind, Callable[[Mapping[str, Any]], Any]] = {
    Kind.NODE: parsing.parse_node,
    Kind.POOL: lambda item: parsing.parse_pool(item)[0],
    Kind.VSERVER: parsing.parse_vserver,
    Kind.DOMAIN: parsing.parse_domain,
}


def _parse_one(obj: AdcObject, data: Any) -> AdcObject:
    if not isinstance(data, Mapping):
        raise AdcProtocolError(f"GET {_path_of(obj)}: not an object")
    try:
        if isinstance(obj, AdcMember):
            return parsing.parse_member(obj.pool, data)
        result: AdcObject = PARSERS[obj.kind](data)
    except ValueError as exc:
        raise AdcProtocolError(f"GET {_path_of(obj)}: {exc}") from None
    return result
