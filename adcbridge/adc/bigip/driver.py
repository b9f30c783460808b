"""The BIG-IP dialect's driver: observe the LTM and GTM objects that concern us, apply a plan.

Observing reads, page by page (``$top``/``$skip``): the partition itself (it must exist: the
bridge never creates one), every node of the unit (ours, ``Common``'s that our pools may use, and
other partitions' whose addresses we must not take), and the pools (members inline,
``expandSubcollections``) and virtual servers of our partition; publishing to BIG-IP DNS, also
what ``gtm.py`` reads (every wide IP, our GTM pools, our GTM server's entries). A list that fails
fails the observation. A unit's own objects in our partition (the virtual addresses it makes for our virtual
servers) are not in the model and never touched.

Applying runs the plan level by level in transactions of ``batch_size`` operations
(``batching.py``); an operation sent alone (a batch of one, or the retry of a refused batch) is one
request, and the unit's answers settle races as on any appliance: 409 on create re-reads the object
and converges it if it is ours (a conflict otherwise), 404 on delete means done, 404 on update
creates. Domains go to ``gtm.py`` (in the planner's order: after the LTM creates and updates, before
the LTM deletes), a request or more each, never in a transaction; it makes the GTM pools and entries
a wide IP needs before it, and after the whole plan deletes the pools and entries no wide IP uses any
more (so after the wide IPs' deletes). After a plan that wrote, ``sys config save``.
After the save, with ``adc.config_sync_group``, ``config-sync to-group`` and a read of the sync
status: "Changes Pending" (the group did not take our changes) is logged and counted, and never fails
the cycle.

Every call goes through ``Units`` (``units.py``) to the active unit of an HA pair; each observe
is a resync, so it reads the failover status again first. Each apply reads it too (the reconciler
may have planned on the state it kept since its last read, seconds or minutes ago), and writes
nothing if another unit is active now than at that read: the plan was made against the other
unit's objects, so the cycle fails (transient) and the next one reads the new unit whole.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, cast

from adcbridge.adc.applying import ApplyReport, ReportBuilder, all_or_nothing, run_levels
from adcbridge.adc.bigip.batching import Batches, Write
from adcbridge.adc.bigip.gtm import GtmPublisher
from adcbridge.adc.bigip.objects import Place
from adcbridge.adc.bigip.units import Units, stats_status
from adcbridge.adc.contract import AdcInfo
from adcbridge.adc.reading import keep, read_item
from adcbridge.errors import AdcError, AdcProtocolError, AdcRejected
from adcbridge.metrics import Metrics
from adcbridge.model import (
    Action,
    AdcDomain,
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
    kinds = frozenset({Kind.NODE, Kind.POOL, Kind.MEMBER, Kind.VSERVER, Kind.DOMAIN})

    def __init__(
        self,
        units: Units,
        owner: Owner,
        *,
        partition: str,
        page_size: int,
        concurrency: int,
        save_config: bool,
        batch_size: int,
        gtm: Callable[[BigipDriver], GtmPublisher] | None = None,
        sync_group: str = "",
        metrics: Metrics | None = None,
    ) -> None:
        self._units = units
        self._gtm = gtm(self) if gtm is not None else None
        self._sync_group = sync_group
        self._metrics = metrics
        self._owner = owner
        self._place = Place(partition)
        self._page_size = page_size
        self._concurrency = concurrency
        self._save_config = save_config
        self._batch_size = batch_size

    async def connect(self, *, within: float) -> None:
        await self._units.connect(f"tm/auth/partition/{self._place.partition}", within=within)

    async def describe(self) -> AdcInfo:
        """The active unit (the first one while none is): its version and role, read from it."""
        url, role = await self._units.described()
        info = await self._units.client_of(url).get("shared/identified-devices/config/device-info")
        version = info.get("version") if isinstance(info, dict) else None
        return AdcInfo(str(version)[:40] if version else "?", role, unit=url if len(self._units.urls) > 1 else "")

    def active_unit(self) -> str:
        return self._units.active

    # ------------------------------------------------------------------ observe

    async def read_objects(self, keys: Collection[tuple[Kind, str]]) -> AdcState | None:
        """None: not read alone here. A domain is a wide IP of each record type, looked for in every
        partition, with the GTM pool and server entries ``gtm.py`` keeps an inventory of; a node's
        address is judged against every partition's nodes. Read alone they would not read as
        ``observe`` reads them, so the reconciler reads the whole unit."""
        return None

    async def observe(self) -> AdcState:
        """Our partition's pools and virtual servers, every node of the unit (the active one), and
        (publishing to BIG-IP DNS) every wide IP with what our GTM server and pools hold."""
        self._units.forget()  # a resync: which unit is active is read again
        await self._partition_exists()
        ours = {"$filter": f"partition eq {self._place.partition}"}
        nodes, pools, virtuals, domains = await all_or_nothing(
            self._list(NODES, {}),
            self._list(POOLS, {**ours, "expandSubcollections": "true"}),
            self._list(VIRTUALS, ours),
            self._domains(),
        )
        state = AdcState(domains=cast(dict[str, AdcDomain], domains))
        for item in nodes:
            keep(state, self._place.node, item, named_by="fullPath")
        for item in pools:
            parsed = read_item(self._place.pool, item, named_by="fullPath")
            if parsed is not None:
                pool, members = parsed
                state.pools[pool.key] = pool
                state.members.update({member.key: member for member in members})
        for item in virtuals:
            keep(state, self._place.virtual, item, named_by="fullPath")
        return state

    async def _domains(self) -> dict[str, AdcDomain]:
        return {} if self._gtm is None else await self._gtm.observe()

    async def _partition_exists(self) -> None:
        try:
            await self._units.get(f"tm/auth/partition/{self._place.partition}")
        except AdcRejected as exc:
            if exc.code != NOT_FOUND:
                raise
            raise AdcRejected(
                f"partition {self._place.partition!r} does not exist on the BIG-IP; create it first "
                "(the bridge never creates partitions)",
                code=exc.code,
            ) from None

    async def read_all(self, path: str, query: dict[str, str]) -> list[Any]:
        """Every item of a collection, page by page (``gtm.py`` reads through it too)."""
        return await self._list(path, query)

    async def _list(self, path: str, query: dict[str, str]) -> list[Any]:
        """Every item, a page of ``page_size`` at a time until a page comes back short.

        A page longer than asked is the rest of the collection (a unit that ignores ``$top``); the
        same full page twice is a unit that ignores ``$skip``, which would never end: an error.
        """
        items: list[Any] = []
        previous: list[Any] | None = None
        while True:
            params = {**query, "$top": str(self._page_size), "$skip": str(len(items))}
            answer = await self._units.get(path, **params)
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

    # ------------------------------------------------------------------ apply

    async def apply(self, plan: Plan) -> ApplyReport:
        await self._units.confirm()  # change cycles plan on the kept state: is the unit still active?
        report = ReportBuilder()
        batches = Batches(
            self._units, size=self._batch_size, concurrency=self._concurrency, write=self._write, execute=self._execute
        )
        before, domains, after = _around_domains(plan.operations)
        await batches.run(before, report)
        await run_levels(domains, self._publish, concurrency=self._concurrency, report=report)
        await batches.run(after, report)
        collected = await self._collect()
        if (report.report.writes or collected) and self._save_config:
            try:
                await self._units.request("POST", "tm/sys/config", {"command": "save"})
                report.report.saved = True
            except AdcError as exc:
                log.warning("could not save the BIG-IP's running configuration: %s", exc)
        if report.report.writes and self._sync_group:
            await self._sync()
        return report.report

    def _write(self, operation: Operation) -> Write:
        """The request that carries ``operation`` out (queued in a transaction)."""
        obj = operation.obj
        if operation.action is Action.DELETE:
            return Write("DELETE", self._uri(obj))
        if operation.action is Action.CREATE:
            return Write("POST", self._collection(obj), self._body(obj))
        return Write("PATCH", self._uri(obj), self._patch(obj))

    async def _collect(self) -> int:
        """GTM pools and entries that no wide IP uses any more go after the wide IPs' deletes."""
        if self._gtm is None:
            return 0
        try:
            return await self._gtm.collect()
        except AdcError as exc:
            log.warning("could not delete BIG-IP DNS objects no wide IP uses any more: %s", exc)
            return 0

    async def _publish(self, operation: Operation) -> None:
        """A domain: its wide IPs, and the GTM pool and entries they need (``gtm.py``)."""
        if self._gtm is None or not isinstance(operation.obj, AdcDomain):
            raise AdcProtocolError("domains need adc.gtm_server")
        await self._gtm.execute(operation.action, operation.obj)

    async def _sync(self) -> None:
        """``config-sync to-group``, then the sync status: reported, never a failure of the cycle."""
        command = {"command": "run", "utilCmdArgs": f"config-sync to-group {self._sync_group}"}
        try:
            await self._units.request("POST", "tm/cm", command)
        except AdcError as exc:
            log.warning("could not sync device group %r: %s", self._sync_group, exc)
        try:
            status = stats_status(await self._units.get("tm/cm/sync-status"))
        except AdcError as exc:
            log.warning("could not read the sync status of device group %r: %s", self._sync_group, exc)
            return
        pending = status == "Changes Pending"
        if pending:
            log.warning("device group %r: %s; our changes are not on its other units yet", self._sync_group, status)
        if self._metrics is not None:
            self._metrics.adc_sync_pending.set(1 if pending else 0)

    async def _execute(self, operation: Operation) -> None:
        """``operation`` alone, settling the races a direct write meets."""
        obj = operation.obj
        if operation.action is Action.DELETE:
            await _ignoring(NOT_FOUND, self._units.request("DELETE", self._uri(obj)))
        elif operation.action is Action.CREATE:
            await self._create(obj)
        else:
            await self._update(obj)

    async def _create(self, obj: AdcObject) -> None:
        try:
            await self._units.request("POST", self._collection(obj), self._body(obj))
        except AdcRejected as exc:
            if exc.code != EXISTS:
                raise
            await self._converge_existing(obj, exc)

    async def _converge_existing(self, obj: AdcObject, refused: AdcRejected) -> None:
        """Someone created it first (often our own earlier attempt whose answer was lost)."""
        try:
            current = self._parse_one(obj, await self._units.get(self._uri(obj)))
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
        try:
            await self._units.request("PATCH", self._uri(obj), self._patch(obj))
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

    def _patch(self, obj: AdcObject) -> dict[str, Any]:
        return {key: value for key, value in self._body(obj).items() if key not in READ_ONLY}

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


def _around_domains(
    operations: tuple[Operation, ...],
) -> tuple[tuple[Operation, ...], tuple[Operation, ...], tuple[Operation, ...]]:
    """The LTM operations before the domains', the domains', and the LTM ones after: the planner puts
    domain creates and updates after every other create, and domain deletes before every other delete."""
    at = [index for index, operation in enumerate(operations) if operation.obj.kind is Kind.DOMAIN]
    if not at:
        return operations, (), ()
    first, last = at[0], at[-1] + 1
    return operations[:first], operations[first:last], operations[last:]


async def _ignoring(code: int, call: Awaitable[Any]) -> None:
    try:
        await call
    except AdcRejected as exc:
        if exc.code != code:
            raise
