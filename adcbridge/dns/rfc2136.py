"""The RFC 2136 target: read zones by signed transfer (or by query), write them by signed UPDATE.

The same shape as the ADC driver: ``observe`` returns what the zones hold for the names that
concern us (``records.NameRecords``), ``records.plan_records`` decides, ``apply`` carries the
plan out and reports per name. Every message is signed with the TSIG key; the secret comes
from settings or the file ``rfc2136-tsig-secret`` of the secrets directory, read at every
cycle so a rotated key needs no restart.

Writes are guarded by RFC 2136 prerequisites, so a change made by someone else between our
read and our write is detected, never overwritten:

- create: the name has no A and no AAAA records;
- update and delete: the name's A and AAAA records are exactly those we read.

Up to ``batch_size`` names of one zone go in one UPDATE message (fewer when their records would
not fit in the 65,535 bytes of a DNS message: the batch is halved). The server applies a message
all or nothing, so when a batch fails its prerequisites it is retried name by name and only
the names that changed meanwhile are reported (as conflicts; the next cycle reads them again).

Errors: REFUSED and NOTAUTH (a key the server does not accept for this zone, or a zone it is not
primary for), and TSIG failures, are permanent: reported with what to check, not retried.
Timeouts, SERVFAIL and connection failures are transient: retried with backoff, a few times
within one cycle, then reported. An unreadable zone fails the observation (an unknown zone
is not an empty one: nothing would be deleted from it anyway, but nothing is planned either).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TypeVar

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import dns.xfr
import dns.zone

from adcbridge.config import Rfc2136Settings, split_host_port
from adcbridge.errors import ConfigError, DnsRejected, DnsUnavailable, excerpt
from adcbridge.records import (
    MARKER_PREFIX,
    NameRecords,
    RecordAction,
    RecordApplyReport,
    RecordChange,
    RecordPlan,
    RecordResult,
    normalised,
    zone_of,
)

log = logging.getLogger(__name__)

ATTEMPTS = 3
PREREQUISITE_FAILED = {dns.rcode.YXRRSET, dns.rcode.NXRRSET, dns.rcode.YXDOMAIN, dns.rcode.NXDOMAIN}
PERMANENT = {dns.rcode.REFUSED, dns.rcode.NOTAUTH, dns.rcode.NOTZONE, dns.rcode.FORMERR, dns.rcode.NOTIMP}
ADDRESS_TYPES = ("A", "AAAA")
T = TypeVar("T")


SECRET_FILE = "rfc2136-tsig-secret"


class _TooBig(Exception):
    """An UPDATE over the 65,535 bytes of a DNS message: sent as smaller batches instead."""


def secret_source(secret: str, secrets_dir: Path | None) -> Callable[[], str]:
    """The TSIG secret: the file in the secrets directory (read every time: rotation) or the setting."""

    def current() -> str:
        if secrets_dir is not None:
            try:
                from_file = (secrets_dir / SECRET_FILE).read_text(encoding="utf-8").strip()
            except OSError:
                from_file = ""
            if from_file:
                return from_file
        if not secret:
            raise ConfigError(f"no TSIG secret: set ADCBRIDGE_RFC2136__TSIG_SECRET or {SECRET_FILE} in secrets_dir")
        return secret

    return current


class Rfc2136Target:
    def __init__(self, settings: Rfc2136Settings, *, secret: Callable[[], str], marker: str) -> None:
        self._settings = settings
        self._secret = secret
        self._marker = marker
        self._host, self._port = split_host_port(settings.server)
        self._remembered: set[str] = set()  # names we own, for observe="query"
        self.messages = 0  # every DNS message sent (tests, benchmark)

    # ------------------------------------------------------------------ observe

    async def observe(self, wanted: Iterable[str]) -> dict[str, NameRecords]:
        """What the zones hold for us and for the wanted names (by transfer, or by query)."""
        address = await self._address()
        if self._settings.observe == "axfr":
            found: dict[str, NameRecords] = {}
            for zone in self._settings.zones:
                found.update(await self._transfer(address, zone))
        else:
            names = {name for name in wanted if zone_of(name, self._settings.zones)} | self._remembered
            found = await self._query_names(address, sorted(names))
        self._remembered = {name for name, have in found.items() if self._marker in have.markers}
        return found

    async def _transfer(self, address: str, zone: str) -> dict[str, NameRecords]:
        holder = dns.zone.Zone(zone)
        key = self._key()
        query, _ = dns.xfr.make_query(holder, serial=None, keyring=key, keyname=key.name, keyalgorithm=key.algorithm)

        async def transfer() -> None:
            self.messages += 1
            await dns.asyncquery.inbound_xfr(
                address, holder, query, port=self._port, timeout=self._settings.timeout, lifetime=self._lifetime()
            )

        await self._retrying(transfer, f"transfer of zone {zone}")
        return _zone_records(holder)

    async def _query_names(self, address: str, names: list[str]) -> dict[str, NameRecords]:
        limit = asyncio.Semaphore(16)

        async def one(name: str) -> NameRecords | None:
            async with limit:
                return await self._query_name(address, name)

        found = await asyncio.gather(*(one(name) for name in names))
        return {records.name: records for records in found if records is not None}

    async def _query_name(self, address: str, name: str) -> NameRecords | None:
        addresses: list[str] = []
        markers: list[str] = []
        ttl = 0
        for rdtype in (*ADDRESS_TYPES, "TXT"):
            query = dns.message.make_query(name, rdtype)
            query.use_tsig(self._key())
            reply = await self._exchange(address, query, f"query {name} {rdtype}")
            for rrset in reply.answer:
                if rrset.rdtype == dns.rdatatype.TXT:
                    markers += [text for text in _txt_strings(rrset) if text.startswith(MARKER_PREFIX)]
                elif rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                    addresses += [rdata.to_text() for rdata in rrset]
                    ttl = rrset.ttl
        if not addresses and not markers:
            return None
        return NameRecords(name, normalised(addresses), ttl, tuple(sorted(markers)))

    # ------------------------------------------------------------------ apply

    async def apply(self, plan: RecordPlan) -> RecordApplyReport:
        """Carry out the changes zone by zone, ``batch_size`` names per message."""
        address = await self._address()
        before = self.messages
        results: list[RecordResult] = []
        for batch in _batches(plan.changes, self._settings.batch_size):
            results += await self._apply_batch(address, batch)
        return RecordApplyReport(tuple(results), self.messages - before)

    async def _apply_batch(self, address: str, batch: list[RecordChange]) -> list[RecordResult]:
        try:
            rcode = await self._send_update(address, batch)
        except _TooBig:
            if len(batch) == 1:
                return [RecordResult(batch[0], "failed", "its records do not fit in one DNS message")]
            half = len(batch) // 2  # long names: fewer per message
            return await self._apply_batch(address, batch[:half]) + await self._apply_batch(address, batch[half:])
        except (DnsRejected, DnsUnavailable) as exc:
            return [RecordResult(change, "failed", str(exc)) for change in batch]
        if rcode == dns.rcode.NOERROR:
            return [RecordResult(change, "done") for change in batch]
        if len(batch) > 1:  # all or nothing: find the names that changed under us
            return [result for change in batch for result in await self._apply_batch(address, [change])]
        reason = f"changed by someone else since it was read ({dns.rcode.to_text(rcode)}); read again next cycle"
        return [RecordResult(batch[0], "conflict", reason)]

    async def _send_update(self, address: str, batch: list[RecordChange]) -> dns.rcode.Rcode:
        """The server's answer to one signed UPDATE: NOERROR, or a failed prerequisite."""
        key = self._key()
        update = dns.update.UpdateMessage(batch[0].zone, keyring=key, keyname=key.name, keyalgorithm=key.algorithm)
        for change in batch:
            self._describe(update, change)
        try:
            update.to_wire()  # the size check, before any retry: too big is not a transient failure
        except dns.exception.TooBig as exc:
            raise _TooBig from exc
        reply = await self._exchange(address, update, f"update of zone {batch[0].zone}", tcp=True)
        return reply.rcode()

    def _describe(self, update: dns.update.UpdateMessage, change: RecordChange) -> None:
        name = dns.name.from_text(change.name)
        if change.have is None:
            for rdtype in ADDRESS_TYPES:
                update.absent(name, rdtype)
        else:
            _require_addresses(update, name, change.have)
        for rdtype in ADDRESS_TYPES:
            update.delete(name, rdtype)
        marker = _quoted(self._marker)
        if change.action is RecordAction.DELETE:
            update.delete(name, "TXT", marker)  # only our string: other TXT records at the name stay
            return
        assert change.want is not None
        for rdtype, values in _by_type(change.want.addresses).items():
            update.add(name, change.want.ttl, rdtype, *values)
        update.add(name, change.want.ttl, "TXT", marker)

    # ------------------------------------------------------------------ plumbing

    async def _exchange(
        self, address: str, message: dns.message.Message, what: str, *, tcp: bool = False
    ) -> dns.message.Message:
        async def send() -> dns.message.Message:
            self.messages += 1
            if tcp:
                return await dns.asyncquery.tcp(message, address, timeout=self._settings.timeout, port=self._port)
            reply, _ = await dns.asyncquery.udp_with_fallback(
                message, address, timeout=self._settings.timeout, port=self._port
            )
            return reply

        reply = await self._retrying(send, what)
        rcode = reply.rcode()
        if rcode in PERMANENT:
            raise DnsRejected(_refusal(what, rcode, self._settings))
        if rcode == dns.rcode.SERVFAIL:
            raise DnsUnavailable(f"{what}: the server answered SERVFAIL {ATTEMPTS} times")
        return reply

    async def _retrying(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except dns.tsig.PeerError as exc:
                raise DnsRejected(f"{what}: the server refused our TSIG signature ({exc}): check the key") from exc
            except dns.xfr.TransferError as exc:
                raise DnsRejected(_refusal(what, getattr(exc, "rcode", dns.rcode.REFUSED), self._settings)) from exc
            except (dns.exception.DNSException, OSError, EOFError) as exc:
                if attempt == ATTEMPTS:
                    raise DnsUnavailable(f"{what}: {type(exc).__name__}: {excerpt(str(exc))}") from exc
                log.debug("%s failed (%s), attempt %d of %d", what, exc, attempt, ATTEMPTS)
                await asyncio.sleep(0.2 * 2**attempt * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")

    def _key(self) -> dns.tsig.Key:
        return dns.tsig.Key(self._settings.tsig_key_name, self._secret(), self._settings.tsig_algorithm)

    def _lifetime(self) -> float:
        return self._settings.timeout * 12

    async def _address(self) -> str:
        try:
            ipaddress.ip_address(self._host)
            return self._host
        except ValueError:
            pass
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(self._host, self._port)
        except OSError as exc:
            raise DnsUnavailable(f"rfc2136.server: cannot resolve {self._host}: {exc}") from exc
        return str(infos[0][4][0])


# ---------------------------------------------------------------------------- helpers


def _zone_records(holder: dns.zone.Zone) -> dict[str, NameRecords]:
    """Every name of a transferred zone that has addresses or an adcbridge marker."""
    found: dict[str, NameRecords] = {}
    for relative, node in holder.nodes.items():
        assert holder.origin is not None  # a zone built with an origin keeps it
        name = relative.derelativize(holder.origin).to_text(omit_final_dot=True).lower()
        addresses: list[str] = []
        markers: list[str] = []
        ttl = 0
        for rdataset in node.rdatasets:
            if rdataset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                addresses += [rdata.to_text() for rdata in rdataset]
                ttl = rdataset.ttl
            elif rdataset.rdtype == dns.rdatatype.TXT:
                markers += [text for text in _txt_strings(rdataset) if text.startswith(MARKER_PREFIX)]
        if addresses or markers:
            found[name] = NameRecords(name, normalised(addresses), ttl, tuple(sorted(markers)))
    return found


def _txt_strings(rdataset: Iterable[object]) -> list[str]:
    """Each TXT record as one string (its character-strings joined), as the marker was written."""
    return [b"".join(getattr(rdata, "strings", ())).decode(errors="replace") for rdata in rdataset]


def _require_addresses(update: dns.update.UpdateMessage, name: dns.name.Name, have: NameRecords) -> None:
    """Prerequisites: the name's A and AAAA records are exactly what we read (or absent)."""
    present = _by_type(have.addresses)
    for rdtype in ADDRESS_TYPES:
        if rdtype in present:
            update.present(name, rdtype, *present[rdtype])
        else:
            update.absent(name, rdtype)


def _by_type(addresses: Iterable[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for address in addresses:
        grouped.setdefault("A" if ipaddress.ip_address(address).version == 4 else "AAAA", []).append(address)
    return grouped


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _refusal(what: str, rcode: object, settings: Rfc2136Settings) -> str:
    code = dns.rcode.to_text(dns.rcode.Rcode.make(rcode)) if isinstance(rcode, int) else str(rcode)
    return (
        f"{what}: the server answered {code}: check that key {settings.tsig_key_name!r} "
        f"({settings.tsig_algorithm}) may update and transfer the zone, and that {settings.server} is its primary"
    )


def _batches(changes: Iterable[RecordChange], size: int) -> list[list[RecordChange]]:
    """Changes grouped by zone, at most ``size`` per group, in plan order."""
    by_zone: dict[str, list[RecordChange]] = {}
    for change in changes:
        by_zone.setdefault(change.zone, []).append(change)
    return [group[i : i + size] for group in by_zone.values() for i in range(0, len(group), size)]
