"""Shared pieces of the live-cluster tests: a seeded fake API server and settings that use it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from adcbridge.config import Settings
from mocks.kube import manifests as k
from mocks.kube.server import FakeKube
from tests.builders import settings


def basic_cluster() -> list[k.Obj]:
    """The KIC Service, two Ready nodes, our IngressClass and the namespaces the tests use."""
    return [
        *(k.namespace(name) for name in (k.KIC_NAMESPACE, "shop", "web", "team-a", "team-b")),
        k.service(),
        k.node("node-a", "10.0.0.11"),
        k.node("node-b", "10.0.0.12"),
        k.endpoint_slice("kic-1", ["node-a", "node-b"]),
        k.ingress_class(),
    ]


@asynccontextmanager
async def seeded_kube(tmp_path: Path, objects: list[dict[str, Any]] | None = None) -> AsyncIterator[FakeKube]:
    """A fake API server on 127.0.0.1:0 holding ``objects`` (default: the basic cluster), with its
    kubeconfig at ``tmp_path / "kubeconfig"``."""
    async with FakeKube(bookmark_interval=0.5) as server:
        server.write_kubeconfig(tmp_path / "kubeconfig")
        for obj in basic_cluster() if objects is None else objects:
            server.create(obj)
        yield server


def live_settings(tmp_path: Path, **overrides: Any) -> Settings:
    kube = {"kubeconfig": str(tmp_path / "kubeconfig"), "crd_retry_seconds": 0.3, **overrides.pop("kube", {})}
    return settings(kube=kube, **overrides)


async def until(check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0, what: str = "the condition") -> float:
    """Poll ``check`` every 50 ms; fail the test if it is not true within ``seconds``. Returns the time it took."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{what} not reached within {seconds} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started
