"""Health, readiness and metrics over HTTP (aiohttp) — and nothing else.

``/healthz`` answers 200 while the process runs its loop; ``/readyz`` answers 200 only when
the cluster view is complete and a cycle succeeded recently (every operation it attempted
went through; a standing conflict does not make the bridge unready), 503 with the reason
otherwise, so a rollout waits for a bridge that actually works; ``/metrics`` is the
Prometheus exposition of our own registry, with readiness as ``adcbridge_ready`` (a probe's
answer is not kept anywhere a dashboard could read it). Every other path is 404. The answers never
carry settings or secrets.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from adcbridge.config import split_host_port
from adcbridge.metrics import Metrics

Readiness = Callable[[], tuple[bool, str]]


def build_app(metrics: Metrics, readiness: Readiness) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        ready, reason = readiness()
        return web.Response(text=f"{reason}\n", status=200 if ready else 503)

    async def metrics_page(_: web.Request) -> web.Response:
        ready, _reason = readiness()  # a scrape sees what a probe would see now
        metrics.ready.set(1 if ready else 0)
        body = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    return app


class HealthServer:
    """The aiohttp site on ``listen``; ``port`` tells the real port after ``start`` (port 0 in tests)."""

    def __init__(self, listen: str, metrics: Metrics, readiness: Readiness) -> None:
        self._host, self._port = split_host_port(listen)
        self._runner = web.AppRunner(build_app(metrics, readiness), access_log=None)
        self.port = 0

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        await self._runner.cleanup()
