"""The loop: snapshot -> desired -> observe -> plan -> apply, again and again.

Level-triggered: a change in the cluster view only wakes the loop; every cycle rebuilds
the whole desired state, so a missed event costs a delay, never a wrong state. The ADC is read
whole at start and then kept (``adc/caching.py``): a change cycle plans against the state last
read plus our own writes since, and writes only the difference (a plan that updates or deletes
what exists is made again on a fresh read, ``only_creates``: of those objects alone when the
dialect can read them so, ``_planned_fresh``). The whole ADC is read again
once the last read is ``reconcile.resync_seconds`` old, which is what repairs drift (a member
removed by hand comes back), and after anything that leaves a doubt: a write not known to be
done, a failed cycle, a failover. A draining node's grace period ending also wakes the loop.

Failure handling: one object's failure is reported and the others go on; a cycle that
cannot run (ADC unreachable, snapshot unreadable, even a bug) is counted and retried with
exponential backoff; the loop itself only stops when cancelled. A failure that persists is
logged once in full, then summarised at most every ``FAILURE_SUMMARY_SECONDS`` (an ADC down
for a night is a few hundred lines, not thousands), and its end is logged once.

Findings that persist (rejected hosts, conflicts, held-back deletions, degraded view) are
logged when they appear or change, not every cycle, so the log stays readable at 10,000
hosts. Dry run never reaches ``apply``, and the session under the dialect is read-only too.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from adcbridge.adc import Adc, ApplyReport
from adcbridge.adc.caching import StateCache, covers
from adcbridge.config import Settings
from adcbridge.desired import DesiredBuilder, owner_of
from adcbridge.errors import AdcBridgeError
from adcbridge.metrics import Metrics
from adcbridge.model import (
    Action,
    AdcMember,
    AdcObject,
    AdcState,
    ClusterSnapshot,
    DeleteLimits,
    DesiredState,
    Kind,
    Operation,
    Plan,
    RejectionCause,
)
from adcbridge.planner import owned, plan
from adcbridge.records import NameRecords, RecordAction, RecordApplyReport, RecordPlan, plan_records

log = logging.getLogger(__name__)
FAILURE_SUMMARY_SECONDS = 300.0


class ZoneTarget(Protocol):
    """A second home for the names: standard DNS zones written by RFC 2136 (``dns/rfc2136.py``)."""

    async def observe(self, wanted: Iterable[str]) -> dict[str, NameRecords]: ...

    async def apply(self, plan: RecordPlan) -> RecordApplyReport: ...


class SnapshotSource(Protocol):
    """Where the cluster view comes from: a snapshot file, or live watches (``k8s/``)."""

    async def snapshot(self) -> ClusterSnapshot: ...

    async def wait_for_change(self) -> None:
        """Return when the view may have changed."""


@dataclass
class CycleReport:
    started_at: float
    duration: float = 0.0
    snapshot: ClusterSnapshot | None = None
    desired: DesiredState | None = None
    plan: Plan | None = None
    applied: ApplyReport | None = None
    records: RecordPlan | None = None  # the RFC 2136 target's plan, when it is a target
    records_applied: RecordApplyReport | None = None
    error: str = ""
    dry_run: bool = False
    deferred: int = 0  # deletions a cycle started at once left to the cycle after the batch window

    @property
    def ok(self) -> bool:
        """The cycle ran: the view and the ADC were read and the plan was carried out."""
        return not self.error and self.plan is not None

    @property
    def succeeded(self) -> bool:
        """The cycle ran and every operation it attempted went through (conflicts and held-back
        deletions are findings to report, not failures of the bridge: they do not count)."""
        return self.ok and (self.applied is None or not self.applied.failures)

    @property
    def _records_converged(self) -> bool:
        records = self.records
        if records is None:
            return True
        applied = self.records_applied
        done = records.empty or (applied is not None and not applied.failures and not self.dry_run)
        return done and not records.held_back and not records.conflicts

    @property
    def converged(self) -> bool:
        """The ADC now holds exactly what we want, and nothing stands in the way."""
        if not self.ok or self.desired is None or self.plan is None:
            return False
        applied_cleanly = self.applied is not None and not self.applied.failures
        nothing_pending = self.plan.empty or (applied_cleanly and not self.dry_run)
        return (
            nothing_pending
            and not self.deferred
            and self._records_converged
            and not self.plan.held_back
            and not self.plan.conflicts
            and self.desired.complete
            and not self.desired.degraded
        )


@dataclass
class _Remembered:
    """What was last logged, so persistent findings are logged once per change."""

    findings: dict[str, frozenset[str]] = field(default_factory=dict)

    def changed(self, topic: str, items: frozenset[str]) -> frozenset[str]:
        previous = self.findings.get(topic, frozenset())
        self.findings[topic] = items
        return items - previous


@dataclass
class _FailingStreak:
    """Cycles failing one after the other since ``started_at``; ``unlogged`` of them since ``logged_at``."""

    started_at: float
    failures: int = 1
    unlogged: int = 0
    logged_at: float = 0.0

    def failed(self, now: float) -> int:
        """Count one more failure; how many to summarise now, or 0 while a summary is not due."""
        self.failures += 1
        self.unlogged += 1
        if now - self.logged_at < FAILURE_SUMMARY_SECONDS:
            return 0
        due, self.unlogged, self.logged_at = self.unlogged, 0, now
        return due


class Reconciler:
    def __init__(
        self,
        settings: Settings,
        source: SnapshotSource,
        adc: Adc,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        after_cycle: Callable[[CycleReport], Awaitable[None]] | None = None,
        zones: ZoneTarget | None = None,
    ) -> None:
        self._zones = zones
        self._settings = settings
        self._after_cycle = after_cycle  # Events, status: told about every cycle, never able to fail it
        self._source = source
        self._adc = adc
        self._metrics = metrics
        self._clock = clock  # wall time (the last-success metric is a timestamp); tests pass their own
        self._sleep = sleep  # the loop's waits (backoff, batch window), so tests need not wait them out
        self._owner = owner_of(settings)
        self._limits = DeleteLimits(settings.limits.max_deletes, settings.limits.max_delete_percent)
        self._unfit_since: dict[str, float] = {}
        self._desired = DesiredBuilder(settings)  # reuses the domains of claims that did not change
        self._previous: DesiredState | None = None
        self._remembered = _Remembered()
        self._owned: tuple[AdcState, AdcState] | None = None  # (observed, our share of it), see _ours
        self._streak: _FailingStreak | None = None
        self.adc_cache = StateCache(settings.reconcile.resync_seconds)  # the ADC between full reads
        self._idle = asyncio.Event()  # set while no cycle runs
        self._idle.set()
        self.last: CycleReport | None = None
        self.last_success_at: float | None = None

    # ------------------------------------------------------------------ one cycle

    async def run_once(self, *, at_once: bool = False, resync: bool = False) -> CycleReport:
        """One cycle. ``at_once``: started by a change after a quiet period, with no batch window
        behind it; its deletions wait for the next cycle (see :func:`defer_deletions`). ``resync``:
        read the whole ADC even if the state kept since the last read is still good."""
        report = CycleReport(started_at=self._clock(), dry_run=self._settings.dry_run)
        began = time.perf_counter()
        self._idle.clear()
        self._owned = None  # within a cycle only: a fake appliance may change a state in place between cycles
        try:
            await self._cycle(report, at_once=at_once, resync=resync)
        except AdcBridgeError as exc:
            self.adc_cache.forget()
            report.error = str(exc)
            self._log_failure(report.error)
        except Exception as exc:  # a bug must not end the loop; it is logged with its traceback
            self.adc_cache.forget()
            report.error = f"internal error: {type(exc).__name__}: {exc}"
            self._log_failure(report.error, traceback=True)
        except BaseException:  # cancelled, perhaps in the middle of writing: what the ADC holds is unknown
            self.adc_cache.forget()
            raise
        finally:
            self._idle.set()
        report.duration = time.perf_counter() - began
        self._finish(report)
        return report

    async def wait_idle(self) -> None:
        """Return when no cycle runs: what works beside the loop (the resolution check) waits here
        before each step, so that it gives way to the cycles."""
        await self._idle.wait()

    async def _cycle(self, report: CycleReport, *, at_once: bool = False, resync: bool = False) -> None:
        snapshot = await self._source.snapshot()
        report.snapshot = snapshot
        desired = self._desired.build(snapshot, unfit_since=self._unfit_since)
        self._unfit_since = desired.unfit_since
        report.desired = desired
        self._log_findings("rejected host", [f"{r.host!r} in {r.source}: {r.reason}" for r in desired.rejections])
        self._log_findings("degraded", list(desired.degraded) + ([] if desired.complete else ["view incomplete"]))
        observed, kept = await self._observe(resync=resync, overdue_ok=at_once)
        report.plan, report.deferred = self._planned(desired, observed, at_once=at_once)
        if kept and not only_creates(report.plan):  # what exists is changed on facts read in this cycle only
            observed, report.plan, report.deferred = await self._planned_fresh(desired, report.plan, at_once=at_once)
        if report.deferred:
            log.info("%d deletion(s) wait for the batch window, to be judged with what follows", report.deferred)
        self._log_plan(report.plan)
        if not report.plan.empty and not self._settings.dry_run:
            report.applied = await self._adc.apply(report.plan)
            self.adc_cache.wrote(report.applied, self._adc.active_unit())
            self._log_applied(report.applied)
        self._count(desired, report.plan, report.applied, self._ours(observed))
        if self._zones is not None:
            await self._publish_records(report, desired, self._zones, at_once=at_once)
        for reason, count in rejected_by_reason(desired, report.plan, report.records).items():
            self._metrics.rejected_hosts.labels(reason).set(count)
        self._previous = desired

    async def _observe(self, *, resync: bool, overdue_ok: bool = False) -> tuple[AdcState, bool]:
        """The ADC as kept since the last full read, or read whole when that is due (see ``StateCache``;
        ``overdue_ok``: a cycle started at once goes before a resync that is due); and whether it is
        the kept state (True) or was read now."""
        kept = None if resync else self.adc_cache.current(self._adc.active_unit(), overdue_ok=overdue_ok)
        if kept is not None:
            return kept, True
        self.adc_cache.forget()
        started = self.adc_cache.clock()
        observed = await self._adc.observe()
        self.adc_cache.read(observed, self._adc.active_unit(), at=started)
        return observed, False

    async def _planned_fresh(
        self, desired: DesiredState, on_kept: Plan, *, at_once: bool
    ) -> tuple[AdcState, Plan, int]:
        """The plan made again on facts read in this cycle, for a plan on the kept state that updates
        or deletes: the objects it touches read again alone when the dialect can (``Adc.read_objects``),
        put into the kept state, and planned on; but if that plan updates or deletes anything else
        (an object not read again), or the dialect cannot, the whole ADC is read and planned on."""
        keys = frozenset(fresh_key(op.obj) for op in on_kept.operations if op.action is not Action.CREATE)
        fresh = await self._adc.read_objects(keys)
        # refreshed only while the unit read is still the one the state was kept from
        refreshed = None if fresh is None else self.adc_cache.refresh(fresh, keys, self._adc.active_unit())
        if refreshed is not None:
            current, deferred = self._planned(desired, refreshed, at_once=at_once)
            if all(covers(keys, op.obj) for op in current.operations if op.action is not Action.CREATE):
                return refreshed, current, deferred
            log.debug("the plan on the objects read again changes others: reading the whole ADC")
        observed, _ = await self._observe(resync=True)
        current, deferred = self._planned(desired, observed, at_once=at_once)
        return observed, current, deferred

    def _planned(self, desired: DesiredState, observed: AdcState, *, at_once: bool) -> tuple[Plan, int]:
        """The plan, and how many deletions wait for the batch window (a cycle started at once)."""
        current = plan(
            desired,
            observed,
            self._owner,
            self._settings.policy,
            self._limits,
            kinds=self._adc.kinds,
            ours=self._ours(observed),
        )
        return defer_deletions(current) if at_once else (current, 0)

    def _ours(self, observed: AdcState) -> AdcState:
        """``owned(observed)``, computed once per state a cycle plans on (a pass over every object:
        42 ms at 50,000 hosts, which the plan and the metrics both need)."""
        if self._owned is None or self._owned[0] is not observed:
            self._owned = (observed, owned(observed, self._owner))
        return self._owned[1]

    async def _publish_records(
        self, report: CycleReport, desired: DesiredState, zones: ZoneTarget, *, at_once: bool = False
    ) -> None:
        """The names in the RFC 2136 zones: observe, plan with the same guards, apply."""
        wanted = {name: domain.addresses for name, domain in desired.names.items()}
        observed = await zones.observe(wanted)
        settings = self._settings
        report.records = plan_records(
            wanted,
            observed,
            zones=settings.rfc2136.zones,
            marker=self._owner.marker,
            ttl=settings.rfc2136.ttl,
            policy=settings.policy,
            limits=self._limits,
            complete=desired.complete,
        )
        if at_once:  # as for the ADC's objects: deletions wait for the batch window
            kept = tuple(change for change in report.records.changes if change.action is not RecordAction.DELETE)
            report.deferred += len(report.records.changes) - len(kept)
            report.records = replace(report.records, changes=kept)
        self._log_records(report.records)
        if not report.records.empty and not settings.dry_run:
            report.records_applied = await zones.apply(report.records)
            for result in report.records_applied.failures[:20]:
                log.warning(
                    "%s %s %s: %s", result.outcome, result.change.action.value, result.change.name, result.error
                )
        self._count_records(report.records, report.records_applied)

    def _finish(self, report: CycleReport) -> None:
        result = "converged" if report.converged else ("ok" if report.ok else "failed")
        self._metrics.reconcile_seconds.labels(result).observe(report.duration)
        if report.succeeded:
            self.last_success_at = self._clock()
            self._metrics.last_success.set(self.last_success_at)
        if report.ok:
            self._log_recovery()
        self.last = report

    def seconds_since_success(self) -> float | None:
        """How long ago the last successful cycle ended, by this reconciler's clock; None if none did."""
        return None if self.last_success_at is None else self._clock() - self.last_success_at

    # ------------------------------------------------------------------ reporting

    def _log_failure(self, reason: str, *, traceback: bool = False) -> None:
        """The first failure of a streak in full (with the traceback of a bug); then a summary at
        most every FAILURE_SUMMARY_SECONDS, so a retry every few seconds does not flood the log."""
        now = self._clock()
        streak = self._streak
        if streak is None:
            self._streak = _FailingStreak(started_at=now, logged_at=now)
            log.error("cycle failed: %s", reason, exc_info=traceback)
        elif due := streak.failed(now):
            log.error(
                "cycles still failing after %.0f s: %d more failure(s) since the last report, the latest: %s",
                now - streak.started_at,
                due,
                reason,
            )

    def _log_recovery(self) -> None:
        """One line when a failing streak ends: WARNING, so that whoever saw its ERROR lines sees it too."""
        streak, self._streak = self._streak, None
        if streak is not None:
            log.warning(
                "cycles run again after %d failed cycle(s) over %.0f s",
                streak.failures,
                self._clock() - streak.started_at,
            )

    def _log_findings(self, topic: str, items: list[str]) -> None:
        for item in sorted(self._remembered.changed(topic, frozenset(items))):
            log.warning("%s: %s", topic, item)

    def _log_plan(self, current: Plan) -> None:
        self._log_findings("conflict", [f"{c.kind.label} {c.key}: {c.reason}" for c in current.conflicts])
        self._log_findings("held back", [current.hold_reason] if current.hold_reason else [])
        if current.operations:
            verb = "would apply (dry run)" if self._settings.dry_run else "applying"
            log.info("%s %d operation(s): %s", verb, len(current.operations), _summary(current))

    def _log_records(self, records: RecordPlan) -> None:
        self._log_findings("zone conflict", [f"{c.name}: {c.reason}" for c in records.conflicts])
        self._log_findings("in no configured zone", list(records.unzoned))
        self._log_findings("zone deletions held back", [records.hold_reason] if records.hold_reason else [])
        if records.changes:
            verb = "would write (dry run)" if self._settings.dry_run else "writing"
            log.info("%s %d zone change(s) by RFC 2136", verb, len(records.changes))

    def _count_records(self, records: RecordPlan, applied: RecordApplyReport | None) -> None:
        self._metrics.conflicts.labels("record").set(len(records.conflicts))
        for result in applied.results if applied else ():
            self._metrics.operations.labels("record", result.change.action.value, result.outcome).inc()

    def _log_applied(self, applied: ApplyReport) -> None:
        for result in applied.failures[:20]:
            operation = result.operation
            log.warning("%s %s %s: %s", result.outcome, operation.action.value, operation.ref, result.error)
        if len(applied.failures) > 20:
            log.warning("... and %d more failed or skipped operations", len(applied.failures) - 20)

    def _count(self, desired: DesiredState, current: Plan, applied: ApplyReport | None, ours: AdcState) -> None:
        metrics = self._metrics
        metrics.held_back_deletions.set(len(current.held_back))
        metrics.degraded.set(0 if desired.complete and not desired.degraded else 1)
        for kind in Kind:
            metrics.conflicts.labels(kind.label).set(sum(c.kind is kind for c in current.conflicts))
        done = [result.operation for result in applied.results if result.outcome == "done"] if applied else []
        for result in applied.results if applied else []:
            operation = result.operation
            metrics.operations.labels(operation.obj.kind.label, operation.action.value, result.outcome).inc()
            if result.outcome == "done" and self._is_drift(operation.obj):
                metrics.drift_repairs.labels(operation.obj.kind.label).inc()
        self._count_managed(ours, done)

    def _count_managed(self, ours: AdcState, done: list[Operation]) -> None:
        """Our objects after the cycle: those we had, plus creates and minus deletes that went through."""
        counts = {kind: len(ours.of_kind(kind)) for kind in Kind}
        for operation in done:
            counts[operation.obj.kind] += {Action.CREATE: 1, Action.DELETE: -1}.get(operation.action, 0)
        for kind, count in counts.items():
            self._metrics.managed_objects.labels(kind.label).set(count)

    def _is_drift(self, obj: AdcObject) -> bool:
        """A write for an object we wanted unchanged since the last cycle: someone else changed it."""
        previous = self._previous
        return previous is not None and previous.objects.of_kind(obj.kind).get(obj.key) == obj

    # ------------------------------------------------------------------ the loop

    async def run_forever(self) -> None:
        self.adc_cache.forget()  # (re)elected: another replica may have written meanwhile
        failures = 0
        at_once = False
        while True:
            report = await self.run_once(at_once=at_once)
            await self._tell(report)
            failures = 0 if report.ok else failures + 1
            at_once = False
            if failures:
                await self._sleep(self._backoff(failures))
                continue
            at_once = await self._wait_for_reason(report)

    async def _tell(self, report: CycleReport) -> None:
        if self._after_cycle is None:
            return
        try:
            await self._after_cycle(report)
        except Exception:  # reporting must not stop the loop
            log.exception("reporting the cycle failed")

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._settings.reconcile.max_backoff_seconds, 2.0 ** min(failures, 16))
        return ceiling * random.uniform(0.5, 1.0)

    async def _wait_for_reason(self, report: CycleReport) -> bool:
        """Sleep until the view changes (then to the end of the batch window), the resync period ends
        or a grace period does; True when the next cycle starts at once on a change after a quiet
        period. Deletions a cycle deferred are due when its window ends, changes or not: the wait
        ends there, and the cycle after it is never one started at once. It ends there even when a
        resync is due sooner (the resync comes one window late at most): the deletions are judged
        with what followed them, as deferring them is for."""
        window = self._settings.reconcile.batch_window_seconds
        timeout = self.adc_cache.due_in()  # the resync: one period after the last full read, not after this cycle
        if report.deferred:
            timeout = max(0.0, report.started_at + window - self._clock())
        if report.desired is not None and report.desired.next_change_at is not None:
            timeout = min(timeout, max(0.0, report.desired.next_change_at - self._clock()) + 0.01)
        try:
            await asyncio.wait_for(self._source.wait_for_change(), timeout)
        except TimeoutError:
            return False
        delay = batch_delay(self._clock(), report.started_at, window)
        if delay > 0:
            await self._sleep(delay)
            return False
        return True


