"""The resolution check, run beside the reconcile loop: do the names we publish resolve?

After every cycle that ran, the service hands the names of the desired state (and the
addresses each must resolve to) to ``Verification.start``; the check runs as its own task
and a cycle never waits for it. Asking every name after every cycle cost as much as the
cycle itself at 10,000 names, so a check asks only what changed: names new since the last
check, names whose addresses changed, and names that got no answer last time (a timeout,
an unreachable server, the deadline). Every ``full_every`` seconds (the resync period) a
check asks every name again, which catches what changed on the DNS side alone. Runs never
overlap: while one is going, the newest request waits and is compared, when it starts,
with what was asked, so nothing changed in between is missed. Each run is bounded by
``dns.verify_deadline`` (``Verifier``), and a server that does not answer costs one probe
per run (``Verifier`` again).

Which servers: ``dns.verify_servers`` when set; otherwise the RFC 2136 server when that is
a target. The ADC's own DNS is checked only through an explicit ``dns.verify_servers``: an
ADC's management address rarely answers DNS (a BIG-IP's never does), and asking it cost one
timeout per name; ``unchecked_note`` says so once at start.

Results: the metrics hold the state of every published name (checks per reason, over the
names of the last request; a name asked earlier keeps its last answer), the duration and
time of the last run. The log has one line per change of state per name and server (a name
that starts failing is a warning, one that recovers an info line), and one line when a
server stops answering or answers again, instead of one per name. Nothing here writes to
the ADC or to a zone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping

from adcbridge.config import Settings, split_host_port
from adcbridge.dns.verify import REASONS, Gate, NameCheck, Verifier, VerifyReport, parse_servers
from adcbridge.metrics import Metrics

log = logging.getLogger(__name__)

Expected = Mapping[str, tuple[str, ...]]
MAX_LOGGED = 50


def verify_servers(settings: Settings) -> list[tuple[str, int]]:
    dns = settings.dns
    if dns.verify_servers:
        return parse_servers(dns.verify_servers)
    return [split_host_port(settings.rfc2136.server)] if "rfc2136" in dns.targets else []


def verifying(settings: Settings) -> bool:
    """Is there anything to check? Not when the check is off, nor when no server is given and no
    RFC 2136 server publishes the names (the ADC's DNS needs ``dns.verify_servers``)."""
    return settings.dns.verify and bool(verify_servers(settings))


def unchecked_note(settings: Settings) -> str | None:
    """What an operator should know at start: the ADC's DNS is a target but nobody asks it."""
    dns = settings.dns
    if not dns.verify or dns.verify_servers or "adc" not in dns.targets:
        return None
    return (
        "DNS check: names published on the ADC's DNS are not checked; set dns.verify_servers to the "
        "address and port where the ADC answers DNS to check them"
    )


def announce(settings: Settings) -> None:
    """Log ``unchecked_note`` (once per process start: the service and ``run --once``/``plan``)."""
    note = unchecked_note(settings)
    if note is not None:
        log.info("%s", note)


def verifier_for(settings: Settings) -> Verifier:
    dns = settings.dns
    return Verifier(
        verify_servers(settings),
        timeout=dns.verify_timeout,
        concurrency=dns.verify_concurrency,
        deadline=dns.verify_deadline,
    )


def to_ask(expected: Expected, answered: Expected, *, full: bool) -> dict[str, tuple[str, ...]]:
    """The names a check asks: all of them when ``full``, else those not answered with these addresses
    (by name; a set difference, as after a change cycle the answer is a few names of 10,000)."""
    if full:
        return dict(expected)
    return dict(sorted(expected.items() - answered.items()))


class Verification:
    """The check beside the loop; ``full_every``: seconds between checks of every name."""

    def __init__(
        self,
        verifier: Verifier,
        metrics: Metrics,
        *,
        full_every: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier = verifier
        self._metrics = metrics
        self._full_every = full_every
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._latest: Expected | None = None  # the newest request, not yet started
        self._answered: dict[str, tuple[str, ...]] = {}  # name -> the addresses every server answered for
        self._full_at: float | None = None  # when the last full check started
        self._published: set[str] = set()  # the names of the last request
        self._states: dict[tuple[str, str], NameCheck] = {}  # (name, server) -> its latest check
        self._silent: dict[str, str] = {}  # servers that did not answer the last run that asked them
        self._logged: dict[tuple[str, str], str] = {}  # (name, server) -> the reason last logged
        self.last: VerifyReport | None = None  # the last run's report (of the names it asked)

    def give_way_to(self, gate: Gate) -> None:
        """Await ``gate`` before each query (the service: until no cycle runs)."""
        self._verifier.gate = gate

    def start(self, expected: Expected) -> None:
        """Check these names (those that changed) now, or right after the run in progress."""
        self._latest = expected
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="dns-verify")

    async def wait(self) -> VerifyReport | None:
        """Until the current run (and a pending one) ended (tests)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        return self.last

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self._latest is not None:
            expected, self._latest = self._latest, None
            now = self._clock()
            full = self._full_at is None or now - self._full_at >= self._full_every
            asking = to_ask(expected, self._answered, full=full)
            forgot = self._forget(expected)
            if full:
                self._full_at = now
            if not asking:
                if forgot:
                    self._count()
                continue
            try:
                report = await self._verifier.verify(asking)
            except Exception:  # a bug in the check must not take the service down
                log.exception("the DNS check failed")
                return
            self._record(asking, report)

    def _forget(self, expected: Expected) -> bool:
        """Names no longer published leave the state (and the metrics); whether any did."""
        gone = self._published - expected.keys()
        self._published = set(expected)
        if not gone:
            return False
        self._answered = {name: addresses for name, addresses in self._answered.items() if name not in gone}
        self._states = {key: check for key, check in self._states.items() if key[0] not in gone}
        self._logged = {key: reason for key, reason in self._logged.items() if key[0] not in gone}
        return True

    def _record(self, asked: Expected, report: VerifyReport) -> None:
        self.last = report
        unanswered = {check.name for check in report.checks if not check.answered}
        for name, addresses in asked.items():
            if name in unanswered:
                self._answered.pop(name, None)
            else:
                self._answered[name] = addresses
        if report.cut:
            log.warning("DNS: the check reached dns.verify_deadline; names not asked are asked next time")
        self._log_servers(report)
        self._log_changes(report)
        self._states.update({(check.name, check.server): check for check in report.checks})
        self._count()
        self._metrics.dns_check_seconds.set(report.duration)
        self._metrics.dns_check_last.set(time.time())

    def _count(self) -> None:
        counts = Counter(check.reason for check in self._states.values())
        for reason in REASONS:
            self._metrics.dns_checks.labels(reason).set(counts[reason])

    def _log_servers(self, report: VerifyReport) -> None:
        """One line when a server stops answering, one when it answers again; not one per name."""
        asked = {check.server for check in report.checks}
        for server, why in report.unreachable.items():
            if server not in self._silent:
                names = sum(1 for check in report.checks if check.server == server)
                log.warning(
                    "DNS: %s does not answer (%s); its %d names are not checked until it does", server, why, names
                )
        for server in asked - set(report.unreachable):
            if server in self._silent:
                log.info("DNS: %s answers again", server)
        self._silent = {server: why for server, why in self._silent.items() if server not in asked}
        self._silent.update(report.unreachable)

    def _log_changes(self, report: VerifyReport) -> None:
        """A line per name and server whose state changed; names on a silent server are in its line."""
        heard = [check for check in report.checks if check.server not in report.unreachable]
        changed = [check for check in heard if self._logged.get((check.name, check.server), "ok") != check.reason]
        for check in changed[:MAX_LOGGED]:
            if check.reason == "ok":
                log.info("DNS: %s now resolves on %s", check.name, check.server)
            else:
                log.warning("DNS: %s on %s: %s (%s)", check.name, check.server, check.reason, check.detail)
        if len(changed) > MAX_LOGGED:
            log.warning("DNS: ... and %d more names changed state; %s", len(changed) - MAX_LOGGED, report.summary())
        self._logged.update({(check.name, check.server): check.reason for check in heard})
