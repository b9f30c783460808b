"""The composition root: builds the components from settings and runs them.

Each component gets only its own settings group. ``serve`` runs the reconcile loop as a
supervised task beside the health server: if the loop dies the process exits non-zero
instead of serving a green ``/healthz`` over a dead bridge; SIGTERM/SIGINT stop it within
a bounded time (the ADC session is logged out on the way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from adcbridge.adc import AdcClient, AdcDriver, credential_source
from adcbridge.config import Settings
from adcbridge.desired import owner_of
from adcbridge.metrics import Metrics
from adcbridge.reconciler import CycleReport, Reconciler, SnapshotSource
from adcbridge.server import HealthServer

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 10.0


@contextlib.asynccontextmanager
async def adc_client(settings: Settings, metrics: Metrics | None = None) -> AsyncIterator[AdcClient]:
    credentials = credential_source(settings.adc.username, settings.adc.password, settings.secrets_dir)
    async with AdcClient(settings.adc, credentials, read_only=settings.dry_run, metrics=metrics) as client:
        yield client


def driver_for(settings: Settings, client: AdcClient) -> AdcDriver:
    adc = settings.adc
    return AdcDriver(
        client, owner_of(settings), page_size=adc.page_size, concurrency=adc.concurrency, save_config=adc.save_config
    )


async def run_cycle(settings: Settings, source: SnapshotSource) -> CycleReport:
    """One cycle (``run --once``, and ``plan`` with dry_run set)."""
    metrics = Metrics()
    async with adc_client(settings, metrics) as client:
        return await Reconciler(settings, source, driver_for(settings, client), metrics).run_once()


def readiness(reconciler: Reconciler, settings: Settings) -> tuple[bool, str]:
    last, success = reconciler.last, reconciler.last_success_at
    if last is None:
        return False, "no cycle yet"
    if last.desired is None or not last.desired.complete:
        return False, "cluster view incomplete"
    recent = 2 * settings.reconcile.resync_seconds + 30
    if success is None or time.time() - success > recent:
        return False, f"no successful cycle in the last {recent:.0f} s: {last.error or 'see the log'}"
    return True, "ready"


@dataclass
class Service:
    settings: Settings
    source: SnapshotSource

    async def serve(self) -> int:
        metrics = Metrics()
        async with adc_client(self.settings, metrics) as client:
            reconciler = Reconciler(self.settings, self.source, driver_for(self.settings, client), metrics)
            server = HealthServer(self.settings.server.listen, metrics, lambda: readiness(reconciler, self.settings))
            await server.start()
            log.info("serving /healthz, /readyz and /metrics on port %d", server.port)
            try:
                return await _supervise(reconciler)
            finally:
                await server.stop()


async def _supervise(reconciler: Reconciler) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop_task = asyncio.create_task(reconciler.run_forever(), name="reconcile-loop")
    stop_task = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        done, _ = await asyncio.wait({loop_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        for task in (loop_task, stop_task):
            task.cancel()
        await asyncio.wait({loop_task, stop_task}, timeout=SHUTDOWN_SECONDS)
    if loop_task in done:
        error = loop_task.exception() if not loop_task.cancelled() else None
        log.error("the reconcile loop stopped: %r", error)
        return 1
    log.info("stopped by signal")
    return 0