def defer_deletions(current: Plan) -> tuple[Plan, int]:
    """``current`` without its deletions, and how many there were.

    The mass-deletion guard judges the deletions of one cycle. A cycle that starts at once on the
    first change after a quiet period has seen only the first event of what may be a burst (a
    namespace being deleted, an ingress class renamed one object at a time): its creates and
    updates go out at once, its deletions wait one batch window for the next cycle, which judges
    them with whatever followed. A replaced node's deletions stay: they are one change with the
    creates that follow them, not a deletion the guard judges.
    """
    kept = tuple(
        operation
        for operation in current.operations
        if operation.action is not Action.DELETE or operation.replacing  # a replace is made whole
    )
    return replace(current, operations=kept), len(current.operations) - len(kept)


def fresh_key(obj: AdcObject) -> tuple[Kind, str]:
    """What to read again before ``obj`` is updated or deleted: the object, or for a member its pool
    (with its members): a member is ours because its pool carries our marker, so the pool's marker
    must be seen now too. A pool made again by hand, unmarked, keeps its members out of reach."""
    return (Kind.POOL, obj.pool) if isinstance(obj, AdcMember) else (obj.kind, obj.key)


def only_creates(current: Plan) -> bool:
    """Does ``current`` only create? Then it may be carried out on the ADC's state kept since the last
    read: the appliance refuses a name or an address someone took meanwhile, and the dialect settles
    that as a conflict. An update or a delete of an existing object is planned on a read of this
    cycle, so that an object someone replaced since (our name deleted and made again by hand, not
    ours) is never changed or deleted on the strength of a marker seen minutes ago."""
    return all(operation.action is Action.CREATE for operation in current.operations)


