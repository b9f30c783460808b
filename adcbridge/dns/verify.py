"""The resolution check: ask the configured DNS servers whether the names we publish resolve.

Registering a name on the ADC is half the job; users need it to resolve. The bridge hands this
module the names it publishes and the addresses each must resolve to (``expected_addresses``),
and ``Verifier.verify`` answers, per name and per server, what the server says: ``ok``,
``nxdomain``, ``nodata``, ``wrong_address``, ``timeout`` or ``error``.

How it asks: an ``A`` query when any IPv4 address is expected, an ``AAAA`` query when any IPv6
one is (both for a dual-stack name); over UDP, and again over TCP when the UDP answer is
truncated (what ``dns.asyncquery.udp_with_fallback`` does, done in two steps here so that every
message sent is counted and a failure says which transport failed). Each message has its own
``timeout``; there are no other retries, as the check runs again. At most
``concurrency`` queries are in flight: that many workers share one list of queries, which bounds
them as a semaphore would without a task per query. Wildcard names (``*.apps.example.com``) are
asked literally: the wildcard owner name matches itself (RFC 4592). Addresses compare as
``ipaddress`` values, as sets, so order and spelling (``2001:DB8::0:1``) do not matter.

Cost bounds: a server that does not answer must not cost one timeout per name (10,000 names
on a silent server took minutes). So each server is first asked one query alone, the probe;
when no answer comes (a timeout, a refused or reset socket, an address that cannot be looked
up) the server is unreachable: its other queries are not sent, its names get the probe's
reason (``timeout``, or ``error`` for a refused socket or an unknown host) with ``answered``
False, and the report names the server once in ``unreachable``.
And the whole ``verify`` ends by ``deadline``: queries not answered by then become ``timeout``
checks with ``answered`` False, so the caller can ask them again later. A ``gate``, when given, is
awaited before each query is sent: the service passes one that waits while a reconcile cycle runs,
so a check of 10,000 names (a few CPU-seconds on the bridge's core) gives way to the cycles instead
of slowing each of them down; the time it waits counts against the deadline.

What it must not do: write anything (it only sends queries), raise for a DNS failure (every
failure of a server, a query or an answer becomes a ``NameCheck``), or hold up the reconcile
loop: one verify of 10,000 names can take seconds, so the caller runs it beside the loop, and
cancelling ``verify`` cancels its queries and closes their sockets before it returns.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rrset

from adcbridge.config import split_host_port
from adcbridge.errors import ConfigError
from adcbridge.model import AdcDomain, sorted_addresses

Reason = Literal["ok", "nxdomain", "nodata", "wrong_address", "timeout", "error"]
REASONS: tuple[Reason, ...] = get_args(Reason)
MAX_LISTED = 5  # names listed per reason in a summary

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Gate = Callable[[], Awaitable[None]]  # awaited before each query: returns when the query may go
Server = tuple[str, int]  # (host, port); host is an IP literal or a name


@dataclass(frozen=True)
class NameCheck:
    """What one server says about one name (every queried type together)."""

    name: str  # as published, e.g. "shop.example.com" or "*.apps.example.com"
    server: str  # "host:port", "[v6]:port"
    reason: Reason
    detail: str  # e.g. "A: answered 192.0.2.99, expected 192.0.2.10"; "" when ok
    answered: bool = True  # False: no answer (a timeout, an unreachable server, the deadline): ask again


@dataclass(frozen=True)
class VerifyReport:
    checks: tuple[NameCheck, ...]  # in the order of the names given, then of the servers
    duration: float  # seconds
    queries: int  # DNS messages sent (UDP, plus TCP after truncation)
    unreachable: Mapping[str, str] = field(default_factory=dict)  # server label -> why (the probe's failure)
    cut: bool = False  # the deadline ended the check before every query had its answer

    def counts(self) -> dict[str, int]:
        """Checks per reason: ``ok`` always, every other reason when it occurs, in ``REASONS`` order."""
        counted = Counter(check.reason for check in self.checks)
        return {reason: counted[reason] for reason in REASONS if reason == "ok" or counted[reason]}

    def failures(self) -> tuple[NameCheck, ...]:
        return tuple(check for check in self.checks if check.reason != "ok")

    def summary(self) -> str:
        """One line: "7 names on 1 server: 6 ok, 1 nxdomain (old.example.com)".

        Counts are of checks (names times servers). With several servers a listed name carries
        the server that failed it: ``old.example.com@192.0.2.53:53``. A server that did not
        answer is named once at the end: "; 192.0.2.53:53 did not answer (A: no UDP answer within 2 s)".
        """
        names = len(dict.fromkeys(check.name for check in self.checks))
        servers = len(dict.fromkeys(check.server for check in self.checks))
        parts = [self._part(reason, count, several=servers > 1) for reason, count in self.counts().items()]
        silent = "".join(f"; {server} did not answer ({why})" for server, why in self.unreachable.items())
        return f"{_plural(names, 'name')} on {_plural(servers, 'server')}: {', '.join(parts)}{silent}"

    def _part(self, reason: str, count: int, *, several: bool) -> str:
        if reason == "ok":
            return f"{count} ok"
        failed = [check for check in self.checks if check.reason == reason]
        listed = [f"{check.name}@{check.server}" if several else check.name for check in failed[:MAX_LISTED]]
        more = f" and {len(failed) - MAX_LISTED} more" if len(failed) > MAX_LISTED else ""
        return f"{count} {reason} ({', '.join(listed)}{more})"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# ---------------------------------------------------------------------------- inputs (pure)


def expected_addresses(domains: Iterable[AdcDomain]) -> dict[str, tuple[str, ...]]:
    """Name -> its addresses (both families), normalised and sorted; disabled domains publish nothing."""
    merged: dict[str, tuple[str, ...]] = {}
    for domain in domains:
        if domain.enable:
            merged[domain.name] = merged.get(domain.name, ()) + domain.addresses
    return {name: sorted_addresses(addresses) for name, addresses in sorted(merged.items())}


class ExpectedAddresses:
    """``expected_addresses`` of the desired names, cycle after cycle, working out again only the
    names whose domain changed since the last call (the desired state reuses the domain objects of
    unchanged names): 3 ms instead of 20 ms after each cycle at 50,000 names."""

    def __init__(self) -> None:
        self._domains: dict[str, AdcDomain] = {}  # a copy: the caller's map may change in place later
        self._expected: dict[str, tuple[str, ...]] = {}

    def of(self, names: Mapping[str, AdcDomain]) -> dict[str, tuple[str, ...]]:
        """Name -> addresses, equal to ``expected_addresses(names.values())`` and in the same order;
        a new dict each time (the check keeps the last one it was given)."""
        before, worked_out = self._domains, self._expected
        expected: dict[str, tuple[str, ...]] = {}
        for name in sorted(names):
            domain = names[name]
            if before.get(name) is domain:
                if name in worked_out:
                    expected[name] = worked_out[name]
            elif domain.enable:
                expected[name] = sorted_addresses(domain.addresses)
        self._domains, self._expected = dict(names), expected
        return expected


def parse_servers(values: list[str]) -> list[Server]:
    """``host:port`` / ``[v6]:port`` strings as (host, port); ConfigError naming the bad one."""
    servers = []
    for value in values:
        try:
            host, port = split_host_port(value)
        except ValueError as exc:
            raise ConfigError(f"dns.verify_servers: {value!r} {exc}") from None
        if port == 0:
            raise ConfigError(f"dns.verify_servers: {value!r}: port 0 is not a DNS server's port")
        servers.append((host, port))
    return servers


def server_label(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# ---------------------------------------------------------------------------- one query


@dataclass(frozen=True)
class _Target:
    """A server as it will be asked: ``address`` is an IP literal, or None with ``problem`` saying why."""

    label: str
    address: str | None
    port: int
    problem: str = ""


@dataclass(frozen=True)
class _Query:
    name: str
    target: _Target
    rdtype: str  # "A" or "AAAA"
    expected: frozenset[IPAddress]


@dataclass(frozen=True)
class _Outcome:
    reason: Reason
    detail: str = ""
    answered: bool = True  # False: no answer came (timeout, socket error): the server looks unreachable


def _families(expected: Iterable[str]) -> dict[str, frozenset[IPAddress]]:
    """Expected addresses by query type; a type is asked only when it has addresses."""
    parsed = frozenset(ipaddress.ip_address(address) for address in expected)
    by_type: dict[str, frozenset[IPAddress]] = {
        "A": frozenset(ip for ip in parsed if ip.version == 4),
        "AAAA": frozenset(ip for ip in parsed if ip.version == 6),
    }
    return {rdtype: ips for rdtype, ips in by_type.items() if ips}


def _shown(addresses: Iterable[IPAddress]) -> str:
    return " ".join(str(ip) for ip in sorted(addresses, key=lambda ip: (ip.version, int(ip)))) or "nothing"


def judge(response: dns.message.Message, rdtype: str, expected: frozenset[IPAddress]) -> _Outcome:
    """What one answer means for one query type."""
    refused = _by_rcode(response, rdtype)
    if refused is not None:
        return refused
    try:
        answer = _chained_answer(response)
    except (dns.exception.DNSException, ValueError) as exc:
        return _Outcome("error", f"{rdtype}: unusable answer ({_describe(exc)})")
    if answer is None:
        return _Outcome("nodata", f"{rdtype}: no {rdtype} record")
    answered = frozenset(ipaddress.ip_address(item.to_text()) for item in answer)
    if answered != expected:
        return _Outcome("wrong_address", f"{rdtype}: answered {_shown(answered)}, expected {_shown(expected)}")
    return _Outcome("ok")


def _by_rcode(response: dns.message.Message, rdtype: str) -> _Outcome | None:
    """The outcome when the rcode alone decides it (NXDOMAIN, SERVFAIL, REFUSED...); None for NOERROR."""
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return _Outcome("nxdomain", f"{rdtype}: NXDOMAIN")
    if rcode != dns.rcode.NOERROR:
        return _Outcome("error", f"{rdtype}: {dns.rcode.to_text(rcode)}")
    return None


def _chained_answer(response: dns.message.Message) -> dns.rrset.RRset | None:
    """The answer for the question, following a CNAME chain should a server answer with one."""
    if not isinstance(response, dns.message.QueryMessage):
        raise ValueError("the answer is not a query response")
    return response.resolve_chaining().answer


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _merge(outcomes: list[_Outcome]) -> _Outcome:
    """A name is ok when every queried type is; otherwise the first failing type decides the reason."""
    failed = [outcome for outcome in outcomes if outcome.reason != "ok"]
    if not failed:
        return _Outcome("ok")
    answered = all(outcome.answered for outcome in failed)
    return _Outcome(failed[0].reason, "; ".join(outcome.detail for outcome in failed), answered)


# ---------------------------------------------------------------------------- the run


class _Run:
    """The state of one ``verify``: the servers, the queries, their outcomes, the messages sent.

    ``go`` looks the servers up, probes each with its first query, then sends the queries of the
    servers that answered through ``concurrency`` workers sharing one iterator (a semaphore's bound
    without a task per query). ``checks`` turns whatever was reached into one check per name and
    server, also when ``go`` was cut short by the deadline.
    """

    def __init__(
        self,
        wanted: dict[str, dict[str, frozenset[IPAddress]]],
        servers: list[Server],
        *,
        timeout: float,
        deadline: float,
        concurrency: int,
        gate: Gate | None = None,
    ) -> None:
        self.wanted = wanted
        self.servers = servers
        self.timeout, self.deadline, self.concurrency = timeout, deadline, concurrency
        self.gate = gate
        late = f"not looked up within the check's deadline ({self.deadline:g} s)"
        self.targets = [_Target(server_label(host, port), None, port, late) for host, port in servers]
        self.outcomes: dict[_Query, _Outcome] = {}
        self.unreachable: dict[str, _Outcome] = {}  # server label -> its probe's outcome
        self.sent = 0

    def queries(self, target: _Target) -> list[_Query]:
        return [
            _Query(name, target, rdtype, ips)
            for name, families in self.wanted.items()
            for rdtype, ips in families.items()
        ]

    async def go(self) -> None:
        for index, (host, port) in enumerate(self.servers):
            self.targets[index] = await _target(host, port)
        rest: list[_Query] = []
        async with asyncio.TaskGroup() as group:
            for target in self.targets:
                group.create_task(self.probe(self.queries(target), rest))
        pending = iter(rest)
        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.concurrency, len(rest))):
                group.create_task(self.work(pending))

    async def probe(self, queries: list[_Query], rest: list[_Query]) -> None:
        """The server's first query alone: no answer, and the server's other queries are not sent."""
        if not queries:
            return
        first = queries[0]
        outcome = self.outcomes[first] = await self.ask(first)
        if outcome.answered:
            rest.extend(queries[1:])
        else:
            self.unreachable[first.target.label] = outcome

    async def work(self, pending: Iterator[_Query]) -> None:
        """One worker: take the next query until none is left (workers share the iterator)."""
        for query in pending:
            self.outcomes[query] = await self.ask(query)

    async def ask(self, query: _Query) -> _Outcome:
        target = query.target
        if target.address is None:
            return _Outcome("error", f"{query.rdtype}: {target.problem}", answered=False)
        if self.gate is not None:
            await self.gate()
        try:
            message = dns.message.make_query(query.name, query.rdtype)
        except Exception as exc:  # a name DNS cannot carry: this name's finding, not the server's
            return _Outcome("error", f"{query.rdtype}: UDP {_describe(exc)}")
        transport = "UDP"
        try:
            self.sent += 1
            try:
                response = await dns.asyncquery.udp(
                    message, target.address, self.timeout, target.port, raise_on_truncation=True
                )
            except dns.message.Truncated:
                transport = "TCP"
                self.sent += 1
                response = await dns.asyncquery.tcp(message, target.address, self.timeout, target.port)
        except dns.exception.Timeout:
            return _Outcome(
                "timeout", f"{query.rdtype}: no {transport} answer within {self.timeout:g} s", answered=False
            )
        except OSError as exc:  # refused, reset, unreachable network: no answer from this server
            return _Outcome("error", f"{query.rdtype}: {transport} {_describe(exc)}", answered=False)
        except Exception as exc:  # every other failure (malformed answer) is a finding, not a crash
            return _Outcome("error", f"{query.rdtype}: {transport} {_describe(exc)}")
        return judge(response, query.rdtype, query.expected)

    def outcome(self, query: _Query) -> _Outcome:
        """What was found for the query, or why it was not asked."""
        found = self.outcomes.get(query)
        if found is not None:
            return found
        label = query.target.label
        probe = self.unreachable.get(label)
        if probe is not None:
            detail = f"{query.rdtype}: not asked, {label} did not answer ({probe.detail})"
            return _Outcome(probe.reason, detail, answered=False)
        return _Outcome(
            "timeout", f"{query.rdtype}: not asked within the check's deadline ({self.deadline:g} s)", answered=False
        )

    def silent(self) -> dict[str, str]:
        return {label: probe.detail for label, probe in self.unreachable.items()}

    def checks(self) -> tuple[NameCheck, ...]:
        return tuple(
            _check(name, target, [self.outcome(_Query(name, target, rdtype, ips)) for rdtype, ips in families.items()])
            for name, families in self.wanted.items()
            for target in self.targets
        )


async def _target(host: str, port: int) -> _Target:
    """The server with its address: an IP literal as it is, a host name looked up once per verify."""
    label = server_label(host, port)
    try:
        return _Target(label, str(ipaddress.ip_address(host)), port)
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        return _Target(label, None, port, f"cannot look up {host} ({_describe(exc)})")
    return _Target(label, str(found[0][4][0]), port)


class Verifier:
    """Asks ``servers`` about names; one instance serves every check (it keeps no state between them).

    ``deadline`` bounds one ``verify`` in total (lookups, probes and queries); ``gate``, awaited
    before each query, may hold the queries back (it can be set after construction)."""

    def __init__(
        self,
        servers: list[Server],
        *,
        timeout: float,
        concurrency: int,
        deadline: float = 60.0,
        gate: Gate | None = None,
    ) -> None:
        if not servers:
            raise ValueError("Verifier needs at least one server")
        if timeout <= 0 or concurrency < 1 or deadline <= 0:
            raise ValueError("timeout and deadline must be positive and concurrency at least 1")
        self.servers = list(servers)
        self.timeout = timeout
        self.concurrency = concurrency
        self.deadline = deadline
        self.gate = gate

    async def verify(self, expected: Mapping[str, tuple[str, ...]]) -> VerifyReport:
        """Every name on every server; raises only ValueError for an expected value that is no IP."""
        started = time.monotonic()
        wanted = {name: _families(addresses) for name, addresses in expected.items()}
        run = _Run(
            wanted,
            self.servers,
            timeout=self.timeout,
            deadline=self.deadline,
            concurrency=self.concurrency,
            gate=self.gate,
        )
        cut = False
        try:
            async with asyncio.timeout(self.deadline):
                await run.go()
        except TimeoutError:
            cut = True
        return VerifyReport(run.checks(), time.monotonic() - started, run.sent, run.silent(), cut)


def _check(name: str, target: _Target, outcomes: list[_Outcome]) -> NameCheck:
    if not outcomes:  # nothing expected: nothing can be wrong, but say so
        return NameCheck(name, target.label, "error", "no addresses expected")
    outcome = _merge(outcomes)
    return NameCheck(name, target.label, outcome.reason, outcome.detail, outcome.answered)
