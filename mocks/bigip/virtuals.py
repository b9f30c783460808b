"""LTM virtual servers, their profiles, and the virtual addresses they bring with them.

A virtual server's ``destination`` (``/P/address:port``, ``.port`` for IPv6) makes the
unit create the virtual address ``/P/address`` when none exists (``autoDelete: "true"``),
and that address goes away with the last virtual server that used it. A virtual address
belongs to one partition in the whole unit. Profiles are a subcollection; a virtual
created without any gets ``/Common/fastL4``. ``pool``, the SNAT pool of
``sourceAddressTranslation``, profiles and persistence profiles must exist, in the
virtual server's partition or in /Common.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from mocks.bigip import errors
from mocks.bigip.database import Obj
from mocks.bigip.kinds import REMOVE, ObjectType, Ref, named_bodies, text
from mocks.bigip.ltm import Pool, Snatpool
from mocks.bigip.names import destination_text, host_mask, is_v6, parse_address, parse_destination
from mocks.bigip.references import check_partition, resolve

if TYPE_CHECKING:
    from mocks.bigip.store import Store

VA_ADDRESSES = "_virtual_addresses"
DESTINATIONS = "_destinations"
COUNTERS = "_counters"
PROFILE_TABLES = (
    "ltm/profile/fastl4",
    "ltm/profile/tcp",
    "ltm/profile/udp",
    "ltm/profile/http",
    "ltm/profile/fasthttp",
    "ltm/profile/one-connect",
    "ltm/profile/client-ssl",
    "ltm/profile/server-ssl",
)
PERSISTENCE_TABLES = ("ltm/persistence/source-addr", "ltm/persistence/dest-addr", "ltm/persistence/cookie")
PROTOCOLS = frozenset({"tcp", "udp", "sctp", "any", "icmp", "icmpv6"})
CONTEXTS = frozenset({"all", "clientside", "serverside"})
SNAT_TYPES = frozenset({"automap", "none", "snat"})


class VirtualAddress(ObjectType):
    path = "ltm/virtual-address"
    kind = "tm:ltm:virtual-address:virtual-addressstate"
    collection_kind = "tm:ltm:virtual-address:virtual-addresscollectionstate"
    label = "Virtual Address"
    defaults: ClassVar[dict[str, Any]] = {
        "arp": "enabled",
        "autoDelete": "true",
        "connectionLimit": 0,
        "enabled": "yes",
        "floating": "enabled",
        "icmpEcho": "enabled",
        "inheritedTrafficGroup": "true",
        "routeAdvertisement": "disabled",
        "serverScope": "any",
        "spanning": "disabled",
        "trafficGroup": "/Common/traffic-group-1",
        "unit": 1,
    }
    optional = frozenset({"description", "address", "mask"})
    read_only = frozenset({"address", "mask"})

    def __init__(self) -> None:
        super().__init__()
        self.validators |= {
            "autoDelete": text("autoDelete", allowed=frozenset({"true", "false"})),
            "arp": text("arp", allowed=frozenset({"enabled", "disabled"})),
            "enabled": text("enabled", allowed=frozenset({"yes", "no"})),
        }

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if current is not None:
            return
        given = record.get("address", record["name"])
        try:
            address = parse_address(given) if isinstance(given, str) else None
        except ValueError:
            address = None
        if address is None:
            raise errors.bad_request(f"01070734:3: Configuration error: invalid IP address ({given}).", api_error=3)
        record["address"], record["mask"] = address, host_mask(address)
        holder = store.db.get(VA_ADDRESSES, address)
        if holder is not None:
            raise errors.already_exists("virtual address", f"{record['fullPath']} {address}", holder.split("/")[1])
        store.db.put(VA_ADDRESSES, address, record["fullPath"])

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        if users:
            raise errors.in_use(
                f"The virtual address ({record['fullPath']}) cannot be deleted because it is in use "
                f"by a {users[0][0]} ({users[0][1]})."
            )

    def after_delete(self, store: Store, record: Obj, parent: Obj | None) -> None:
        store.db.put(VA_ADDRESSES, record["address"], None)


class Profiles(ObjectType):
    """A virtual server's profiles: one item per profile, with its context."""

    path = "profiles"
    kind = "tm:ltm:virtual:profiles:profilesstate"
    collection_kind = "tm:ltm:virtual:profiles:profilescollectionstate"
    label = "profile"
    defaults: ClassVar[dict[str, Any]] = {"context": "all"}
    optional = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.validators = {"context": text("context", allowed=CONTEXTS)}

    def check_name(self, store: Store, partition: str, name: str, parent: Obj | None) -> str:
        if resolve(store, PROFILE_TABLES, f"/{partition}/{name}", partition=partition) is None:
            owner = "" if parent is None else parent["fullPath"]
            raise errors.foreign_key(f"/{partition}/{name}", "Virtual Server", owner, "profile_FK")
        return name

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if parent is not None:
            check_partition("Virtual Server", parent["fullPath"], parent["partition"], record["fullPath"], "profile")

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        return

    def present(self, store: Store, record: Obj, parent: Obj | None) -> Obj:
        shown = super().present(store, record, parent)
        for table in PROFILE_TABLES:
            if store.db.get(table, record["fullPath"]) is not None:
                link = f"https://localhost/mgmt/tm/{table}/~{record['partition']}~{record['name']}?ver={store.version}"
                shown["nameReference"] = {"link": link}
        return shown


