"""Domains as BIG-IP DNS (GTM) objects: the mapping both ways, and the calls that make them.

A model domain (a host and the VIPs it resolves to) is, on a BIG-IP, a **wide IP** per record
type (``gtm/wideip/a``, ``gtm/wideip/aaaa``) in the bridge's partition, named by the host and
marked in its description, whose one pool is a **GTM pool** of that type in the bridge's
partition (``ttl`` = the domain's TTL), whose members are ``<server>:<entry>``: **virtual-server
entries** of the operator's GTM server (``adc.gtm_server``, in ``Common``), one per VIP, named
by the bridge (``<prefix><owner>-gtm-<vip>``, ``_`` for ``:``) and marked. An entry's destination is
``<vip>:0`` (``.0`` for IPv6): it stands for the address, whatever ports the virtual servers
expose, so a change of exposed ports never touches DNS (UNCONFIRMED: whether a unit's ``bigip``
monitor counts such an entry available; the emulator answers it).

The GTM pools and entries are infrastructure derived from the VIPs, not objects of the model:
the planner sees domains only and stays vendor-neutral. The dialect makes a pool (and its
entries) when a wide IP first needs it, before that wide IP, once per apply however many wide
IPs need it, and converges it (TTL, members, enabled) when a domain is updated; it deletes a
pool, then its entries, when no wide IP of ours uses it any more, after the wide IPs' deletes.
Adding a host whose pool exists is one request per record type. The policies and the deletion
guards act on the wide IPs (what the planner sees); a pool or entry goes only once no wide IP of
ours uses it, which only a wide IP's own delete or move (a change of VIPs) brings about.

Reading: every wide IP of every partition is read. Ours (our partition, our marker) come back as
the domain they publish: the addresses of their pool's entries, its TTL, enabled when the wide
IP, pool, members and entries all are; a wide IP whose pools are not exactly one pool of ours
reads with no addresses, so the planner repairs it. Any other wide IP of a name (unmarked, or in
another partition: a unit allows a name once per type in the whole unit) makes that name
someone else's: the domain is keyed by the bare host name with a description that is not ours,
so the planner's "name taken by someone else" rule reports it and nothing is touched.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from adcbridge.adc.bigip.units import Requests
from adcbridge.errors import AdcRejected
from adcbridge.model import Action, AdcDomain, Owner, sorted_addresses

log = logging.getLogger(__name__)
NOT_FOUND, EXISTS, REFUSED = 404, 409, 400
RECORD_TYPES = {"A": ("a",), "AAAA": ("aaaa",), "A+AAAA": ("a", "aaaa")}
FAMILY = {"a": 4, "aaaa": 6}
ENTRY_PORT = 0

T = TypeVar("T")
Lister = Callable[[str, dict[str, str]], Awaitable[list[Any]]]


# ---------------------------------------------------------------------------- native objects


@dataclass(frozen=True)
class Entry:
    """A virtual-server entry of our GTM server."""

    name: str
    address: str
    port: int
    description: str
    enabled: bool


@dataclass(frozen=True)
class GtmPool:
    rtype: str
    name: str
    ttl: int
    description: str
    enabled: bool
    members: tuple[tuple[str, bool], ...]  # (member full path, enabled)


@dataclass(frozen=True)
class WideIp:
    rtype: str
    partition: str
    name: str
    description: str
    enabled: bool
    pools: tuple[str, ...]  # full paths, in order


@dataclass
class Inventory:
    """The GTM objects that concern us, as last read and as our writes changed them."""

    entries: dict[str, Entry] = field(default_factory=dict)
    pools: dict[tuple[str, str], GtmPool] = field(default_factory=dict)  # (rtype, name) in our partition
    wideips: dict[tuple[str, str, str], WideIp] = field(default_factory=dict)  # (rtype, partition, name)


def read_entry(item: Mapping[str, Any]) -> Entry:
    destination = _text(item, "destination")
    address, separator, port = destination.rpartition("." if destination.count(":") > 1 else ":")
    if not separator or not port.isdigit():
        raise ValueError(f"destination {destination[:80]!r} is not <address>:<port>")
    return Entry(
        _text(item, "name"),
        str(ipaddress.ip_address(address.removesuffix("%0"))),
        int(port),
        _text(item, "description", ""),
        item.get("disabled") is not True,
    )


def read_pool(rtype: str, item: Mapping[str, Any]) -> GtmPool:
    ttl = item.get("ttl", 30)
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise ValueError("ttl is not a number")
    reference = item.get("membersReference") or {}
    members = reference.get("items", []) if isinstance(reference, Mapping) else None
    if not isinstance(members, list) or not all(isinstance(member, Mapping) for member in members):
        raise ValueError("membersReference.items is not a list of objects")
    return GtmPool(
        rtype,
        _text(item, "name"),
        ttl,
        _text(item, "description", ""),
        item.get("disabled") is not True,
        tuple(sorted((_text(member, "fullPath"), member.get("disabled") is not True) for member in members)),
    )


def read_wideip(rtype: str, item: Mapping[str, Any]) -> WideIp:
    pools = item.get("pools") or []
    if not isinstance(pools, list) or not all(isinstance(pool, Mapping) for pool in pools):
        raise ValueError("pools is not a list of objects")
    ordered = sorted(pools, key=lambda pool: pool.get("order", 0) if isinstance(pool.get("order"), int) else 0)
    return WideIp(
        rtype,
        _text(item, "partition", "Common"),
        _text(item, "name"),
        _text(item, "description", ""),
        item.get("disabled") is not True,
        tuple(_pool_path(pool) for pool in ordered),
    )


# ---------------------------------------------------------------------------- names and the mapping


@dataclass(frozen=True)
class Gtm:
    """Where our GTM objects live and what they are called. Pure."""

    owner: Owner
    partition: str
    server: str  # the GTM server's full path, /Common/<name>

    @property
    def server_uri(self) -> str:
        return f"tm/gtm/server/{self.server.replace('/', '~')}/virtual-servers"

    @property
    def server_name(self) -> str:
        return self.server.rsplit("/", 1)[-1]

    def entry_name(self, address: str) -> str:
        return self.owner.name("gtm", _spelled(address))

    def pool_name(self, rtype: str, addresses: tuple[str, ...]) -> str:
        return self.owner.name("gtm", rtype, *map(_spelled, addresses))

    def member_path(self, entry: str) -> str:
        return f"/Common/{self.server_name}:{entry}"

    def pool_path(self, name: str) -> str:
        return f"/{self.partition}/{name}"

    def addresses_of(self, domain: AdcDomain, rtype: str) -> tuple[str, ...]:
        return tuple(a for a in domain.addresses if ipaddress.ip_address(a).version == FAMILY[rtype])

    # ------------------------------------------------------------------ bodies

    def entry_body(self, address: str) -> dict[str, Any]:
        separator = "." if ipaddress.ip_address(address).version == 6 else ":"
        return {
            "name": self.entry_name(address),
            "destination": f"{address}{separator}{ENTRY_PORT}",
            "description": self.owner.marker,
            "enabled": True,
        }

    def pool_body(self, rtype: str, addresses: tuple[str, ...], ttl: int) -> dict[str, Any]:
        return {
            "name": self.pool_name(rtype, addresses),
            "partition": self.partition,
            "ttl": ttl,
            "description": self.owner.marker,
            "enabled": True,
        }

    def wideip_body(self, domain: AdcDomain, rtype: str) -> dict[str, Any]:
        pool = self.pool_name(rtype, self.addresses_of(domain, rtype))
        return {
            "name": domain.name,
            "partition": self.partition,
            "pools": [{"name": pool, "partition": self.partition, "order": 0, "ratio": 1}],
            "description": domain.description,
            ("enabled" if domain.enable else "disabled"): True,
        }

    def wideip(self, domain: AdcDomain, rtype: str) -> WideIp:
        """The wide IP a domain wants, as ``read_wideip`` would read it back."""
        pool = self.pool_name(rtype, self.addresses_of(domain, rtype))
        return WideIp(rtype, self.partition, domain.name, domain.description, domain.enable, (self.pool_path(pool),))

    # ------------------------------------------------------------------ reading domains

    def domains(self, inventory: Inventory) -> dict[str, AdcDomain]:
        """Every wide IP as a model domain, keyed by its bare host name (see the module docstring)."""
        named: dict[str, list[WideIp]] = {}
        for wideip in inventory.wideips.values():
            named.setdefault(wideip.name.lower().rstrip("."), []).append(wideip)
        return {name: self._domain(name, wideips, inventory) for name, wideips in sorted(named.items())}

    def _domain(self, name: str, wideips: list[WideIp], inventory: Inventory) -> AdcDomain:
        wideips.sort(key=lambda wideip: wideip.rtype)
        record_type = "+".join(wideip.rtype.upper() for wideip in wideips)
        foreign = next((w for w in wideips if w.partition != self.partition), None)
        if foreign is not None:
            return AdcDomain(name, record_type, (), 0, f"wide IP /{foreign.partition}/{foreign.name}", foreign.enabled)
        unmarked = next((w for w in wideips if not self.owner.owns(w.description)), None)
        if unmarked is not None:
            return AdcDomain(name, record_type, (), 0, unmarked.description, unmarked.enabled)
        addresses: list[str] = []
        ttls: set[int] = set()
        enabled = True
        for wideip in wideips:
            published = self._published(wideip, inventory)
            if published is None:
                ttls.add(0)
                enabled = enabled and wideip.enabled
                continue
            found, ttl, up = published
            addresses += found
            ttls.add(ttl)
            enabled = enabled and wideip.enabled and up
        ttl = ttls.pop() if len(ttls) == 1 else 0
        return AdcDomain(name, record_type, sorted_addresses(addresses), ttl, wideips[0].description, enabled)

    def _published(self, wideip: WideIp, inventory: Inventory) -> tuple[list[str], int, bool] | None:
        """(addresses, ttl, all enabled) of the one pool of ours a wide IP of ours uses, or None."""
        if len(wideip.pools) != 1 or not wideip.pools[0].startswith(f"/{self.partition}/"):
            return None
        pool = inventory.pools.get((wideip.rtype, wideip.pools[0].rsplit("/", 1)[-1]))
        if pool is None or not self.owner.owns(pool.description):
            return None
        addresses, enabled = [], pool.enabled
        for path, member_enabled in pool.members:
            entry = inventory.entries.get(path.rpartition(":")[2]) if path.startswith(self.member_path("")) else None
            if entry is None:
                return None
            addresses.append(entry.address)
            enabled = enabled and member_enabled and entry.enabled
        return addresses, pool.ttl, enabled

    def unused(self, inventory: Inventory) -> tuple[list[GtmPool], list[Entry]]:
        """Our pools no wide IP uses, and our entries no remaining pool uses: what to delete."""
        used = {(w.rtype, path) for w in inventory.wideips.values() for path in w.pools}
        ours = [pool for pool in inventory.pools.values() if self.owner.owns(pool.description)]
        pools = [pool for pool in ours if (pool.rtype, self.pool_path(pool.name)) not in used]
        pools.sort(key=lambda pool: (pool.rtype, pool.name))
        kept = {path for pool in inventory.pools.values() if pool not in pools for path, _ in pool.members}
        entries = [
            entry
            for name, entry in sorted(inventory.entries.items())
            if self.owner.owns(entry.description) and self.member_path(name) not in kept
        ]
        return pools, entries


# ---------------------------------------------------------------------------- the calls


class GtmPublisher:
    """Observes and applies domains on the unit, keeping the inventory between the two."""

    def __init__(self, client: Requests, gtm: Gtm, lister: Lister) -> None:
        self._client = client
        self._gtm = gtm
        self._list = lister
        self._inventory = Inventory()
        self._locks: dict[str, asyncio.Lock] = {}

    async def observe(self) -> dict[str, AdcDomain]:
        gtm = self._gtm
        ours = {"$filter": f"partition eq {gtm.partition}", "expandSubcollections": "true"}
        try:
            entries = await self._list(gtm.server_uri, {})
        except AdcRejected as exc:
            if exc.code != NOT_FOUND:
                raise
            raise AdcRejected(
                f"GTM server {gtm.server!r} does not exist on the BIG-IP; the operator creates it (with its "
                "datacenter) and names it in adc.gtm_server",
                code=exc.code,
            ) from None
        inventory = Inventory()
        inventory.entries = {entry.name: entry for entry in _readable(entries, read_entry)}
        for rtype in ("a", "aaaa"):
            pools = _readable(await self._list(f"tm/gtm/pool/{rtype}", ours), partial(read_pool, rtype))
            inventory.pools.update({(pool.rtype, pool.name): pool for pool in pools})
            wideips = _readable(await self._list(f"tm/gtm/wideip/{rtype}", {}), partial(read_wideip, rtype))
            inventory.wideips.update({(w.rtype, w.partition, w.name): w for w in wideips})
        self._inventory = inventory
        return gtm.domains(inventory)

    # ------------------------------------------------------------------ apply

    async def execute(self, action: Action, domain: AdcDomain) -> None:
        """Create or update: the pools it needs, then its wide IPs (and those of a type it no longer
        has go); delete: its wide IPs. Pools and entries left unused go in ``collect``."""
        wanted = RECORD_TYPES.get(domain.type, ()) if action is not Action.DELETE else ()
        for rtype in wanted:
            await self._ensure_pool(rtype, self._gtm.addresses_of(domain, rtype), domain.ttl)
            await self._put_wideip(domain, rtype)
        for rtype in ("a", "aaaa"):
            if rtype not in wanted and (rtype, self._gtm.partition, domain.name) in self._inventory.wideips:
                await self._delete(f"tm/gtm/wideip/{rtype}/{self._uri(domain.name)}")
                del self._inventory.wideips[(rtype, self._gtm.partition, domain.name)]

    async def collect(self) -> int:
        """Delete our pools and entries that no wide IP uses any more; returns how many went."""
        pools, entries = self._gtm.unused(self._inventory)
        deleted = 0
        for pool in pools:
            if await self._delete_unused(f"tm/gtm/pool/{pool.rtype}/{self._uri(pool.name)}"):
                del self._inventory.pools[(pool.rtype, pool.name)]
                deleted += 1
        _, entries = self._gtm.unused(self._inventory)
        for entry in entries:
            if await self._delete_unused(f"{self._gtm.server_uri}/{entry.name}"):
                del self._inventory.entries[entry.name]
                deleted += 1
        return deleted

    async def _put_wideip(self, domain: AdcDomain, rtype: str) -> None:
        key = (rtype, self._gtm.partition, domain.name)
        wanted = self._gtm.wideip(domain, rtype)
        current = self._inventory.wideips.get(key)
        body = self._gtm.wideip_body(domain, rtype)
        if current is None:
            await self._create(f"tm/gtm/wideip/{rtype}", body, f"wide IP {domain.name}")
        elif current != wanted:
            await self._patch(f"tm/gtm/wideip/{rtype}/{self._uri(domain.name)}", body)
        self._inventory.wideips[key] = wanted

    async def _ensure_pool(self, rtype: str, addresses: tuple[str, ...], ttl: int) -> None:
        """The pool for these addresses exists, is ours, and is as wanted (once per apply: under a lock)."""
        gtm = self._gtm
        name = gtm.pool_name(rtype, addresses)
        async with self._lock(f"pool {rtype} {name}"):
            for address in addresses:
                await self._ensure_entry(address)
            members = tuple(sorted((gtm.member_path(gtm.entry_name(address)), True) for address in addresses))
            wanted = GtmPool(rtype, name, ttl, gtm.owner.marker, True, members)
            current = self._inventory.pools.get((rtype, name))
            uri = f"tm/gtm/pool/{rtype}/{self._uri(name)}"
            if current is None:
                await self._create(f"tm/gtm/pool/{rtype}", gtm.pool_body(rtype, addresses, ttl), f"GTM pool {name}")
                current = replace(wanted, members=())
            elif not gtm.owner.owns(current.description):
                raise AdcRejected(f"GTM pool /{gtm.partition}/{name} exists and is not ours", code=EXISTS)
            elif (current.ttl, current.enabled) != (ttl, True):
                await self._patch(uri, {"ttl": ttl, "enabled": True})
            await self._converge_members(uri, dict(current.members), dict(members))
            self._inventory.pools[(rtype, name)] = wanted

    async def _converge_members(self, pool_uri: str, have: dict[str, bool], want: dict[str, bool]) -> None:
        for path in sorted(set(want) - set(have)):
            await self._create(f"{pool_uri}/members", {"name": path, "enabled": True}, f"GTM pool member {path}")
        for path in sorted(set(have) & set(want)):
            if not have[path]:
                await self._patch(f"{pool_uri}/members/{self._uri(path)}", {"enabled": True})
        for path in sorted(set(have) - set(want)):
            await self._delete(f"{pool_uri}/members/{self._uri(path)}")

    async def _ensure_entry(self, address: str) -> None:
        gtm = self._gtm
        name = gtm.entry_name(address)
        async with self._lock(f"entry {name}"):
            wanted = Entry(name, address, ENTRY_PORT, gtm.owner.marker, True)
            current = self._inventory.entries.get(name)
            if current is None:
                await self._create(gtm.server_uri, gtm.entry_body(address), f"GTM virtual server {name}")
            elif not gtm.owner.owns(current.description):
                raise AdcRejected(f"GTM virtual server {name} of {gtm.server} exists and is not ours", code=EXISTS)
            elif current != wanted:
                body = gtm.entry_body(address)
                await self._patch(f"{gtm.server_uri}/{name}", {"destination": body["destination"], "enabled": True})
            self._inventory.entries[name] = wanted

    # ------------------------------------------------------------------ requests

    async def _create(self, collection: str, body: dict[str, Any], what: str) -> None:
        try:
            await self._client.request("POST", collection, body)
        except AdcRejected as exc:
            if exc.code != EXISTS:
                raise
            raise AdcRejected(f"{what} already exists and is not ours ({exc})", code=EXISTS) from None

    async def _patch(self, uri: str, body: dict[str, Any]) -> None:
        await self._client.request("PATCH", uri, body)

    async def _delete(self, uri: str) -> None:
        try:
            await self._client.request("DELETE", uri)
        except AdcRejected as exc:
            if exc.code != NOT_FOUND:
                raise

    async def _delete_unused(self, uri: str) -> bool:
        """Delete what we no longer use; one that someone else uses stays (the unit refuses)."""
        try:
            await self._delete(uri)
        except AdcRejected as exc:
            if exc.code != REFUSED:
                raise
            log.info("kept %s: %s", uri, exc)
            return False
        return True

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _uri(self, path_or_name: str) -> str:
        name = path_or_name if path_or_name.startswith("/") else self._gtm.pool_path(path_or_name)
        return name.replace("/", "~")


def _readable(items: list[Any], parse: Callable[[Mapping[str, Any]], T]) -> list[T]:
    """What can be read; an item that cannot is logged and left out (never ours to touch)."""
    found: list[T] = []
    for item in items:
        try:
            if not isinstance(item, Mapping):
                raise ValueError("not an object")
            obj = parse(item)
        except ValueError as exc:
            name = item.get("fullPath") if isinstance(item, Mapping) else None
            log.warning("ignoring a BIG-IP DNS object that cannot be read (%s): %s", str(name)[:80], exc)
            continue
        found.append(obj)
    return found


def _spelled(address: str) -> str:
    """An address as a name may hold it: ``2001:db8::10`` is ``2001_db8__10`` (each ``:`` kept apart,
    so two addresses never share a name)."""
    return address.replace(":", "_")


def _pool_path(pool: Mapping[str, Any]) -> str:
    name = pool.get("name")
    if not isinstance(name, str):
        raise ValueError("a pool without its name")
    if name.startswith("/"):
        return name
    partition = pool.get("partition", "Common")
    return f"/{partition}/{name}"


def _text(item: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key} is not text")
    return value
