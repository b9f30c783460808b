"""The ACOS dialect's driver: observe the bridge's partition, apply a plan one request per operation.

Observing reads, in the session's partition (the bridge's, activated at every login): every
server with its ports, every service group with its members inline, every virtual-server with its
virtual ports. A list the unit answers "not found" is empty; any other failure fails the
observation. What the last observe read (servers' ports, the virtual-servers and whose they are,
service groups' protocols) is kept for the apply that follows it.

The model has a virtual server per VIP and port; ACOS has one virtual-server per VIP holding a
port per exposed port. The driver absorbs it: a model virtual server is a virtual port, created in
the bridge's virtual-server for its VIP (which is made with the VIP's first port, and deleted after
its last one goes), one VIP at a time so that two ports of one VIP never both try to make it. A
virtual-server of that name that is not ours is never written to. Likewise a member needs a port on
its server: a node created in the same plan is made with the ports its members need, an existing
server of ours gets the missing port just before the member. A service group's protocol is that of
the virtual ports that use it (tcp when none says).

Applying settles races as on any appliance: "exists" on create reads the object and converges it if
it is ours (a conflict otherwise), "not found" on delete is done, "not found" on update creates.
A pool naming a health monitor the unit does not have (in our partition or ``shared``, where the
unit looks, and where a session of our partition cannot) fails with that said: the bridge
references the operator's monitors, never makes one. After a plan that wrote, ``write memory``.

Every call goes through ``Units`` to the active unit (the vMaster, or VRRP-A's active unit);
each observe is a resync, so the role is read again first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, overload
from urllib.parse import quote

from adcbridge.adc.acos.objects import DEFAULT_PROTOCOL, Objects, VirtualServer, port_key, split_vip
from adcbridge.adc.acos.wire import EXISTS, NOT_FOUND
from adcbridge.adc.applying import ApplyReport, ReportBuilder, all_or_nothing, run_levels
from adcbridge.adc.contract import AdcInfo
from adcbridge.adc.reading import read_item
from adcbridge.adc.units import Units
from adcbridge.errors import AdcError, AdcProtocolError, AdcRejected
from adcbridge.metrics import Metrics
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
SERVERS, GROUPS, VIRTUALS = "slb/server", "slb/service-group", "slb/virtual-server"
VERSION = "version/oper"


@dataclass
class Seen:
    """What the last observe read that the model does not carry."""

    ports: dict[str, dict[str, int]] = field(default_factory=dict)  # server → port key → weight
    virtuals: dict[str, VirtualServer] = field(default_factory=dict)
    protocols: dict[str, str] = field(default_factory=dict)  # service group → protocol


class AcosDriver:
    kinds = frozenset({Kind.NODE, Kind.POOL, Kind.MEMBER, Kind.VSERVER})

    def __init__(
        self,
        units: Units,
        owner: Owner,
        *,
        partition: str,
        concurrency: int,
        save_config: bool,
        metrics: Metrics | None = None,
    ) -> None:
        self._units = units
        self._objects = Objects(owner)
        self._owner = owner
        self._partition = partition
        self._concurrency = concurrency
        self._save_config = save_config
        self._metrics = metrics
        self._seen = Seen()
        self._vip_locks: dict[str, asyncio.Lock] = {}

    async def connect(self, *, within: float) -> None:
        await self._units.connect(VERSION, within=within)

    async def describe(self) -> AdcInfo:
        """The active unit (the first one while none is): its version and role, read from it."""
        url, role = await self._units.described()
        answer = await self._units.client_of(url).get(VERSION)
        oper = _dig(answer, "version", "oper")
        version = oper.get("sw-version") if isinstance(oper, Mapping) else None
        return AdcInfo(str(version)[:40] if version else "?", role, unit=url if len(self._units.urls) > 1 else "")

    def active_unit(self) -> str:
        return self._units.active

    # ------------------------------------------------------------------ observe

    async def read_objects(self, keys: Collection[tuple[Kind, str]]) -> AdcState | None:
        """None: not read alone here. A service group's members read with their servers' ports,
        and one virtual server on the unit is several in the model (one per port), so an object
        read alone would not read as ``observe`` reads it; the reconciler reads the whole partition."""
        return None

    async def observe(self) -> AdcState:
        """Every server, service group (members inline) and virtual-server (ports inline) of our partition."""
        self._units.forget()  # a resync: which unit is active is read again
        servers, groups, virtuals = await all_or_nothing(
            self._list(SERVERS, "server-list"),
            self._list(GROUPS, "service-group-list"),
            self._list(VIRTUALS, "virtual-server-list"),
        )
        state, seen = AdcState(), Seen()
        for item in servers:
            node = read_item(self._objects.server, item, named_by="name")
            if node is not None:
                state.nodes[node.key] = node
                seen.ports[node.name] = self._objects.server_ports(item)
        for item in groups:
            parsed = read_item(lambda group: self._objects.service_group(group, seen.ports), item, named_by="name")
            if parsed is not None:
                pool, members = parsed
                state.pools[pool.key] = pool
                state.members.update({member.key: member for member in members})
                seen.protocols[pool.name] = str(item.get("protocol") or DEFAULT_PROTOCOL)
        for item in virtuals:
            parsed_vs = read_item(self._objects.virtual_server, item, named_by="name")
            if parsed_vs is not None:
                virtual, ports = parsed_vs
                seen.virtuals[virtual.name] = virtual
                for vport in ports:
                    state.vservers[vport.key] = vport
                    if vport.pool:
                        seen.protocols.setdefault(vport.pool, vport.protocol)
        self._seen = seen
        return state

    async def _list(self, path: str, key: str) -> list[Any]:
        try:
            answer = await self._units.get(path)
        except AdcRejected as exc:
            if exc.code in NOT_FOUND:
                return []  # what an empty collection answers is not on record: not found is empty
            raise
        items = answer.get(key, []) if isinstance(answer, Mapping) else None
        if items is None:
            items = []
        if not isinstance(items, list):
            raise AdcProtocolError(f"GET {path}: {key} is not a list")
        return items

    # ------------------------------------------------------------------ apply

    async def apply(self, plan: Plan) -> ApplyReport:
        await self._units.confirm()  # change cycles plan on the kept state: is the unit still active?
        report = ReportBuilder()
        step = _Step(self, plan)
        await run_levels(plan.operations, step.execute, concurrency=self._concurrency, report=report)
        if report.report.writes and self._save_config:
            try:
                await self._units.request("POST", "write/memory/", self._save_body())
                report.report.saved = True
            except AdcError as exc:
                log.warning("could not save the ACOS unit's running configuration: %s", exc)
        return report.report

    def _save_body(self) -> dict[str, Any]:
        if self._partition == "shared":
            return {"memory": {"partition": "shared"}}
        return {"memory": {"partition": "specified", "specified-partition": self._partition}}

    def vip_lock(self, name: str) -> asyncio.Lock:
        return self._vip_locks.setdefault(name, asyncio.Lock())


class _Step:
    """One plan's operations, with what the plan and the last observe say about them."""

    def __init__(self, driver: AcosDriver, plan: Plan) -> None:
        self._driver = driver
        self._units = driver._units
        self._objects = driver._objects
        self._owner = driver._owner
        self._partition = driver._partition
        self._seen = driver._seen
        self._protocols = _protocols(plan, self._seen)
        self._new_ports = _ports_of_new_nodes(plan, self._protocols)

    async def execute(self, operation: Operation) -> None:
        obj = operation.obj
        if operation.action is Action.DELETE:
            await self._delete(obj)
        elif operation.action is Action.CREATE:
            await self._create(obj)
        else:
            await self._update(obj)

    # ------------------------------------------------------------------ per kind

    async def _create(self, obj: AdcObject) -> None:
        if isinstance(obj, AdcVserver):
            await self._create_virtual_port(obj)
            return
        if isinstance(obj, AdcMember):
            await self._server_port(obj)
        try:
            await self._units.request("POST", f"{_collection(obj)}/", self._body(obj, creating=True))
        except AdcRejected as exc:
            if isinstance(obj, AdcPool) and obj.healthcheck and exc.code in NOT_FOUND:
                raise self._no_monitor(obj, exc) from None
            if exc.code not in EXISTS:
                raise
            await self._converge_existing(obj, exc)
            return
        if isinstance(obj, AdcNode):
            self._seen.ports[obj.name] = {
                port_key(port["port-number"], port["protocol"]): port["weight"]
                for port in self._new_ports.get(obj.name, [])
            }

    async def _update(self, obj: AdcObject) -> None:
        if isinstance(obj, AdcMember):
            await self._weight(obj)
        try:
            await self._units.request("POST", _item(obj, self._objects), self._body(obj, creating=False))
        except AdcRejected as exc:
            if exc.code not in NOT_FOUND:
                raise
            await self._create(obj)

    async def _delete(self, obj: AdcObject) -> None:
        if isinstance(obj, AdcVserver):
            await self._delete_virtual_port(obj)
            return
        await _ignoring(NOT_FOUND, self._units.request("DELETE", _item(obj, self._objects)))

    async def _converge_existing(self, obj: AdcObject, refused: AdcRejected) -> None:
        """Someone created it first (often our own earlier attempt whose answer was lost)."""
        try:
            data = await self._units.get(_item(obj, self._objects))
        except AdcRejected as exc:
            if exc.code not in NOT_FOUND:
                raise
            raise refused from None
        current = self._parse_one(obj, data)
        if isinstance(obj, AdcNode):  # the ports it has, so that a member adds only a missing one
            try:
                self._seen.ports[obj.name] = self._objects.server_ports(data["server"])
            except ValueError as exc:
                raise AdcProtocolError(f"GET {_item(obj, self._objects)}: {exc}") from None
        ours = isinstance(obj, AdcMember) or self._owner.owns(current.description)
        if not ours:
            raise AdcRejected(f"{obj.kind.label} {obj.key} already exists and is not ours", code=refused.code)
        if changed_fields(current, obj):
            await self._update(obj)

    def _parse_one(self, obj: AdcObject, data: Any) -> AdcObject:
        where = f"GET {_item(obj, self._objects)}"
        item = data.get(_wrapper(obj)) if isinstance(data, Mapping) else None
        if not isinstance(item, Mapping):
            raise AdcProtocolError(f"{where}: not an object")
        try:
            if isinstance(obj, AdcNode):
                return self._objects.server(item)
            if isinstance(obj, AdcPool):
                return self._objects.service_group({**item, "member-list": []}, {})[0]
            if isinstance(obj, AdcMember):
                return self._objects.member(obj.pool, self._protocol(obj.pool), item, self._seen.ports)
            if isinstance(obj, AdcVserver):
                address, _ = split_vip(obj.vip)
                return self._objects.virtual_port(self._objects.virtual_server_name(obj), address, item, ours=True)
        except ValueError as exc:
            raise AdcProtocolError(f"{where}: {exc}") from None
        raise AdcProtocolError(f"the acos dialect does not manage {obj.kind.label}s")

    def _body(self, obj: AdcObject, *, creating: bool) -> dict[str, Any]:
        objects = self._objects
        if isinstance(obj, AdcNode):
            return {"server": objects.server_body(obj, self._new_ports.get(obj.name) if creating else None)}
        if isinstance(obj, AdcPool):
            return {"service-group": objects.service_group_body(obj, self._protocol(obj.name) if creating else None)}
        if isinstance(obj, AdcMember):
            return {"member": objects.member_body(obj)}
        if isinstance(obj, AdcVserver):
            return {"port": objects.virtual_port_body(obj)}
        raise AdcProtocolError(f"the acos dialect does not manage {obj.kind.label}s")

    def _protocol(self, pool: str) -> str:
        return self._protocols.get(pool) or self._seen.protocols.get(pool) or DEFAULT_PROTOCOL

    # ------------------------------------------------------------------ what ACOS needs around the model

    async def _server_port(self, member: AdcMember) -> None:
        """The port a member names on its server, made if the server does not have it."""
        key = port_key(member.port, self._protocol(member.pool))
        ports = self._seen.ports.setdefault(member.node, {})
        if key in ports:
            return
        body = {"port": self._objects.server_port_body(member.port, self._protocol(member.pool), member.weight)}
        await _ignoring(EXISTS, self._units.request("POST", f"{SERVERS}/{_quoted(member.node)}/port/", body))
        ports[key] = member.weight

    async def _weight(self, member: AdcMember) -> None:
        """The member's weight, which is its server port's."""
        key = port_key(member.port, self._protocol(member.pool))
        ports = self._seen.ports.setdefault(member.node, {})
        if ports.get(key, 1) == member.weight:
            return
        body = {"port": {"weight": member.weight}}
        await self._units.request("POST", f"{SERVERS}/{_quoted(member.node)}/port/{key}", body)
        ports[key] = member.weight

    def _no_monitor(self, pool: AdcPool, refused: AdcRejected) -> AdcRejected:
        """A service group refused as naming what does not exist: the only name it holds is its monitor."""
        return AdcRejected(
            f"pool {pool.name}: the unit has no health monitor {pool.healthcheck[0]!r} (in partition "
            f"{self._partition!r} or shared); the bridge uses the operator's monitors and never makes one: "
            f"create it, or change pool.healthcheck ({refused})",
            code=refused.code,
        )

    async def _create_virtual_port(self, vserver: AdcVserver) -> None:
        name = self._objects.virtual_server_name(vserver)
        key = _vport_key(vserver)
        async with self._driver.vip_lock(name):
            virtual = self._seen.virtuals.get(name)
            if virtual is None:
                try:
                    await self._units.request(
                        "POST", f"{VIRTUALS}/", {"virtual-server": self._objects.virtual_server_body(vserver)}
                    )
                except AdcRejected as exc:
                    if exc.code not in EXISTS:
                        raise
                    virtual = await self._read_virtual(name)
                else:
                    self._seen.virtuals[name] = VirtualServer(name, True, frozenset({key}))
                    return
            if not virtual.ours:
                raise AdcRejected(f"virtual-server {name} holds VIP {split_vip(vserver.vip)[0]} and is not ours")
            try:
                await self._units.request(
                    "POST", f"{VIRTUALS}/{_quoted(name)}/port/", self._body(vserver, creating=True)
                )
            except AdcRejected as exc:
                if exc.code not in EXISTS:
                    raise
                await self._converge_existing(vserver, exc)
            self._seen.virtuals[name] = VirtualServer(name, True, virtual.ports | {key})

    async def _delete_virtual_port(self, vserver: AdcVserver) -> None:
        name = self._objects.virtual_server_name(vserver)
        key = _vport_key(vserver)
        async with self._driver.vip_lock(name):
            await _ignoring(NOT_FOUND, self._units.request("DELETE", f"{VIRTUALS}/{_quoted(name)}/port/{key}"))
            virtual = self._seen.virtuals.get(name) or await self._read_virtual(name, missing_ok=True)
            if virtual is None:
                return  # the virtual-server is gone already, with its ports
            left = virtual.ports - {key}
            self._seen.virtuals[name] = VirtualServer(name, virtual.ours, left)
            if virtual.ours and not left:
                await _ignoring(NOT_FOUND, self._units.request("DELETE", f"{VIRTUALS}/{_quoted(name)}"))
                del self._seen.virtuals[name]

    @overload
    async def _read_virtual(self, name: str) -> VirtualServer: ...

    @overload
    async def _read_virtual(self, name: str, *, missing_ok: bool) -> VirtualServer | None: ...

    async def _read_virtual(self, name: str, *, missing_ok: bool = False) -> VirtualServer | None:
        try:
            answer = await self._units.get(f"{VIRTUALS}/{_quoted(name)}")
        except AdcRejected as exc:
            if missing_ok and exc.code in NOT_FOUND:
                return None
            raise
        item = answer.get("virtual-server") if isinstance(answer, Mapping) else None
        if not isinstance(item, Mapping):
            raise AdcProtocolError(f"GET {VIRTUALS}/{name}: not an object")
        try:
            return self._objects.virtual_server(item)[0]
        except ValueError as exc:
            raise AdcProtocolError(f"GET {VIRTUALS}/{name}: {exc}") from None


