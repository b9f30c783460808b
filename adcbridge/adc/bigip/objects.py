"""Model objects as a BIG-IP's LTM keeps them, both ways. Pure.

Where the bridge's objects live: every object it creates is in its partition ``P`` and named
there by its bare name; the model names them so. A node in ``Common`` is another owner's, and our
pools may use it (a unit lets any partition reference ``Common``): the model names it by its full
path, ``/Common/<name>``, and so do members standing on it (``/Common/<name>:<port>``). A node of
any other partition is read too, named by its full path and marked not ``shared``: its address is a
conflict, since a unit refuses both a second node on that address and a member across partitions.

The mapping, model → BIG-IP:

- node: ``address``, ``description``, ``session`` user-enabled / user-disabled (a disabled node);
- pool: ``loadBalancingMode`` (rr round-robin, wrr ratio-member, lc least-connections-member;
  ip-hash has no mode and is refused at start), ``monitor`` (health checks joined by ``and``; a bare
  name is in ``Common``), ``description``; a BIG-IP pool has no enabled flag;
- member ``<node>:<port>`` (``.`` before the port when the node's name is an IPv6 address):
  ``ratio`` (the weight), ``session`` (user-disabled drains it), ``description``;
- virtual server: ``destination`` ``/P/<address>:<port>`` (``.`` for IPv6), ``ipProtocol``,
  ``pool``, ``sourceAddressTranslation`` (automap, none, or a SNAT pool), ``enabled``/``disabled``,
  ``description``. Created without profiles, a unit gives it ``fastL4``.

Reading is tolerant: ``%0`` route domains, monitors with a trailing space, names and addresses in
more than one spelling come back normalised, so an unchanged object compares equal and causes no
write. An item that cannot be understood raises ``ValueError``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from adcbridge.model import AdcMember, AdcNode, AdcPool, AdcVserver, join_host_port

COMMON = "Common"
MAX_PORT = 65535  # 0 is a unit's "any port"
MODES = {"rr": "round-robin", "wrr": "ratio-member", "lc": "least-connections-member"}
METHODS = {mode: method for method, mode in MODES.items()}


class Place:
    """Names in the bridge's partition: the model's names to BIG-IP paths and back."""

    def __init__(self, partition: str) -> None:
        self.partition = partition

    def path(self, name: str) -> str:
        """The full path of a model name (a bare name is in our partition)."""
        return name if name.startswith("/") else f"/{self.partition}/{name}"

    def model_name(self, full_path: str) -> str:
        """Our partition's objects by bare name; others by full path."""
        folder, _, name = full_path.removeprefix("/").partition("/")
        if not name:
            return full_path  # not a full path: already bare
        return name if folder == self.partition else f"/{folder}/{name}"

    def uri(self, full_path: str) -> str:
        """``~P~name``, as an object's URI takes it."""
        return full_path.replace("/", "~")

    # ------------------------------------------------------------------ bodies

    def node_body(self, node: AdcNode) -> dict[str, Any]:
        return {
            "name": node.name,
            "partition": self.partition,
            "address": node.ip,
            "description": node.description,
            "session": _session(node.enable),
        }

    def pool_body(self, pool: AdcPool) -> dict[str, Any]:
        return {
            "name": pool.name,
            "partition": self.partition,
            "loadBalancingMode": MODES.get(pool.method, pool.method),
            "monitor": " and ".join(_monitor_path(check) for check in pool.healthcheck),
            "description": pool.description,
        }

    def member_name(self, member: AdcMember) -> str:
        """``<node path>:<port>``: the name a member is created with and addressed by."""
        node = self.path(member.node)
        bare = node.rsplit("/", 1)[-1]
        separator = "." if _is_ipv6(bare) else ":"
        return f"{node}{separator}{member.port}"

    def member_body(self, member: AdcMember) -> dict[str, Any]:
        return {
            "name": self.member_name(member),
            "description": member.description,
            "ratio": member.weight,
            "session": _session(member.enable),
        }

    def virtual_body(self, vserver: AdcVserver) -> dict[str, Any]:
        address, port = _split_vip(vserver.vip)
        separator = "." if ipaddress.ip_address(address).version == 6 else ":"
        return {
            "name": vserver.name,
            "partition": self.partition,
            "destination": f"/{self.partition}/{address}{separator}{port}",
            "ipProtocol": vserver.protocol,
            "pool": self.path(vserver.pool),
            "sourceAddressTranslation": _snat_body(vserver.snat),
            "description": vserver.description,
            ("enabled" if vserver.enable else "disabled"): True,
        }

    # ------------------------------------------------------------------ reading

    def node(self, item: Mapping[str, Any]) -> AdcNode:
        full_path = _text(item, "fullPath")
        folder = full_path.removeprefix("/").partition("/")[0]
        return AdcNode(
            self.model_name(full_path),
            _address(_text(item, "address")),
            _text(item, "description", ""),
            _text(item, "session", "user-enabled") != "user-disabled",
            shared=folder in (self.partition, COMMON),
        )

    def pool(self, item: Mapping[str, Any]) -> tuple[AdcPool, list[AdcMember]]:
        mode = _text(item, "loadBalancingMode", "round-robin")
        pool = AdcPool(
            self.model_name(_text(item, "fullPath")),
            METHODS.get(mode, mode),
            _monitors(_text(item, "monitor", "")),
            _text(item, "description", ""),
        )
        reference = item.get("membersReference", {})
        if not isinstance(reference, Mapping):
            raise ValueError("membersReference is not an object")
        members = reference.get("items", [])  # a unit leaves ``items`` out of an empty collection
        if not isinstance(members, list):
            raise ValueError("membersReference.items is not a list")
        return pool, [self.member(pool.name, member) for member in members]

    def member(self, pool: str, item: Any) -> AdcMember:
        if not isinstance(item, Mapping):
            raise ValueError("member is not an object")
        node_path, port = _split_member(_text(item, "fullPath"))
        ratio = item.get("ratio", 1)
        if isinstance(ratio, bool) or not isinstance(ratio, int):
            raise ValueError("ratio is not a number")
        return AdcMember(
            pool,
            self.model_name(node_path),
            port,
            ratio,
            _text(item, "description", ""),
            _text(item, "session", "user-enabled") != "user-disabled",
        )

    def virtual(self, item: Mapping[str, Any]) -> AdcVserver:
        destination = _text(item, "destination").rsplit("/", 1)[-1]
        address, port = _split_member(destination)
        translation = item.get("sourceAddressTranslation") or {}
        if not isinstance(translation, Mapping):
            raise ValueError("sourceAddressTranslation is not an object")
        return AdcVserver(
            self.model_name(_text(item, "fullPath")),
            join_host_port(_address(address), port),
            _text(item, "ipProtocol", "tcp"),
            self.model_name(_text(item, "pool", "")) if item.get("pool") else "",
            _text(item, "description", ""),
            item.get("disabled") is not True,
            snat=_snat(translation),
        )


