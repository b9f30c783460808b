"""kubectl against the fake API server: discovery, OpenAPI, tables, writes — with its defaults.

kubectl 1.20 (Debian's) validates a manifest itself against the schemas of ``/openapi/v2``
before it sends it; current ones learn from ``/openapi/v3`` that the server validates fields
and send ``fieldValidation=Strict``. Either way no ``--validate=false`` is needed, and either
way a misspelled field is refused. ``tests/kubectl.py`` says which kubectl runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from mocks.kube import FakeKube
from mocks.kube import manifests as k
from tests.kubectl import run_kubectl


class Kubectl:
    def __init__(self, fake: FakeKube, home: Path) -> None:
        self.kubeconfig = fake.write_kubeconfig(home / "kubeconfig")
        self.home = home

    async def __call__(self, *args: str, stdin: str | None = None, ok: bool = True) -> str:
        code, text = await run_kubectl(self.kubeconfig, *args, home=self.home, stdin=stdin)
        assert (code == 0) == ok, text
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
    # Strategic merge is for built-in kinds only: 415, listing what a custom resource accepts.
    text = await kubectl("patch", "vs", "vs1", "-p", "{}", ok=False)
    accepted = "accepted media types include: application/json-patch+json, application/merge-patch+json"
    assert "the body of the request was in an unknown format" in text, text
    assert accepted in text


async def test_a_misspelled_or_missing_field_is_refused(kubectl: Kubectl, fake_kube: FakeKube) -> None:
    misspelled = k.ingress("typo", "default", "a.example.com")
    misspelled["spec"]["rulez"] = misspelled["spec"].pop("rules")
    text = await kubectl("create", "-f", "-", stdin=yaml.safe_dump(misspelled), ok=False)
    # kubectl 1.20 names the field in its schema ("rulez"), the server by its path ("spec.rulez").
    assert re.search(r'unknown field "(spec\.)?rulez"', text), text
    unnamed = k.ingress("unnamed", "default", "a.example.com")
    del unnamed["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    text = await kubectl("apply", "-f", "-", stdin=yaml.safe_dump(unnamed), ok=False)
    refusals = ('missing required field "name"', "backend.service.name: Required value")
    assert any(refusal in text for refusal in refusals), text
    assert fake_kube.list_objects("networking.k8s.io/v1", "Ingress") == []