# ---------------------------------------------------------------------------- pure helpers


def _protocols(plan: Plan, seen: Seen) -> dict[str, str]:
    """Service group → protocol, from the virtual servers the plan writes that use it."""
    found: dict[str, str] = {}
    for operation in plan.operations:
        obj = operation.obj
        if isinstance(obj, AdcVserver) and operation.action is not Action.DELETE and obj.pool:
            found.setdefault(obj.pool, obj.protocol)
    return found


def _ports_of_new_nodes(plan: Plan, protocols: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Node created by the plan → the server ports its members created by the plan need."""
    created = {op.obj.name for op in plan.operations if isinstance(op.obj, AdcNode) and op.action is Action.CREATE}
    ports: dict[str, dict[str, dict[str, Any]]] = {}
    for operation in plan.operations:
        member = operation.obj
        if isinstance(member, AdcMember) and operation.action is Action.CREATE and member.node in created:
            protocol = protocols.get(member.pool, DEFAULT_PROTOCOL)
            body = {"port-number": member.port, "protocol": protocol, "weight": member.weight}
            ports.setdefault(member.node, {}).setdefault(port_key(member.port, protocol), body)
    return {node: list(by_key.values()) for node, by_key in ports.items()}


def _vport_key(vserver: AdcVserver) -> str:
    return port_key(split_vip(vserver.vip)[1], vserver.protocol)


def _quoted(name: str) -> str:
    return quote(name, safe="")


def _wrapper(obj: AdcObject) -> str:
    return {Kind.NODE: "server", Kind.POOL: "service-group", Kind.MEMBER: "member", Kind.VSERVER: "port"}[obj.kind]


def _collection(obj: AdcObject) -> str:
    if isinstance(obj, AdcMember):
        return f"{GROUPS}/{_quoted(obj.pool)}/member"
    return {Kind.NODE: SERVERS, Kind.POOL: GROUPS}[obj.kind]


def _item(obj: AdcObject, objects: Objects) -> str:
    if isinstance(obj, AdcMember):
        return f"{_collection(obj)}/{_quoted(obj.node)}+{obj.port}"
    if isinstance(obj, AdcVserver):
        return f"{VIRTUALS}/{_quoted(objects.virtual_server_name(obj))}/port/{_vport_key(obj)}"
    return f"{_collection(obj)}/{_quoted(obj.key)}"


def _dig(answer: Any, *keys: str) -> Any:
    for key in keys:
        answer = answer.get(key) if isinstance(answer, Mapping) else None
    return answer


async def _ignoring(codes: frozenset[int], call: Awaitable[Any]) -> None:
    try:
        await call
    except AdcRejected as exc:
        if exc.code not in codes:
            raise
