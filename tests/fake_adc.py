"""A stateful in-memory appliance at the planner's seam: it executes a Plan by the ADC's rules.

It holds an ``AdcState`` and applies operations one by one, in plan order, enforcing what
``mocks/adc/README.md`` promises the real appliance enforces: unique keys, one node per IP,
one virtual server per VIP+protocol, references that exist (a member's node and pool, a
virtual server's pool), no deletion of a node or pool still in use, a pool's members gone
with it, updates only of existing objects and never of a node's address (BIG-IP and ACOS
refuse it), and the field rules (names, ports, addresses).
Any violation raises AssertionError, so a plan the appliance would refuse fails the test.

It also checks the plan's own promises: an operation's ``needs`` name operations that came
earlier in the same plan, an update lists exactly the fields it changes, and a delete
carries the object as it is stored.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import fields
from typing import Any

from adcbridge.hostnames import InvalidHost, normalize_host
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

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$")
METHODS = {"rr", "wrr", "lc", "ip-hash"}
PROTOCOLS = {"tcp", "udp", "http", "https"}
RECORD_FAMILIES = {"A": {4}, "AAAA": {6}, "A+AAAA": {4, 6}}


def copy_state(state: AdcState) -> AdcState:
    """A new AdcState with its own dicts (the objects themselves are frozen)."""
    return AdcState(
        nodes=dict(state.nodes),
        pools=dict(state.pools),
        members=dict(state.members),
        vservers=dict(state.vservers),
        domains=dict(state.domains),
    )


def foreign(state: AdcState, owner: Owner) -> AdcState:
    """What the planner must never touch: unmarked (or otherwise owned) objects, members of such pools."""
    pools = {key: pool for key, pool in state.pools.items() if not owner.owns(pool.description)}
    return AdcState(
        nodes={key: obj for key, obj in state.nodes.items() if not owner.owns(obj.description)},
        pools=pools,
        members={key: obj for key, obj in state.members.items() if obj.pool in pools},
        vservers={key: obj for key, obj in state.vservers.items() if not owner.owns(obj.description)},
        domains={key: obj for key, obj in state.domains.items() if not owner.owns(obj.description)},
    )


class FakeAdc:
    def __init__(self, state: AdcState | None = None) -> None:
        self.state = copy_state(state or AdcState())
        self.log: list[Operation] = []

    # ------------------------------------------------------------------------ plans

    def apply(self, plan: Plan) -> None:
        done: set[str] = set()
        for op in plan.operations:
            missing = [ref for ref in op.needs if ref not in done]
            assert not missing, f"{op.action} {op.ref} needs {missing}, which did not come before it"
            self.execute(op)
            done.add(op.ref)

    def execute(self, op: Operation) -> None:
        if op.action is Action.CREATE:
            assert not op.changes, f"create {op.ref} lists changes {op.changes}"
            self.create(op.obj)
        elif op.action is Action.UPDATE:
            self.update(op.obj, op.changes)
        else:
            self.delete(op.obj)
        self.log.append(op)

    # ------------------------------------------------------------------------ writes

    def create(self, obj: AdcObject) -> None:
        problem = self.refusal(obj)
        assert problem is None, f"the appliance refuses to create {obj.kind.label} {obj.key}: {problem}"
        self.state.of_kind(obj.kind)[obj.key] = obj

    def add(self, obj: AdcObject) -> bool:
        """Create ``obj`` if the appliance would accept it (for seeding a random state)."""
        if self.refusal(obj) is not None:
            return False
        self.state.of_kind(obj.kind)[obj.key] = obj
        return True

    def update(self, obj: AdcObject, changes: tuple[str, ...]) -> None:
        current = self.state.of_kind(obj.kind).get(obj.key)
        assert current is not None, f"update of {obj.kind.label} {obj.key}, which does not exist"
        differ = tuple(item.name for item in fields(obj) if getattr(current, item.name) != getattr(obj, item.name))
        assert differ, f"update of {obj.kind.label} {obj.key} changes nothing"
        assert changes == differ, f"update of {obj.kind.label} {obj.key} lists {changes}, changes {differ}"
        assert "ip" not in changes, f"the appliance refuses to change node {obj.key}'s address: delete and create it"
        problem = self.refusal(obj, replacing=current)
        assert problem is None, f"the appliance refuses to update {obj.kind.label} {obj.key}: {problem}"
        self.state.of_kind(obj.kind)[obj.key] = obj

    def delete(self, obj: AdcObject) -> None:
        objects = self.state.of_kind(obj.kind)
        assert obj.key in objects, f"delete of {obj.kind.label} {obj.key}, which does not exist"
        assert objects[obj.key] == obj, f"delete of {obj.kind.label} {obj.key} carries {obj}, not {objects[obj.key]}"
        if isinstance(obj, AdcNode):
            users = sorted(key for key, member in self.state.members.items() if member.node == obj.name)
            assert not users, f"the appliance refuses to delete node {obj.name}: in use by member {users[0]}"
        if isinstance(obj, AdcPool):
            users = sorted(key for key, vserver in self.state.vservers.items() if vserver.pool == obj.name)
            assert not users, f"the appliance refuses to delete pool {obj.name}: in use by vserver {users[0]}"
            for key in [key for key, member in self.state.members.items() if member.pool == obj.name]:
                del self.state.members[key]
        del objects[obj.key]

    # ------------------------------------------------------------------------ rules

    def refusal(self, obj: AdcObject, *, replacing: AdcObject | None = None) -> str | None:
        """Why the appliance would refuse ``obj`` (a create, or an update of ``replacing``), or None."""
        if replacing is None and obj.key in self.state.of_kind(obj.kind):
            return "already exists"
        return _field_problem(obj) or self._integrity_problem(obj)

    def _integrity_problem(self, obj: AdcObject) -> str | None:
        if isinstance(obj, AdcNode):
            ip = str(ipaddress.ip_address(obj.ip))
            holders = [other.name for other in self.state.nodes.values() if other.ip == ip and other.name != obj.name]
            return f"ip {ip} is taken by node {holders[0]}" if holders else None
        if isinstance(obj, AdcMember):
            if obj.pool not in self.state.pools:
                return f"pool {obj.pool} does not exist"
            return None if obj.node in self.state.nodes else f"node {obj.node} does not exist"
        if isinstance(obj, AdcVserver):
            if obj.pool not in self.state.pools:
                return f"pool {obj.pool} does not exist"
            holders = [
                other.name
                for other in self.state.vservers.values()
                if (other.vip, other.protocol) == (obj.vip, obj.protocol) and other.name != obj.name
            ]
            return f"{obj.vip}/{obj.protocol} is taken by vserver {holders[0]}" if holders else None
        return None


def _field_problem(obj: AdcObject) -> str | None:
    if len(obj.description) > 255:
        return "description longer than 255 characters"
    if isinstance(obj, AdcMember):
        in_range = 1 <= obj.port <= 65535 and 1 <= obj.weight <= 255
        return None if in_range else f"port {obj.port} or weight {obj.weight} out of range"
    if isinstance(obj, AdcDomain):
        return _domain_problem(obj)
    return _slb_problem(obj)


def _slb_problem(obj: AdcNode | AdcPool | AdcVserver) -> str | None:
    if not NAME.match(obj.name):
        return f"invalid name {obj.name!r}"
    if isinstance(obj, AdcNode):
        return _address_problem(obj.ip)
    if isinstance(obj, AdcPool):
        valid = obj.method in METHODS and len(set(obj.healthcheck)) == len(obj.healthcheck)
        return None if valid else f"invalid method {obj.method!r} or repeated health checks"
    return _vserver_problem(obj)


def _vserver_problem(vserver: AdcVserver) -> str | None:
    if vserver.protocol not in PROTOCOLS:
        return f"invalid protocol {vserver.protocol!r}"
    host, _, port = vserver.vip.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"invalid vip {vserver.vip!r}"
    bracketed = host.startswith("[") and host.endswith("]")
    problem = _address_problem(host.strip("[]"))
    if problem is None and (ipaddress.ip_address(host.strip("[]")).version == 6) != bracketed:
        return f"vip {vserver.vip!r}: IPv6 and only IPv6 is bracketed"
    return problem


def _domain_problem(domain: AdcDomain) -> str | None:
    try:
        stored = normalize_host(domain.name)
    except InvalidHost as exc:
        return f"invalid domain name {domain.name!r}: {exc}"
    if stored != domain.name:
        return f"domain name {domain.name!r} is not in stored form {stored!r}"
    if domain.type not in RECORD_FAMILIES or not 1 <= domain.ttl <= 604800:
        return f"invalid type {domain.type!r} or ttl {domain.ttl}"
    if not 1 <= len(domain.addresses) <= 64 or len(set(domain.addresses)) != len(domain.addresses):
        return "1-64 distinct addresses"
    problems = [_address_problem(address) for address in domain.addresses]
    if any(problems):
        return next(problem for problem in problems if problem)
    families = {ipaddress.ip_address(address).version for address in domain.addresses}
    return None if families == RECORD_FAMILIES[domain.type] else f"addresses do not match type {domain.type}"


def _address_problem(text: str) -> str | None:
    """A usable unicast address, written the way the appliance normalises it (our equality relies on that)."""
    try:
        address: Any = ipaddress.ip_address(text)
    except ValueError:
        return f"{text!r} is not an IP address"
    if address.is_multicast or address.is_unspecified or address.is_link_local or text == "255.255.255.255":
        return f"{text} is not a usable unicast address"
    if str(address) != text:
        return f"{text} is not in the appliance's normal form {address}"
    return None


def kinds_touched(operations: tuple[Operation, ...] | list[Operation]) -> set[Kind]:
    return {op.obj.kind for op in operations}
