"""The resolution check, run beside the reconcile loop: do the names we publish resolve?

After every cycle that ran, the service hands the names of the desired state (and the
addresses each must resolve to) to ``Verification.start``; the check runs as its own task
and never holds the loop up. Runs never overlap: while one is still going (a silent server
makes every query wait its timeout), a newer request is kept and started when it ends, so
the answers are never older than one run.

Which servers: ``dns.verify_servers`` when set; otherwise the ADC's host on port 53 when
the ADC's DNS is a target, and the RFC 2136 server when that is one.

Results go to metrics (checks per reason, duration, when) and to the log once per change of
state per name and server: a name that starts failing is a warning with the reason, one that
recovers an info line. Nothing here writes to the ADC or to a zone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from adcbridge.config import Settings, split_host_port
from adcbridge.dns.verify import REASONS, Verifier, VerifyReport, default_servers, parse_servers
from adcbridge.metrics import Metrics

log = logging.getLogger(__name__)

Expected = Mapping[str, tuple[str, ...]]
MAX_LOGGED = 50


def verify_servers(settings: Settings) -> list[tuple[str, int]]:
    dns = settings.dns
    if dns.verify_servers:
        return parse_servers(dns.verify_servers)
    servers = [server for url in settings.adc.urls for server in default_servers(url)] if "adc" in dns.targets else []
    if "rfc2136" in dns.targets:
        servers.append(split_host_port(settings.rfc2136.server))
    return servers


def verifying(settings: Settings) -> bool:
    """Is there anything to check? Not when the check is off, nor when no server is given and the
    names are published nowhere (``dns.targets: []``, SLB objects only)."""
    return settings.dns.verify and bool(verify_servers(settings))


def verifier_for(settings: Settings) -> Verifier:
    dns = settings.dns
    return Verifier(verify_servers(settings), timeout=dns.verify_timeout, concurrency=dns.verify_concurrency)


class Verification:
    def __init__(self, verifier: Verifier, metrics: Metrics) -> None:
        self._verifier = verifier
        self._metrics = metrics
        self._task: asyncio.Task[None] | None = None
        self._pending: Expected | None = None
        self._states: dict[tuple[str, str], str] = {}
        self.last: VerifyReport | None = None

    def start(self, expected: Expected) -> None:
        """Check these names now, or right after the run in progress."""
        if self._task is not None and not self._task.done():
            self._pending = expected
            return
        self._task = asyncio.create_task(self._run(expected), name="dns-verify")

    async def wait(self) -> VerifyReport | None:
        """Until the current run (and a pending one) ended (tests, ``plan``)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        return self.last

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, expected: Expected) -> None:
        while True:
            try:
                report = await self._verifier.verify(expected)
            except Exception:  # a bug in the check must not take the service down
                log.exception("the DNS check failed")
                return
            self._record(report)
            if self._pending is None:
                return
            expected, self._pending = self._pending, None

    def _record(self, report: VerifyReport) -> None:
        self.last = report
        counts = report.counts()
        for reason in REASONS:
            self._metrics.dns_checks.labels(reason).set(counts.get(reason, 0))
        self._metrics.dns_check_seconds.set(report.duration)
        self._metrics.dns_check_last.set(time.time())
        self._log_changes(report)

    def _log_changes(self, report: VerifyReport) -> None:
        states = {(check.name, check.server): check for check in report.checks}
        changed = [check for key, check in states.items() if self._states.get(key, "ok") != check.reason]
        for check in changed[:MAX_LOGGED]:
            if check.reason == "ok":
                log.info("DNS: %s now resolves on %s", check.name, check.server)
            else:
                log.warning("DNS: %s on %s: %s (%s)", check.name, check.server, check.reason, check.detail)
        if len(changed) > MAX_LOGGED:
            log.warning("DNS: ... and %d more names changed state; %s", len(changed) - MAX_LOGGED, report.summary())
        self._states = {key: check.reason for key, check in states.items()}
