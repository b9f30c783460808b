"""The composition root: builds the components from settings and runs them.

Each component gets only its own settings group. ``serve`` runs supervised jobs beside the
health server: the reconcile loop and, on a live cluster with leader election, the Lease
loop. The reconcile loop runs only while this replica leads and is cancelled the moment the
lease is lost (the ADC client's write gate refuses writes even before that). If a job dies
the process exits non-zero instead of serving a green ``/healthz`` over a dead bridge;
SIGTERM/SIGINT stop it within a bounded time, releasing the Lease and logging out of the ADC.
Watchers live in the cluster source (``k8s/cluster_source.py``) for as long as it is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from adcbridge.adc import Adc, check_settings, open_adc
from adcbridge.config import Settings
from adcbridge.desired import owner_of
from adcbridge.dns.rfc2136 import Rfc2136Target, secret_source
from adcbridge.dns.verify import ExpectedAddresses, VerifyReport, expected_addresses
from adcbridge.errors import AdcError, KubeNotFound
from adcbridge.k8s.api import KubeApi
from adcbridge.k8s.cluster_source import SERVICES, VIRTUAL_SERVERS, ClusterSource
from adcbridge.k8s.events import EventRecorder
from adcbridge.k8s.leases import KubeLeaseStore
from adcbridge.k8s.status import StatusWriter
from adcbridge.leader import LeaderElector
from adcbridge.metrics import Metrics
from adcbridge.model import ClusterSnapshot
from adcbridge.planner import owned
from adcbridge.presenting import findings
from adcbridge.reconciler import CycleReport, Reconciler, SnapshotSource
from adcbridge.server import HealthServer
from adcbridge.verifying import Verification, announce, verifier_for, verifying

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 10.0


def validate(settings: Settings) -> None:
    """What loading cannot check alone: settings the configured ADC dialect cannot honour."""
    check_settings(settings)


@dataclass
class Cluster:
    """The live Kubernetes side: one API connection and the watch-fed source."""

    api: KubeApi
    source: ClusterSource


@contextlib.asynccontextmanager
async def cluster(settings: Settings) -> AsyncIterator[Cluster]:
    """Connect to the API server and watch it until the block ends."""
    api = await KubeApi.connect(settings.kube)
    async with api, ClusterSource(api, settings) as source:
        yield Cluster(api, source)


def zone_target(settings: Settings) -> Rfc2136Target | None:
    """The RFC 2136 target, when ``dns.targets`` names it."""
    if "rfc2136" not in settings.dns.targets:
        return None
    secret = secret_source(settings.rfc2136.tsig_secret.get_secret_value(), settings.secrets_dir)
    return Rfc2136Target(settings.rfc2136, secret=secret, marker=owner_of(settings).marker)


async def run_cycle(settings: Settings, source: SnapshotSource, *, connect_timeout: float | None = None) -> CycleReport:
    """One cycle (``run --once``, and ``plan`` with dry_run set).

    With ``connect_timeout``, the first login and list must succeed within that many seconds, or
    the cycle fails with the last error; once connected, the cycle runs to its end however long
    it takes (a large first sync on a slow ADC must finish, not be cut at an arbitrary point)."""
    metrics = Metrics()
    announce(settings)
    async with open_adc(settings, metrics) as adc:
        if connect_timeout is not None:
            try:
                await adc.connect(within=connect_timeout)
            except AdcError as exc:
                return CycleReport(started_at=time.time(), error=f"cannot reach the ADC: {exc}")
        return await Reconciler(settings, source, adc, metrics, zones=zone_target(settings)).run_once()


async def check_names(settings: Settings, report: CycleReport) -> VerifyReport | None:
    """The DNS check of every name of a cycle (``plan`` and ``run --once`` print it): a whole
    check, as an operator running one cycle expects, bounded by ``dns.verify_deadline``."""
    if not verifying(settings) or report.desired is None or not report.desired.names:
        return None
    return await verifier_for(settings).verify(expected_addresses(report.desired.names.values()))


async def check_published(settings: Settings, adc: Adc) -> VerifyReport | None:
    """The DNS check for the domains we own on the ADC now (``adcbridge check``)."""
    observed = await adc.observe()
    ours = owned(observed, owner_of(settings)).domains
    if not verifying(settings) or not ours or "adc" not in settings.dns.targets:
        return None
    return await verifier_for(settings).verify(expected_addresses(ours.values()))


async def check_cluster(settings: Settings) -> list[str]:
    """``adcbridge check`` lines for the Kubernetes side: API server, KIC Service, CRD."""
    kic = settings.kic
    async with await KubeApi.connect(settings.kube) as api:
        version = await api.get("/version")
        lines = [f"ok    Kubernetes API reachable (version {version.get('gitVersion', '?')})"]
        try:
            service = await api.get(SERVICES.path(kic.namespace, kic.service))
            ports = [p.get("nodePort") for p in service.get("spec", {}).get("ports", []) if isinstance(p, dict)]
            lines.append(f"ok    KIC Service {kic.namespace}/{kic.service} (nodePorts {ports})")
        except KubeNotFound:
            lines.append(f"FAIL  KIC Service {kic.namespace}/{kic.service} not found")
        try:  # where we watch them: with kube.namespaces, the chart grants no cluster-wide list
            namespace = settings.kube.namespaces[0] if settings.kube.namespaces else ""
            await api.get(VIRTUAL_SERVERS.path(namespace), {"limit": "1"})
            lines.append("ok    VirtualServer CRD installed")
        except KubeNotFound:
            lines.append("warn  VirtualServer CRD not installed: only Ingresses count")
    return lines


def elector_for(settings: Settings, api: KubeApi) -> LeaderElector:
    leader, kic = settings.leader, settings.kic
    store = KubeLeaseStore(
        api,
        namespace=leader.lease_namespace or kic.namespace,
        name=leader.lease_name or f"adcbridge-{kic.ingress_class}",
    )
    identity = leader.identity or f"{socket.gethostname()}_{secrets.token_hex(4)}"
    return LeaderElector(store, leader, identity)


def readiness(
    reconciler: Reconciler,
    settings: Settings,
    elector: LeaderElector | None = None,
    view_complete: Callable[[], bool] = lambda: True,
    active_unit: Callable[[], str] = lambda: "",
) -> tuple[bool, str]:
    """Ready or not, and why; ``active_unit``: the ADC unit written to, for dialects that follow failover."""
    if elector is not None and not elector.is_leader:
        return standby_readiness(elector, view_complete())
    last, since_success = reconciler.last, reconciler.seconds_since_success()
    if last is None:
        return False, "no cycle yet"
    if last.desired is None or not last.desired.complete:
        return False, "cluster view incomplete"
    recent = 2 * settings.reconcile.resync_seconds + 30
    if since_success is None or since_success > recent:
        return False, f"no successful cycle in the last {recent:.0f} s: {last.error or 'see the log'}"
    if last.plan is not None and last.plan.hold_reason:
        # Held-back deletions wait for an operator and never clear by themselves: still ready (a
        # rollout must not stall on them), but /readyz is where an operator looks, so it says so.
        return True, f"ready{_unit(active_unit())}; {last.plan.hold_reason}"
    return True, f"ready{_unit(active_unit())}"


def _unit(url: str) -> str:
    return f" (ADC active unit {url})" if url else ""


def standby_readiness(elector: LeaderElector, view_complete: bool) -> tuple[bool, str]:
    """A standby is ready (a rollout may go on) when someone else leads and its own view is whole."""
    if not elector.holder or elector.holder == elector.identity:
        return False, "electing a leader"
    if not view_complete:
        return False, f"standby (leader: {elector.holder}); cluster view incomplete"
    return True, f"standby (leader: {elector.holder})"


@dataclass
class Service:
    settings: Settings
    source: SnapshotSource
    cluster: Cluster | None = None
    metrics: Metrics = field(default_factory=Metrics)
    elector: LeaderElector | None = None  # set while serving with leader election (tests look)
    readiness: Callable[[], tuple[bool, str]] = lambda: (False, "not serving")
    # Set by ``adcbridge run``, which owns its process: after the first complete sync, what it
    # built is set aside from garbage collection (``set_aside_from_gc``). Tests serving in-process
    # leave it off, since it is process-wide.
    settle_memory: bool = False

    async def serve(self) -> int:
        """Run until SIGTERM/SIGINT (exit 0) or until a job dies (exit 1)."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            return await self.serve_until(stop)
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    async def serve_until(self, stop: asyncio.Event) -> int:
        metrics = self.metrics
        live = self.cluster
        elector = elector_for(self.settings, live.api) if live and self.settings.leader.enabled else None
        self.elector = elector
        gate = (lambda: elector.is_leader) if elector is not None else None
        async with open_adc(self.settings, metrics, write_gate=gate) as adc:
            announce(self.settings)
            verification = self._verification(metrics)
            reconciler = Reconciler(
                self.settings,
                SettlingSource(self.source) if self.settle_memory else self.source,
                adc,
                metrics,
                after_cycle=self._reporter(verification),
                zones=zone_target(self.settings),
            )
            if verification is not None:
                verification.give_way_to(reconciler.wait_idle)  # no queries while a cycle runs
            complete = (lambda: live.source.cache.synced) if live else (lambda: True)
            self.readiness = lambda: readiness(reconciler, self.settings, elector, complete, adc.active_unit)
            server = HealthServer(self.settings.server.listen, metrics, self.readiness)
            await server.start()
            log.info("serving /healthz, /readyz and /metrics on port %d", server.port)
            try:
                if elector is None:
                    metrics.leader.set(1)
                    return await _supervise({"reconcile-loop": reconciler.run_forever()}, stop)
                log.info("lease: this replica is %s", elector.identity)
                jobs = {"lease": elector.run(), "reconcile-loop": _lead(elector, reconciler, metrics)}
                return await _supervise(jobs, stop)
            finally:
                if verification is not None:
                    await verification.close()
                if elector is not None:
                    await elector.release()
                await server.stop()

    def _verification(self, metrics: Metrics) -> Verification | None:
        if not verifying(self.settings):
            return None
        every = self.settings.reconcile.resync_seconds
        return Verification(verifier_for(self.settings), metrics, full_every=every)

    def _reporter(self, verification: Verification | None) -> Callable[[CycleReport], Awaitable[None]]:
        live, kube = self.cluster, self.settings.kube
        events = status = None
        if live is not None and kube.events:
            events = EventRecorder(live.api, live.source.find, instance=socket.gethostname())
        if live is not None and kube.write_status:
            status = StatusWriter(live.api, live.source.find, self.settings.vip.addresses)

        expected = ExpectedAddresses()
        settling = [self.settle_memory]  # until the first complete sync

        async def report(cycle: CycleReport) -> None:
            if settling[0] and cycle.ok and cycle.desired is not None and cycle.desired.complete:
                settling[0] = False
                set_aside_from_gc()
            if verification is not None and cycle.ok and cycle.desired is not None:
                verification.start(expected.of(cycle.desired.names))
            if events is not None:
                await events.publish(findings(cycle, self.settings.kic))
            if status is not None and cycle.ok and not cycle.dry_run:
                await status.update(cycle.desired, cycle.snapshot)

        return report


