"""The fake Kubernetes API server as pytest fixtures, plus complete objects to feed it.

``fake_kube`` runs a ``FakeKube`` on 127.0.0.1 port 0 in the test's event loop (BOOKMARKs every
0.2 s so watch tests stay short) and stops it after the test, open watches included.
``kube_api`` is a kubernetes_asyncio ``ApiClient`` configured from the kubeconfig the fake
writes — the way the bridge will be configured — and always closed.

The builders return complete objects (kubernetes_asyncio's typed models reject incomplete
ones on read, and so does the fake on write).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config

from mocks.kube import FakeKube

Obj = dict[str, Any]
VS_GROUP = "k8s.njet.org"


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


def kube_namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def kube_service(name: str, namespace: str = "default", *, port: int = 80, kind: str = "NodePort") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"type": kind, "selector": {"app": name}, "ports": [{"name": "http", "port": port}]},
    }


def kube_node(name: str, ip: str = "10.0.0.1", *, ready: bool = True) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def kube_ingress(name: str, namespace: str = "default", *, host: str = "a.example.com", service: str = "web") -> Obj:
    path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"ingressClassName": "njet", "rules": [{"host": host, "http": {"paths": [path]}}]},
    }


def kube_virtual_server_crd(*, short_names: tuple[str, ...] = ("vs",)) -> Obj:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"virtualservers.{VS_GROUP}"},
        "spec": {
            "group": VS_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": "VirtualServer",
                "plural": "virtualservers",
                "singular": "virtualserver",
                "shortNames": list(short_names),
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def kube_virtual_server(name: str, namespace: str = "default", *, host: str = "vs.example.com") -> Obj:
    return {
        "apiVersion": f"{VS_GROUP}/v1",
        "kind": "VirtualServer",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"host": host, "upstreams": [{"name": "web", "service": "web", "port": 80}]},
    }