def batch_delay(now: float, last_start: float, window: float) -> float:
    """How long a change seen at ``now`` waits before the cycle that handles it.

    None after a quiet period (the last cycle started a window or more ago): it starts at once.
    Otherwise until the window that began with the last cycle's start has passed, so that the
    changes of a burst share one cycle; a change seen when the cycle that was running ends,
    later than the window, waits no more. Never more than one window, even if the clock steps back.
    """
    return min(window, max(0.0, last_start + window - now))


def rejected_by_reason(desired: DesiredState, current: Plan, records: RecordPlan | None) -> dict[str, int]:
    """Host claims not published, by the ``reason`` label of ``adcbridge_rejected_hosts``: every
    reason each time (a reason that cleared reads 0, not its last count). Refused claims count
    by cause; ``conflict`` counts the names someone else holds, on the ADC or in a zone, once each."""
    counts = {cause.value: 0 for cause in RejectionCause}
    for rejection in desired.rejections:
        counts[rejection.cause.value] += 1
    held = {conflict.key for conflict in current.conflicts if conflict.kind is Kind.DOMAIN}
    held |= {conflict.name for conflict in records.conflicts} if records is not None else set()
    counts["conflict"] = len(held)
    return counts


def _summary(current: Plan) -> str:
    counts: dict[str, int] = {}
    for operation in current.operations:
        label = f"{operation.action.value} {operation.obj.kind.label}"
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{count} {label}" for label, count in counts.items())