@dataclass
class SettlingSource:
    """``source``, setting aside from garbage collection what was listed, as soon as the first
    complete view is taken: at 50,000 hosts the lists leave about a million objects, and the first
    sync's writes would otherwise pay for full collections of them (two, 1 s, in a measured run)."""

    source: SnapshotSource
    settled: bool = False

    async def snapshot(self) -> ClusterSnapshot:
        view = await self.source.snapshot()
        if view.complete and not self.settled:
            self.settled = True
            gc.freeze()  # no collection first: the first cycle is waiting; set_aside_from_gc collects later
            log.info(
                "memory: %d objects of the first complete view set aside from garbage collection", gc.get_freeze_count()
            )
        return view

    async def wait_for_change(self) -> None:
        await self.source.wait_for_change()


def set_aside_from_gc() -> int:
    """Collect once, then move every object alive to a generation the collector never scans.

    At 50,000 hosts the first sync leaves about a million long-lived objects (the watch cache, the
    view, the desired and kept ADC states), and a full collection of them takes 0.4 s or more, at
    moments the allocator picks: a change arriving then waits for it. After this, collections scan
    only what came later (objects set aside are still freed by reference counting when dropped).
    Returns how many objects were set aside."""
    gc.collect()
    gc.freeze()
    count = gc.get_freeze_count()
    log.info("memory: %d objects of the first complete sync set aside from garbage collection", count)
    return count


