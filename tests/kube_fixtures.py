"""The fake Kubernetes API server as pytest fixtures.

``fake_kube`` runs a ``FakeKube`` on 127.0.0.1 port 0 in the test's event loop (BOOKMARKs every
0.2 s so watch tests stay short) and stops it after the test, open watches included.
``kube_api`` is a kubernetes_asyncio ``ApiClient`` configured from the kubeconfig the fake
writes — the way the bridge will be configured — and always closed.

Complete objects to feed it come from ``mocks.kube.manifests``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from kubernetes_asyncio import client, config

from mocks.kube import FakeKube


@pytest.fixture
async def fake_kube() -> AsyncIterator[FakeKube]:
    async with FakeKube(bookmark_interval=0.2) as fake:
        yield fake


@asynccontextmanager
async def api_client(fake: FakeKube, kubeconfig: Path) -> AsyncIterator[client.ApiClient]:
    """A kubernetes_asyncio client for ``fake``, loaded from a kubeconfig file it writes."""
    fake.write_kubeconfig(kubeconfig)
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration) as api:
        yield api


@pytest.fixture
async def kube_api(fake_kube: FakeKube, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    async with api_client(fake_kube, tmp_path / "kubeconfig") as api:
        yield api