class Policies(ObjectType):
    """Local traffic policies of a virtual server: listed (always empty), not modelled."""

    path = "policies"
    kind = "tm:ltm:virtual:policies:policiesstate"
    collection_kind = "tm:ltm:virtual:policies:policiescollectionstate"
    label = "policy"
    writable_by_clients = False


class Virtual(ObjectType):
    path = "ltm/virtual"
    kind = "tm:ltm:virtual:virtualstate"
    collection_kind = "tm:ltm:virtual:virtualcollectionstate"
    label = "Virtual Server"
    toggles = True
    defaults: ClassVar[dict[str, Any]] = {
        "addressStatus": "yes",
        "autoLasthop": "default",
        "cmpEnabled": "yes",
        "connectionLimit": 0,
        "gtmScore": 0,
        "ipProtocol": "tcp",
        "mirror": "disabled",
        "mobileAppTunnel": "disabled",
        "nat64": "disabled",
        "rateLimit": "disabled",
        "rateLimitDstMask": 0,
        "rateLimitMode": "object",
        "rateLimitSrcMask": 0,
        "serviceDownImmediateAction": "none",
        "sourceAddressTranslation": {"type": "none"},
        "sourcePort": "preserve",
        "synCookieStatus": "not-activated",
        "translateAddress": "enabled",
        "translatePort": "enabled",
        "vlansDisabled": True,
    }
    optional = frozenset(
        {
            "description",
            "destination",
            "pool",
            "profiles",
            "persist",
            "rules",
            "mask",
            "source",
            "vlans",
            "vlansEnabled",
        }
    )
    read_only = frozenset({"vsIndex"})

    def __init__(self, profiles: Profiles, policies: Policies) -> None:
        super().__init__()
        self.children = {"profiles": profiles, "policies": policies}
        profiles.parent = policies.parent = self
        self.validators |= {
            "destination": self._destination,
            "pool": self._pool,
            "ipProtocol": text("ipProtocol", allowed=PROTOCOLS),
            "sourceAddressTranslation": self._snat,
            "profiles": self._profiles,
            "persist": self._persist,
            "rules": self._rules,
            "mask": self._mask,
            "source": text("source"),
        }

    # Property checks ---------------------------------------------------------------------

    @staticmethod
    def _destination(store: Store, record: Obj, value: Any) -> Any:
        try:
            folder, address, port = parse_destination(value, partition=record["partition"])
        except (ValueError, AttributeError, TypeError):
            raise errors.bad_request(
                f"01070734:3: Configuration error: invalid destination ({value}) for Virtual Server "
                f"({record['fullPath']}).",
                api_error=3,
            ) from None
        check_partition("Virtual Server", record["fullPath"], record["partition"], f"/{folder}/{address}", "address")
        return destination_text(folder, address, port)

    @staticmethod
    def _pool(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, str):
            raise errors.invalid_value("pool", value)
        if value in ("", "none"):
            return REMOVE
        path = resolve(store, (Pool.path,), value, partition=record["partition"])
        if path is None:
            raise errors.foreign_key(value, "Virtual Server", record["fullPath"], "pool_FK")
        check_partition("Virtual Server", record["fullPath"], record["partition"], path, "pool")
        return path

    @staticmethod
    def _snat(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, dict) or value.get("type") not in SNAT_TYPES:
            raise errors.invalid_value("sourceAddressTranslation", value)
        if value["type"] != "snat":
            return {"type": value["type"]}
        name = value.get("pool")
        path = resolve(store, (Snatpool.path,), name, partition=record["partition"]) if isinstance(name, str) else None
        if path is None:
            raise errors.foreign_key(str(name), "Virtual Server", record["fullPath"], "snatpool_FK")
        check_partition("Virtual Server", record["fullPath"], record["partition"], path, "snatpool")
        return {"type": "snat", "pool": path}

    @staticmethod
    def _profiles(store: Store, record: Obj, value: Any) -> Any:
        chosen = []
        for body in named_bodies("profiles", value):
            path = resolve(store, PROFILE_TABLES, body["name"], partition=record["partition"])
            if path is None:
                raise errors.foreign_key(body["name"], "Virtual Server", record["fullPath"], "profile_FK")
            context = body.get("context", "all")
            if context not in CONTEXTS:
                raise errors.invalid_value("context", context)
            chosen.append({"name": path, "context": context})
        return chosen

    @staticmethod
    def _persist(store: Store, record: Obj, value: Any) -> Any:
        if not isinstance(value, list):
            raise errors.invalid_value("persist", value)
        chosen = []
        for item in value:
            name = item.get("name") if isinstance(item, dict) else item
            path = (
                resolve(store, PERSISTENCE_TABLES, name, partition=record["partition"])
                if isinstance(name, str)
                else None
            )
            if path is None:
                raise errors.foreign_key(str(name), "Virtual Server", record["fullPath"], "persist_FK")
            folder, short = path[1:].split("/", 1)
            chosen.append({"name": short, "partition": folder, "tmDefault": "yes"})
        return chosen or REMOVE

    @staticmethod
    def _rules(store: Store, record: Obj, value: Any) -> Any:
        if value != []:
            raise errors.foreign_key(str(value), "Virtual Server", record["fullPath"], "rule_FK")
        return REMOVE

    @staticmethod
    def _mask(store: Store, record: Obj, value: Any) -> Any:
        if value not in ("255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"):
            raise errors.bad_request(f"This unit models host virtual servers only: mask {value} is refused.")
        return value

    # Whole object ------------------------------------------------------------------------

    def finish(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        if "destination" not in record:
            raise errors.bad_request(f'"destination" is required to create Virtual Server {record["fullPath"]}.')
        folder, address, port = parse_destination(record["destination"], partition=record["partition"])
        record["mask"] = host_mask(address)
        record.setdefault("source", "::/0" if is_v6(address) else "0.0.0.0/0")
        if current is None:
            record["vsIndex"] = self._next_index(store)
        self._claim_destination(store, record, current, f"{address}|{port}|{record['ipProtocol']}")
        self._ensure_address(store, record, f"/{folder}/{address}", address)
        profiles = record.pop("profiles", None)
        if profiles is None and current is None:
            profiles = [{"name": "/Common/fastL4", "context": "all"}]
        record["_profiles"] = profiles

    def after_save(self, store: Store, record: Obj, current: Obj | None, parent: Obj | None) -> None:
        profiles = record.pop("_profiles", None)
        if profiles is not None:
            self._replace_profiles(store, record, profiles)
        if current is not None and _address_of(current) != _address_of(record):
            release_address(store, _address_of(current))

    def references(self, record: Obj, parent: Obj | None) -> list[Ref]:
        refs = [Ref(VirtualAddress.path, _address_of(record))]
        if "pool" in record:
            refs.append(Ref(Pool.path, record["pool"]))
        snat = record["sourceAddressTranslation"]
        if snat.get("type") == "snat":
            refs.append(Ref(Snatpool.path, snat["pool"]))
        return refs

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        return

    def after_delete(self, store: Store, record: Obj, parent: Obj | None) -> None:
        store.db.put(DESTINATIONS, _destination_key(record), None)
        release_address(store, _address_of(record))

    # Helpers -----------------------------------------------------------------------------

    @staticmethod
    def _next_index(store: Store) -> int:
        index = int(store.db.get(COUNTERS, "vsIndex") or 0) + 1
        store.db.put(COUNTERS, "vsIndex", index)
        return index

    @staticmethod
    def _claim_destination(store: Store, record: Obj, current: Obj | None, key: str) -> None:
        holder = store.db.get(DESTINATIONS, key)
        if holder is not None and holder != record["fullPath"]:
            raise errors.bad_request(
                f"01070333:3: Virtual Server {record['fullPath']} illegally shares destination address, source "
                f"address, service port, ip-protocol, and vlan with Virtual Server {holder}.",
                api_error=3,
            )
        if current is not None:
            store.db.put(DESTINATIONS, _destination_key(current), None)
        store.db.put(DESTINATIONS, key, record["fullPath"])

    @staticmethod
    def _ensure_address(store: Store, record: Obj, path: str, address: str) -> None:
        if store.db.get(VirtualAddress.path, path) is None:
            store.create(store.types[VirtualAddress.path], {"name": path, "address": address})

    def _replace_profiles(self, store: Store, record: Obj, profiles: list[Obj]) -> None:
        child = self.children["profiles"]
        for existing in store.records(child, record):
            store.delete(child, existing, parent=record)
        for profile in profiles:
            store.create(child, profile, parent=record)


def _address_of(record: Obj) -> str:
    folder, address, _port = parse_destination(record["destination"], partition=record["partition"])
    return f"/{folder}/{address}"


def _destination_key(record: Obj) -> str:
    _folder, address, port = parse_destination(record["destination"], partition=record["partition"])
    return f"{address}|{port}|{record['ipProtocol']}"


def release_address(store: Store, path: str) -> None:
    """Delete an auto-delete virtual address that no virtual server uses any more."""
    record = store.db.get(VirtualAddress.path, path)
    if record is not None and record.get("autoDelete") == "true" and not store.is_used(VirtualAddress.path, path):
        store.delete(store.types[VirtualAddress.path], record)
