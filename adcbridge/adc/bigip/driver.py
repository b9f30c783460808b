"""The BIG-IP dialect's driver: observe the LTM objects that concern us, apply a plan.

Observing reads, page by page (``$top``/``$skip``): the partition itself (it must exist: the
bridge never creates one), every node of the unit (ours, ``Common``'s that our pools may use, and
other partitions' whose addresses we must not take), and the pools (members inline,
``expandSubcollections``) and virtual servers of our partition. A list that fails fails the
observation. A unit's own objects in our partition (the virtual addresses it makes for our virtual
servers) are not in the model and never touched.

Applying runs the plan level by level (``applying.run_levels``), one request per operation with
``concurrency`` workers in a level. The unit's answers settle races as on any appliance: 409 on
create re-reads the object and converges it if it is ours (a conflict otherwise), 404 on delete
means done, 404 on update creates. After a plan that wrote, ``sys config save``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from adcbridge.adc.applying import ApplyReport, ReportBuilder, all_or_nothing, run_levels
from adcbridge.adc.bigip.objects import Place
from adcbridge.adc.client import AdcClient
from adcbridge.adc.contract import AdcInfo
from adcbridge.errors import AdcError, AdcProtocolError, AdcRejected
from adcbridge.model import (
    Action,
    AdcMember,
    AdcNode,
    AdcObject,
    AdcPool,
    AdcState,
    AdcVserver,
    Kind,
    Operation,
    Owner,
    Plan,
)
from adcbridge.planner import changed_fields

log = logging.getLogger(__name__)
NOT_FOUND, EXISTS = 404, 409
NODES, POOLS, VIRTUALS = "tm/ltm/node", "tm/ltm/pool", "tm/ltm/virtual"
COLLECTIONS = {Kind.NODE: NODES, Kind.POOL: POOLS, Kind.VSERVER: VIRTUALS}
READ_ONLY = ("name", "partition", "address")  # fields a PATCH must not send (address: nodes' is fixed)


class BigipDriver:
    kinds = frozenset({Kind.NODE, Kind.POOL, Kind.MEMBER, Kind.VSERVER})

    def __init__(
        self, client: AdcClient, owner: Owner, *, partition: str, page_size: int, concurrency: int, save_config: bool
    ) -> None:
        self._client = client
        self._owner = owner
        self._place = Place(partition)
        self._page_size = page_size
        self._concurrency = concurrency
        self._save_config = save_config

    async def connect(self, *, within: float) -> None:
        await self._client.connect(f"tm/auth/partition/{self._place.partition}", within=within)

    async def describe(self) -> AdcInfo:
        info, failover = await all_or_nothing(
            self._client.get("shared/identified-devices/config/device-info"),
            self._client.get("tm/cm/failover-status"),
        )
        version = info.get("version") if isinstance(info, dict) else None
        return AdcInfo(str(version)[:40] if version else "?", _failover_role(failover))

    # ------------------------------------------------------------------ observe

    async def observe(self) -> AdcState:
        """Our partition's pools and virtual servers, and every node of the unit."""
        await self._partition_exists()
        ours = {"$filter": f"partition eq {self._place.partition}"}
        nodes, pools, virtuals = await all_or_nothing(
            self._list(NODES, {}),
            self._list(POOLS, {**ours, "expandSubcollections": "true"}),
            self._list(VIRTUALS, ours),
        )
        state = AdcState()
        for item in nodes:
            self._keep(state, self._place.node, item)
        for item in pools:
            parsed = self._read(self._place.pool, item)
            if parsed is not None:
                pool, members = parsed
                state.pools[pool.key] = pool
                state.members.update({member.key: member for member in members})
        for item in virtuals:
            self._keep(state, self._place.virtual, item)
        return state

    async def _partition_exists(self) -> None:
        try:
            await self._client.get(f"tm/auth/partition/{self._place.partition}")
        except AdcRejected as exc:
            if exc.code != NOT_FOUND:
                raise
            raise AdcRejected(
                f"partition {self._place.partition!r} does not exist on the BIG-IP; create it first "
                "(the bridge never creates partitions)",
                code=exc.code,
            ) from None

    async def _list(self, path: str, query: dict[str, str]) -> list[Any]:
        """Every item, a page of ``page_size`` at a time until a page comes back short.

        A page longer than asked is the rest of the collection (a unit that ignores ``$top``); the
        same full page twice is a unit that ignores ``$skip``, which would never end: an error.
        """
        items: list[Any] = []
        previous: list[Any] | None = None
        while True:
            params = {**query, "$top": str(self._page_size), "$skip": str(len(items))}
            answer = await self._client.get(path, **params)
            if not isinstance(answer, Mapping):
                raise AdcProtocolError(f"GET {path}: not a collection")
            page = answer.get("items", [])  # a unit leaves ``items`` out of an empty collection
            if not isinstance(page, list):
                raise AdcProtocolError(f"GET {path}: items is not a list")
            if page and page == previous:
                raise AdcProtocolError(f"GET {path}: the same page for $skip={len(items)}; the unit ignores $skip")
            items += page
            if len(page) != self._page_size:
                return items
            previous = page

    def _keep(self, state: AdcState, parse: Callable[[Any], AdcObject], item: Any) -> None:
        obj = self._read(parse, item)
        if obj is not None:
            state.of_kind(obj.kind)[obj.key] = obj

    def _read(self, parse: Callable[[Any], Any], item: Any) -> Any:
        try:
            if not isinstance(item, Mapping):
                raise ValueError("not an object")
            return parse(item)
        except ValueError as exc:
            name = item.get("fullPath") if isinstance(item, Mapping) else None
            log.warning("ignoring a BIG-IP object that cannot be read (%s): %s", str(name)[:80], exc)
            return None

    # ------------------------------------------------------------------ apply

    async def apply(self, plan: Plan) -> ApplyReport:
        report = ReportBuilder()
        await run_levels(plan.operations, self._execute, concurrency=self._concurrency, report=report)
        if report.report.writes and self._save_config:
            try:
                await self._client.request("POST", "tm/sys/config", {"command": "save"})
                report.report.saved = True
            except AdcError as exc:
                log.warning("could not save the BIG-IP's running configuration: %s", exc)
        return report.report

    async def _execute(self, operation: Operation) -> None:
        obj = operation.obj
        if operation.action is Action.DELETE:
            await _ignoring(NOT_FOUND, self._client.request("DELETE", self._uri(obj)))
        elif operation.action is Action.CREATE:
            await self._create(obj)
        else:
            await self._update(obj)

    async def _create(self, obj: AdcObject) -> None:
        try:
            await self._client.request("POST", self._collection(obj), self._body(obj))
        except AdcRejected as exc:
            if exc.code != EXISTS:
                raise
            await self._converge_existing(obj, exc)

    async def _converge_existing(self, obj: AdcObject, refused: AdcRejected) -> None:
        """Someone created it first (often our own earlier attempt whose answer was lost)."""
        try:
            current = self._parse_one(obj, await self._client.get(self._uri(obj)))
        except AdcRejected as exc:
            if exc.code != NOT_FOUND:
                raise
            raise refused from None  # the 409 was about something else (an address held elsewhere)
        ours = isinstance(obj, AdcMember) or self._owner.owns(current.description)
        if not ours:
            raise AdcRejected(f"{obj.kind.label} {obj.key} already exists and is not ours", code=EXISTS)
        if changed_fields(current, obj):
            await self._update(obj)

    async def _update(self, obj: AdcObject) -> None:
        body = {key: value for key, value in self._body(obj).items() if key not in READ_ONLY}
        try:
            await self._client.request("PATCH", self._uri(obj), body)
        except AdcRejected as exc:
            if exc.code != NOT_FOUND:
                raise
            await self._create(obj)

    # ------------------------------------------------------------------ where things are

    def _body(self, obj: AdcObject) -> dict[str, Any]:
        place = self._place
        if isinstance(obj, AdcNode):
            return place.node_body(obj)
        if isinstance(obj, AdcPool):
            return place.pool_body(obj)
        if isinstance(obj, AdcMember):
            return place.member_body(obj)
        if isinstance(obj, AdcVserver):
            return place.virtual_body(obj)
        raise AdcProtocolError(f"the bigip dialect does not manage {obj.kind.label}s")

    def _collection(self, obj: AdcObject) -> str:
        if isinstance(obj, AdcMember):
            return f"{POOLS}/{self._place.uri(self._place.path(obj.pool))}/members"
        return COLLECTIONS[obj.kind]

    def _uri(self, obj: AdcObject) -> str:
        place = self._place
        if isinstance(obj, AdcMember):
            return f"{self._collection(obj)}/{place.uri(place.member_name(obj))}"
        return f"{COLLECTIONS[obj.kind]}/{place.uri(place.path(obj.key))}"

    def _parse_one(self, obj: AdcObject, data: Any) -> AdcObject:
        if not isinstance(data, Mapping):
            raise AdcProtocolError(f"GET {self._uri(obj)}: not an object")
        try:
            if isinstance(obj, AdcMember):
                return self._place.member(obj.pool, data)
            if isinstance(obj, AdcPool):
                return self._place.pool({**data, "membersReference": {}})[0]
            parse: Callable[[Mapping[str, Any]], AdcObject] = (
                self._place.node if isinstance(obj, AdcNode) else self._place.virtual
            )
            return parse(data)
        except ValueError as exc:
            raise AdcProtocolError(f"GET {self._uri(obj)}: {exc}") from None


def _failover_role(answer: Any) -> str:
    """``ACTIVE``/``STANDBY`` from ``/mgmt/tm/cm/failover-status`` (nested stats), lower-cased."""
    try:
        (entry,) = answer["entries"].values()
        status = entry["nestedStats"]["entries"]["status"]["description"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return "?"
    return str(status).lower()[:20]


async def _ignoring(code: int, call: Awaitable[Any]) -> None:
    try:
        await call
    except AdcRejected as exc:
        if exc.code != code:
            raise