def _session(enable: bool) -> str:
    return "user-enabled" if enable else "user-disabled"


def _monitor_path(check: str) -> str:
    return check if check.startswith("/") else f"/{COMMON}/{check}"


def _monitors(text: str) -> tuple[str, ...]:
    """``/Common/http and /Common/tcp `` → (http, tcp); a ``min N of`` rule is kept whole."""
    text = text.strip()
    if not text or text in ("none", "default"):
        return ()
    if text.startswith("min "):
        return (text,)
    return tuple(part.strip().removeprefix(f"/{COMMON}/") for part in text.split(" and "))


def _snat_body(snat: str) -> dict[str, str]:
    if snat in ("automap", "none"):
        return {"type": snat}
    return {"type": "snat", "pool": _monitor_path(snat)}


def _snat(translation: Mapping[str, Any]) -> str:
    kind = translation.get("type", "none")
    if kind == "snat":
        pool = translation.get("pool")
        if not isinstance(pool, str):
            raise ValueError("a SNAT translation without its pool")
        return pool.removeprefix(f"/{COMMON}/")
    if kind not in ("automap", "none"):
        raise ValueError(f"unknown sourceAddressTranslation type {str(kind)[:20]!r}")
    return str(kind)


def _split_vip(vip: str) -> tuple[str, int]:
    host, _, port = vip.rpartition(":")
    return host.strip("[]"), int(port)


def _split_member(name: str) -> tuple[str, int]:
    """``<node>:<port>`` or ``<ipv6 node>.<port>`` (a full path may stand before the node)."""
    head, _, bare = name.rpartition("/")
    prefix = f"{head}/" if head else ""
    node, separator, port = bare.rpartition(".") if bare.count(":") > 1 else bare.rpartition(":")
    if not separator or not (port.isascii() and port.isdigit() and int(port) <= MAX_PORT):
        raise ValueError(f"member or destination {name[:80]!r} is not <node>:<port>")
    return prefix + node.removesuffix("%0"), int(port)


def _address(text: str) -> str:
    """An address of route domain 0 (``%0`` or none); any other route domain, or an IPv6 scope,
    is another address space than the one the bridge manages: unreadable, as it is for IPv4."""
    address = ipaddress.ip_address(text.removesuffix("%0"))
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        raise ValueError(f"address {text[:60]!r} is not in route domain 0")
    return str(address)


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def _text(item: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key} is not text")
    return value