async def _lead(elector: LeaderElector, reconciler: Reconciler, metrics: Metrics) -> None:
    """Run the loop while this replica leads; stop it the moment the lease is lost."""
    while True:
        await elector.wait_for(True)
        metrics.leader.set(1)
        loop_task = asyncio.create_task(reconciler.run_forever(), name="reconcile-while-leading")
        lost = asyncio.create_task(elector.wait_for(False), name="lease-lost")
        try:
            await asyncio.wait({loop_task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancelled({loop_task, lost})
            metrics.leader.set(0)
        if loop_task.done() and not loop_task.cancelled() and loop_task.exception() is not None:
            raise loop_task.exception()  # type: ignore[misc]


async def _supervise(jobs: dict[str, Coroutine[Any, Any, Any]], stop: asyncio.Event) -> int:
    """Run the jobs until ``stop`` is set (exit 0) or one of them ends (it should not: exit 1)."""
    tasks = {asyncio.create_task(job, name=name) for name, job in jobs.items()}
    stop_task = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        done, _ = await asyncio.wait(tasks | {stop_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancelled(tasks | {stop_task}, within=SHUTDOWN_SECONDS)
    for task in done - {stop_task}:
        error = task.exception() if not task.cancelled() else None
        log.error("%s stopped: %r", task.get_name(), error)
        return 1
    log.info("stopped by signal")
    return 0


async def cancelled(tasks: set[asyncio.Task[Any]], *, within: float | None = None, again_every: float = 1.0) -> None:
    """Cancel ``tasks`` and wait until they end (at most ``within`` seconds).

    A cancellation can be swallowed deep inside a library (a request timeout that fires as the
    cancellation arrives turns it into a TimeoutError, which is then handled as a failed request),
    and the task carries on as if nothing happened. So a task still running is cancelled again
    every ``again_every`` seconds, rather than awaited forever.
    """
    loop = asyncio.get_running_loop()
    deadline = None if within is None else loop.time() + within
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        left = again_every if deadline is None else min(again_every, deadline - loop.time())
        if left <= 0:
            return
        _, pending = await asyncio.wait(pending, timeout=left)
