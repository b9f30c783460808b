"""The chart's RBAC against the calls the code makes: the bridge runs as the chart's pod would.

For each mode and option that changes the rules, the chart is rendered and its ServiceAccount,
Roles, ClusterRoles and bindings are created in a fake API server that serves HTTPS and
enforces RBAC like a real one (``mocks/kube/rbac.py``). The bridge then starts in-process the
way the pod starts it: the settings file from the rendered ConfigMap, the credentials as files
from the rendered Secret (mounted kubelet-style), the service-account token and CA where a pod
has them, ``KUBERNETES_SERVICE_HOST``/``PORT`` set — the in-cluster path, no kubeconfig. The
scenario exercises everything the bridge can ask of the API server: watching, leading, Events
(new and repeated, on Ingresses and on the KIC Service), status, ``adcbridge check``.

Two things must then hold, so the chart and the code cannot drift apart either way:
no request of the service account was refused, and every verb of every rule the chart grants
was used (nothing granted that the code does not need). A last test removes one Role to show
that a missing rule is caught.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from adcbridge import app
from adcbridge.config import Settings, load_settings
from adcbridge.k8s import api as kube_api_module
from mocks.adc import MockADC
from mocks.kube import manifests as k
from mocks.kube.server import FakeKube
from mocks.kube.state import RequestRecord
from tests.conftest import PASSWORD, USERNAME, Appliance
from tests.helm_chart import Obj, Rendered, merged, render
from tests.live import basic_cluster, until
from tests.secret_volumes import publish

pytestmark = pytest.mark.slow

POD_NAME = "adcbridge-5f7c9d-x2k4q"
RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
FAST = {
    "leaderElection": {"leaseDurationSeconds": 3, "renewDeadlineSeconds": 2, "retryPeriodSeconds": 1.1},
    "dns": {"verify": False},
    "settings": {"reconcile": {"batch_window_seconds": 0.05}, "kube": {"crd_retry_seconds": 0.3}},
}


@dataclass(frozen=True)
class Case:
    values: Obj
    release_namespace: str
    rotate_password: bool = False


CASES = {
    "standalone, cluster-wide, events, leader; the password rotates": Case(
        {"kic": {"namespace": k.KIC_NAMESPACE}}, "adcbridge", rotate_password=True
    ),
    "standalone, two namespaces, status, events": Case(
        {"kic": {"namespace": k.KIC_NAMESPACE}, "watch": {"namespaces": ["shop", "web"]}, "writeStatus": True},
        "adcbridge",
    ),
    "sidecar, one namespace, no events, no leader election": Case(
        {
            "mode": "sidecar",
            "kic": {"serviceAccountName": "njet-ingress"},
            "watch": {"namespaces": ["shop"]},
            "events": False,
            "leaderElection": {"enabled": False},
        },
        k.KIC_NAMESPACE,
    ),
}


# ------------------------------------------------------------------ the cluster and the pod


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@asynccontextmanager
async def secure_kube(tmp_path: Path, authority: trustme.CA) -> AsyncIterator[FakeKube]:
    issued = authority.issue_cert("127.0.0.1")
    cert, key = tmp_path / "apiserver.crt", tmp_path / "apiserver.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    async with FakeKube(bookmark_interval=0.5, tls=(cert, key), authorize=True) as server:
        yield server


def workload(release_namespace: str) -> list[Obj]:
    """The cluster the bridge serves: an Ingress and a VirtualServer to publish, a host to reject."""
    return [
        *basic_cluster(),
        k.namespace(release_namespace) if release_namespace != k.KIC_NAMESPACE else k.namespace("unused"),
        k.virtual_server_crd(),
        k.ingress("shop", "shop", "shop.example.com"),
        k.virtual_server("api", "shop", "api.example.com"),
        k.ingress("web", "web", "www.example.com", "bad_host.example.com"),
    ]


def mount_pod(root: Path, rendered: Rendered, token: str, authority: trustme.CA) -> Path:
    """Lay out the files a pod of this release sees, under ``root``; returns the settings file."""
    secrets = {s["metadata"]["name"]: s for s in rendered.of_kind("Secret")}
    for volume in rendered.volumes():
        if "projected" in volume:
            files = {
                item["path"]: base64.b64decode(secrets[source["secret"]["name"]]["data"][item["key"]])
                for source in volume["projected"]["sources"]
                for item in source["secret"]["items"]
            }
            publish(root / "var/run/secrets/adcbridge", files)
    config = root / "etc/adcbridge/config"
    publish(config, {"adcbridge.yaml": rendered.settings_text().encode()})
    account = root / "var/run/secrets/kubernetes.io/serviceaccount"
    namespace = rendered.one("ConfigMap")["metadata"]["namespace"]
    publish(
        account,
        {"token": token.encode(), "ca.crt": authority.cert_pem.bytes(), "namespace": namespace.encode()},
    )
    return config / "adcbridge.yaml"


def pod_settings(monkeypatch: pytest.MonkeyPatch, root: Path, config: Path, kube: FakeKube) -> Settings:
    """The settings as the pod's process loads them; paths under ``root`` stand for the pod's."""
    host, _, port = kube.url.removeprefix("https://").rpartition(":")
    for key, value in {
        "KUBERNETES_SERVICE_HOST": host,
        "KUBERNETES_SERVICE_PORT": port,
        "ADCBRIDGE_LEADER__IDENTITY": POD_NAME,  # the downward API
        "ADCBRIDGE_SECRETS_DIR": str(root / "var/run/secrets/adcbridge"),
        "ADCBRIDGE_SERVER__LISTEN": "127.0.0.1:0",  # tests listen on loopback, port 0
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setattr(kube_api_module, "SERVICE_ACCOUNT_DIR", root / "var/run/secrets/kubernetes.io/serviceaccount")
    return load_settings(config)


def account_of(rendered: Rendered) -> tuple[str, str]:
    subjects = rendered.of_kind("ClusterRoleBinding")[0]["subjects"]
    return subjects[0]["namespace"], subjects[0]["name"]


@asynccontextmanager
async def bridge(settings: Settings) -> AsyncIterator[None]:
    async with app.cluster(settings) as live:
        service = app.Service(settings, live.source, live)
        stop = asyncio.Event()
        task = asyncio.create_task(service.serve_until(stop), name="bridge in the emulated pod")
        try:
            yield
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 15) == 0


# ------------------------------------------------------------------ the scenario


async def adc_domains(adc: Appliance) -> set[str]:
    state = await adc.control("GET", "state")
    return {item["name"] for item in state["objects"]["dns/domain"]}


def event_count(kube: FakeKube, namespace: str, reason: str) -> int:
    return sum(
        e.get("count", 1) for e in kube.list_objects("v1", "Event", namespace=namespace) if e["reason"] == reason
    )


async def finding_repeats(
    kube: FakeKube, namespace: str, reason: str, breaks: Callable[[], object], mends: Callable[[], object]
) -> None:
    """A finding appears (Event created), goes, and comes back (the same Event patched)."""
    breaks()
    await until(lambda: _true(event_count(kube, namespace, reason) >= 1), what=f"{reason} Event")
    mends()
    await asyncio.sleep(0.6)  # a few cycles without the finding
    breaks()
    await until(lambda: _true(event_count(kube, namespace, reason) >= 2), what=f"{reason} Event repeated")


async def _true(value: bool) -> bool:
    return value


async def play(case: Case, settings: Settings, kube: FakeKube, adc: Appliance, root: Path) -> None:
    namespaces = settings.kube.namespaces
    expected = {"shop.example.com", "api.example.com"}
    if not namespaces or "web" in namespaces:
        expected.add("www.example.com")
    await until(lambda: _superset(adc, expected), seconds=20, what=f"{sorted(expected)} on the ADC")
    if settings.kube.events:
        rejected, accepted = (
            k.ingress("web", "web", "www.example.com", "bad_host.example.com"),
            k.ingress("web", "web", "www.example.com"),
        )
        await finding_repeats(
            kube, "web", "HostRejected", lambda: kube.replace(rejected), lambda: kube.replace(accepted)
        )
        down = [k.node(name, ip, ready=False) for name, ip in (("node-a", "10.0.0.11"), ("node-b", "10.0.0.12"))]
        up = [k.node(name, ip) for name, ip in (("node-a", "10.0.0.11"), ("node-b", "10.0.0.12"))]
        await finding_repeats(
            kube,
            k.KIC_NAMESPACE,
            "Degraded",
            lambda: [kube.replace(node, status=True) for node in down],
            lambda: [kube.replace(node, status=True) for node in up],
        )
    if settings.kube.write_status:
        await until(lambda: _status_written(kube), what="VIPs in the status of the Ingress and the VirtualServer")
    if settings.leader.enabled:
        await until(lambda: _true(_lease_renewed(kube)), seconds=5, what="a Lease renewal")
    if case.rotate_password:
        await rotate_password(adc, root, kube)
    lines = await app.check_cluster(settings)
    assert all(line.startswith("ok") for line in lines), lines


async def _superset(adc: Appliance, expected: set[str]) -> bool:
    return expected <= await adc_domains(adc)


async def _status_written(kube: FakeKube) -> bool:
    ingress = kube.get(k.NETWORKING, "Ingress", "shop", namespace="shop") or {}
    server = kube.get(k.NJET, "VirtualServer", "api", namespace="shop") or {}
    return all(obj.get("status", {}).get("loadBalancer", {}).get("ingress") for obj in (ingress, server))


def _lease_renewed(kube: FakeKube) -> bool:
    return any(r.verb == "update" and r.resource == "leases" and r.allowed for r in kube.requests)


async def rotate_password(adc: Appliance, root: Path, kube: FakeKube) -> None:
    """The ADC's admin changes the password (every session ends) and then the Secret; the kubelet
    updates the mounted files; the next cycle logs in with the new password, without a restart."""
    rotated = "rotated-" + PASSWORD
    await adc.control("POST", "password", {"password": rotated})
    publish(root / "var/run/secrets/adcbridge", {"adc-username": USERNAME.encode(), "adc-password": rotated.encode()})
    kube.create(k.ingress("new", "shop", "new.example.com"))  # a change: the next cycle needs a session
    await until(lambda: _superset(adc, {"new.example.com"}), seconds=10, what="a write after the rotation")


# ------------------------------------------------------------------ the verdicts


def refused(kube: FakeKube, user: str) -> list[dict[str, Any]]:
    return [r.as_dict() for r in kube.requests if r.user == user and r.allowed is False]


def granted(rendered: Rendered) -> set[tuple[str, str, int, str]]:
    """Every (role kind, role name, rule index, verb) the chart grants."""
    return {
        (role["kind"], role["metadata"]["name"], index, verb)
        for role in rendered.of_kind("ClusterRole") + rendered.of_kind("Role")
        for index, rule in enumerate(role["rules"])
        for verb in rule["verbs"]
    }


def used(requests: Iterable[RequestRecord], user: str) -> set[tuple[str, str, int, str]]:
    return {
        (r.grant["role_kind"], r.grant["role"], r.grant["rule"], r.verb)
        for r in requests
        if r.user == user and r.allowed and r.grant is not None and r.resource
    }


@pytest.mark.parametrize("name", sorted(CASES))
async def test_the_chart_grants_exactly_what_the_bridge_uses(
    name: str,
    tmp_path: Path,
    authority: trustme.CA,
    mock_adc: MockADC,
    adc: Appliance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case = CASES[name]
    values = merged(
        {"adc": {"url": mock_adc.url, "credentials": {"username": USERNAME, "password": PASSWORD}}},
        {"vip": {"addresses": ["192.0.2.10"]}},
        FAST,
        case.values,
    )
    rendered = render(values, release="adcbridge", namespace=case.release_namespace)
    async with secure_kube(tmp_path, authority) as kube:
        for obj in workload(case.release_namespace):
            kube.create(obj)
        if case.values.get("mode") == "sidecar":
            kube.create(k.service_account("njet-ingress", k.KIC_NAMESPACE))  # the KIC's, not the chart's
        for obj in rendered.objects:
            if obj["kind"] in RBAC_KINDS:
                kube.create(obj)
        namespace, account = account_of(rendered)
        user = f"system:serviceaccount:{namespace}:{account}"
        config = mount_pod(tmp_path / "pod", rendered, kube.issue_token(namespace, account), authority)
        settings = pod_settings(monkeypatch, tmp_path / "pod", config, kube)
        async with bridge(settings):
            await play(case, settings, kube, adc, tmp_path / "pod")
        assert refused(kube, user) == []
        unused = granted(rendered) - used(kube.requests, user)
        assert unused == set(), f"granted but never used: {sorted(unused)}"


async def test_a_rule_missing_from_the_chart_is_refused_and_seen(
    tmp_path: Path, authority: trustme.CA, mock_adc: MockADC, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = merged(
        {"adc": {"url": mock_adc.url, "credentials": {"username": USERNAME, "password": PASSWORD}}},
        {"vip": {"addresses": ["192.0.2.10"]}, "kic": {"namespace": k.KIC_NAMESPACE}},
        FAST,
    )
    rendered = render(values, release="adcbridge", namespace="adcbridge")
    async with secure_kube(tmp_path, authority) as kube:
        for obj in workload("adcbridge"):
            kube.create(obj)
        for obj in rendered.objects:
            if obj["kind"] in RBAC_KINDS and obj["metadata"]["name"] != "adcbridge-kic":
                kube.create(obj)
        user = "system:serviceaccount:adcbridge:adcbridge"
        config = mount_pod(tmp_path / "pod", rendered, kube.issue_token("adcbridge", "adcbridge"), authority)
        settings = pod_settings(monkeypatch, tmp_path / "pod", config, kube)
        async with bridge(settings):
            await until(lambda: _true(bool(refused(kube, user))), what="a refused request")
        denied = {(r["resource"], r["verb"], r["status"]) for r in refused(kube, user)}
        assert ("services", "list", 403) in denied
