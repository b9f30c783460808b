"""kubectl 1.32 against the fake API server: discovery, OpenAPI v3 probing, tables, writes.

kubectl learns from ``/openapi/v3`` that the server does field validation, so no
``--validate=false`` is needed; everything here runs with kubectl's defaults.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
import yaml

from mocks.kube import FakeKube
from mocks.kube import manifests as k

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


class Kubectl:
    def __init__(self, fake: FakeKube, home: Path) -> None:
        self.kubeconfig = fake.write_kubeconfig(home / "kubeconfig")
        self.home = home

    async def __call__(self, *args: str, stdin: str | None = None, ok: bool = True) -> str:
        process = await asyncio.create_subprocess_exec(
            "kubectl",
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.home / "cache"),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"HOME": str(self.home), "PATH": "/usr/bin:/bin"},
        )
        out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), 20)
        text = out.decode() + err.decode()
        assert (process.returncode == 0) == ok, text
        return text


@pytest.fixture
def kubectl(fake_kube: FakeKube, tmp_path: Path) -> Kubectl:
    return Kubectl(fake_kube, tmp_path)


async def test_get_lists_as_tables(kubectl: Kubectl, fake_kube: FakeKube) -> None:
    fake_kube.create(k.ingress("web", "default", "a.example.com"))
    fake_kube.create(k.node("node-1", "10.0.0.1"))
    lines = (await kubectl("get", "ingress", "-A")).splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "AGE"]
    assert lines[1].split()[:2] == ["default", "web"]
    assert (await kubectl("get", "nodes")).splitlines()[1].split()[0] == "node-1"
    assert "No resources found" in await kubectl("get", "svc")


async def test_create_replace_label_annotate_patch_delete(
    kubectl: Kubectl, fake_kube: FakeKube, tmp_path: Path
) -> None:
    manifest = tmp_path / "ingress.yaml"
    manifest.write_text(yaml.safe_dump(k.ingress("web", "default", "a.example.com")))
    assert "created" in await kubectl("create", "-f", str(manifest))
    assert "AlreadyExists" in await kubectl("create", "-f", str(manifest), ok=False)
    changed = k.ingress("web", "default", "b.example.com")
    manifest.write_text(yaml.safe_dump(changed))
    assert "replaced" in await kubectl("replace", "-f", str(manifest))
    await kubectl("label", "ingress", "web", "team=edge")
    await kubectl("annotate", "ingress", "web", "note=hi")
    await kubectl("patch", "ingress", "web", "--type", "merge", "-p", '{"spec":{"ingressClassName":"other"}}')
    stored = fake_kube.get("networking.k8s.io/v1", "Ingress", "web", namespace="default")
    assert stored is not None
    assert stored["spec"]["rules"][0]["host"] == "b.example.com"
    assert stored["spec"]["ingressClassName"] == "other"
    assert stored["metadata"]["labels"]["team"] == "edge"
    assert stored["metadata"]["annotations"] == {"note": "hi"}
    assert "deleted" in await kubectl("delete", "ingress", "web", "-n", "default")
    assert fake_kube.get("networking.k8s.io/v1", "Ingress", "web", namespace="default") is None


async def test_apply_twice(kubectl: Kubectl, fake_kube: FakeKube) -> None:
    manifest = yaml.safe_dump(k.ingress("web", "default", "a.example.com"))
    assert "created" in await kubectl("apply", "-f", "-", stdin=manifest)
    manifest = yaml.safe_dump(k.ingress("web", "default", "c.example.com"))
    assert "configured" in await kubectl("apply", "-f", "-", stdin=manifest)
    stored = fake_kube.get("networking.k8s.io/v1", "Ingress", "web", namespace="default")
    assert stored is not None
    assert stored["spec"]["rules"][0]["host"] == "c.example.com"


async def test_custom_resources_by_name_and_short_name(kubectl: Kubectl, fake_kube: FakeKube) -> None:
    assert "doesn't have a resource type" in await kubectl("get", "virtualservers", ok=False)
    fake_kube.create(k.virtual_server_crd())
    fake_kube.create(k.virtual_server("vs1", "default", "vs.example.com"))
    assert "vs1" in await kubectl("get", "virtualservers")
    listed = json.loads(await kubectl("get", "vs", "-o", "json"))
    assert listed["items"][0]["spec"]["host"] == "vs.example.com"
    await kubectl("patch", "vs", "vs1", "--type", "merge", "-p", '{"spec":{"host":"x.example.com"}}')
    assert "application/strategic-merge-patch+json is not supported" in await kubectl(
        "patch", "vs", "vs1", "-p", "{}", ok=False
    )
