"""End to end: three real processes on loopback, as in production but for the two emulators.

The fake Kubernetes API server (``python -m mocks.kube``, seeded with ``config/demo``), the
mock ADC (``python -m mocks.adc``, with its DNS responder) and the bridge (``python -m
adcbridge run``, configured by environment variables, leader election on). The cluster is
changed the way kubectl changes it — plain HTTP to the API server (and kubectl itself when
it is installed) — and the assertions are on what the ADC holds (``/_mock/state``,
``/_mock/changes``) and on what its DNS service answers (dnspython), never on what the
bridge says about itself, except for ``/readyz`` and ``/metrics``, which are its contract.

Every bridge's output is searched for the canary password when the bridge has stopped.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import httpx
import pytest
import yaml

from mocks.kube import manifests
from tests.conftest import PASSWORD, USERNAME
from tests.live import until
from tests.processes import START_TIMEOUT, RunningKube, RunningMock, fake_kube_process, mock_adc_process
from tests.test_cli import DEMO_SNAPSHOT, bridge_env

VIP = "192.0.2.10"
PUBLISHED = {
    "api.example.com",
    "secure.example.com",
    "shop.example.com",
    "static.example.com",
    "pay.example.com",
    "vs.example.com",
    "legacy.example.com",
}
NOT_PUBLISHED = ("intranet.example.com", "old_site.example.com")
NODE_IPS = {"node-a": "10.0.0.11", "node-b": "10.0.0.12", "node-c": "10.0.0.13"}
NODE_PORTS = (30080, 30443)
LEASE = "/apis/coordination.k8s.io/v1/namespaces/njet-ingress/leases/adcbridge-njet"
INGRESSES = "/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
FAST_LEASE = {
    "ADCBRIDGE_LEADER__LEASE_DURATION_SECONDS": "3",
    "ADCBRIDGE_LEADER__RENEW_DEADLINE_SECONDS": "2",
    "ADCBRIDGE_LEADER__RETRY_PERIOD_SECONDS": "1.1",
}
STOP_SECONDS = 5.0
LINE_LIMIT = 2**22  # a DEBUG line may be long; readline must not fail on it
SERVING = re.compile(r"serving /healthz, /readyz and /metrics on port (\d+)")


# ---------------------------------------------------------------------------- the processes


@dataclass
class Bridge:
    """One ``adcbridge run`` process; its output is drained continuously (DEBUG logs fill pipes)."""

    identity: str
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "".join(self.lines)

    async def drain(self, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        while line := await stream.readline():
            self.lines.append(line.decode(errors="replace"))
            if not self.port and (match := SERVING.search(line.decode())):
                self.port = int(match.group(1))

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        """Signal the process and wait for it (and for its output to end); its exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signum)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_SECONDS * 2)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await asyncio.wait_for(asyncio.gather(*self.readers), START_TIMEOUT)
        assert self.process.returncode is not None
        return self.process.returncode


@asynccontextmanager
async def bridge_process(adc: RunningMock, kube: Path, identity: str, **extra: str) -> AsyncIterator[Bridge]:
    """``adcbridge run`` against ``adc`` and the API server of ``kube`` (a kubeconfig file);
    stopped with SIGTERM (then SIGKILL) when the block ends, its output checked for the password."""
    env = bridge_env(
        adc.url,
        ADCBRIDGE_OWNER_ID="e2e",
        ADCBRIDGE_KUBE__KUBECONFIG=str(kube),
        ADCBRIDGE_LEADER__IDENTITY=identity,
        ADCBRIDGE_RECONCILE__DEBOUNCE_SECONDS="0.05",
        ADCBRIDGE_ADC__OPERATION_DEADLINE="10",
        **extra,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adcbridge", "run", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT,
    )  # fmt: skip
    bridge = Bridge(identity, process)
    bridge.readers = [
        asyncio.create_task(bridge.drain(process.stdout), name=f"{identity} stdout"),
        asyncio.create_task(bridge.drain(process.stderr), name=f"{identity} stderr"),
    ]
    try:

        async def serving() -> bool:
            assert process.returncode is None, f"{identity} exited early:\n{bridge.output()}"
            return bridge.port != 0

        await until(serving, seconds=START_TIMEOUT, what=f"{identity} serving")
        yield bridge
    finally:
        await bridge.stop()
        print(f"----- {identity} (exit {process.returncode}) -----\n{bridge.output()}")  # shown on failure
        assert PASSWORD not in bridge.output()


@dataclass
class Cluster:
    """The fake API server (with a plain HTTP client, as kubectl talks to it) and the mock ADC."""

    kube: RunningKube
    kubeconfig: Path
    adc: RunningMock
    http: httpx.AsyncClient

    async def kube_call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        content = None if body is None else json.dumps(body)
        headers = kwargs.pop("headers", {"Content-Type": "application/json"})
        response = await self.http.request(method, self.kube.url + path, content=content, headers=headers, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def adc_state(self) -> dict[str, Any]:
        response = await self.http.get(self.adc.url + "/_mock/state")
        data: dict[str, Any] = response.json()["data"]
        return data

    async def adc_changes(self, since: int = 0) -> list[dict[str, Any]]:
        response = await self.http.get(self.adc.url + "/_mock/changes", params={"since": since})
        changes: list[dict[str, Any]] = response.json()["data"]["changes"]
        return changes

    async def domains(self) -> set[str]:
        return {domain["name"] for domain in (await self.adc_state())["objects"]["dns/domain"]}

    async def members(self) -> dict[tuple[str, int], bool]:
        """Pool members as (node address, port) -> enabled."""
        state = await self.adc_state()
        address = {node["name"]: node["ip"] for node in state["objects"]["slb/node"]}
        return {(address[m["node"]], m["port"]): m["enable"] for pool in state["rservers"].values() for m in pool}

    async def resolve(self, name: str) -> tuple[int, list[str]]:
        """An A query to the ADC's DNS service: (rcode, addresses)."""
        assert self.adc.dns is not None
        host, port = self.adc.dns
        response = await dns.asyncquery.udp(dns.message.make_query(name, "A"), host, port=port, timeout=2)
        return response.rcode(), sorted(item.to_text() for rrset in response.answer for item in rrset)

    async def resolves(self, name: str) -> bool:
        return await self.resolve(name) == (dns.rcode.NOERROR, [VIP])

    async def nxdomain(self, name: str) -> bool:
        return (await self.resolve(name))[0] == dns.rcode.NXDOMAIN

    async def lease_holder(self) -> str:
        response = await self.http.get(self.kube.url + LEASE)
        if response.status_code == 404:
            return ""
        holder: str = response.json()["spec"].get("holderIdentity") or ""
        return holder

    async def ready(self, bridge: Bridge) -> tuple[int, str]:
        response = await self.http.get(bridge.url + "/readyz")
        return response.status_code, response.text

    async def metric(self, bridge: Bridge, name: str) -> float | None:
        text = (await self.http.get(bridge.url + "/metrics")).text
        match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else None

    async def create_ingress(self, name: str, namespace: str, host: str) -> None:
        await self.kube_call("POST", INGRESSES.format(namespace=namespace), manifests.ingress(name, namespace, host))

    async def delete_ingress(self, name: str, namespace: str) -> None:
        await self.kube_call("DELETE", f"{INGRESSES.format(namespace=namespace)}/{name}")


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    kubeconfig = tmp_path / "kubeconfig"
    seed = ("--seed", str(DEMO_SNAPSHOT), "--kubeconfig-out", str(kubeconfig))
    async with (
        fake_kube_process(*seed) as kube,
        mock_adc_process("--username", USERNAME, "--password", PASSWORD) as adc,
        httpx.AsyncClient(timeout=5) as http,
    ):
        yield Cluster(kube, kubeconfig, adc, http)


async def converged(cluster: Cluster, bridge: Bridge) -> None:
    async def done() -> bool:
        return await cluster.domains() == PUBLISHED and (await cluster.ready(bridge))[0] == 200

    await until(done, what="the demo cluster published and the bridge ready")


# ---------------------------------------------------------------------------- the tests


async def test_the_demo_cluster_converges(cluster: Cluster) -> None:
    async with bridge_process(cluster.adc, cluster.kubeconfig, "bridge-1") as bridge:
        await converged(cluster, bridge)
        state = await cluster.adc_state()
        expected_members = {(ip, port): True for ip in NODE_IPS.values() for port in NODE_PORTS}
        assert await cluster.members() == expected_members
        assert {node["ip"] for node in state["objects"]["slb/node"]} == set(NODE_IPS.values())
        vservers = {(v["vip"], v["protocol"]): v["pool"] for v in state["objects"]["slb/vserver"]}
        assert set(vservers) == {(f"{VIP}:80", "tcp"), (f"{VIP}:443", "tcp")}
        for (vip, _), pool in vservers.items():
            node_port = 30080 if vip.endswith(":80") else 30443
            assert {m["port"] for m in state["rservers"][pool]} == {node_port}
        for domain in state["objects"]["dns/domain"]:
            assert (domain["type"], domain["addresses"]) == ("A", [VIP])
        for host in sorted(PUBLISHED):
            assert await cluster.resolve(host) == (dns.rcode.NOERROR, [VIP]), host
        for host in NOT_PUBLISHED:
            assert await cluster.nxdomain(host), host
        assert await cluster.ready(bridge) == (200, "ready\n")

        selector = "involvedObject.kind=Ingress,involvedObject.name=legacy,reason=HostRejected"
        events: list[dict[str, Any]] = []

        async def evented() -> bool:
            listed = await cluster.kube_call("GET", "/api/v1/namespaces/web/events", params={"fieldSelector": selector})
            events[:] = listed["items"]
            return bool(events)

        await until(evented, what="a HostRejected Event on Ingress web/legacy")
        assert len(events) == 1
        assert "old_site.example.com" in events[0]["message"]
        assert events[0]["type"] == "Warning"
        assert [change for change in await cluster.adc_changes() if change["code"] != 0] == []
    assert bridge.process.returncode == 0


async def test_changes_through_the_api_server_reach_the_adc(cluster: Cluster) -> None:
    grace = {"ADCBRIDGE_NODES__DRAIN_GRACE_SECONDS": "1"}
    async with bridge_process(cluster.adc, cluster.kubeconfig, "bridge-1", **grace) as bridge:
        await converged(cluster, bridge)

        await cluster.create_ingress("blog", "web", "blog.example.com")
        took = await until(lambda: cluster.resolves("blog.example.com"), seconds=5, what="blog.example.com resolving")
        print(f"created Ingress resolved after {took:.2f} s")
        await cluster.delete_ingress("blog", "web")
        await until(lambda: cluster.nxdomain("blog.example.com"), seconds=5, what="blog.example.com gone")
        assert await cluster.domains() == PUBLISHED

        # node-c cordoned, node-b NotReady: both drain (members disabled), then leave.
        await cluster.kube_call("PATCH", "/api/v1/nodes/node-c", {"spec": {"unschedulable": True}}, headers=MERGE_PATCH)
        not_ready = {"status": {"conditions": [{"type": "Ready", "status": "False"}]}}
        await cluster.kube_call("PATCH", "/api/v1/nodes/node-b/status", not_ready, headers=MERGE_PATCH)
        node_a = {(NODE_IPS["node-a"], port): True for port in NODE_PORTS}
        draining = node_a | {(NODE_IPS[n], port): False for n in ("node-b", "node-c") for port in NODE_PORTS}

        async def drained() -> bool:
            return await cluster.members() == draining

        async def removed() -> bool:
            return await cluster.members() == node_a

        await until(drained, seconds=5, what="node-b and node-c members disabled")
        took = await until(removed, seconds=5, what="node-b and node-c members removed after the grace period")
        print(f"members removed {took:.2f} s after they were seen disabled")
        assert await cluster.domains() == PUBLISHED
        for host in ("shop.example.com", "vs.example.com"):
            assert await cluster.resolves(host)
    assert bridge.process.returncode == 0


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
async def test_kubectl_changes_reach_the_adc(cluster: Cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "docs.yaml"
    manifest.write_text(yaml.safe_dump(manifests.ingress("docs", "web", "docs.example.com")))

    async def kubectl(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(tmp_path / "kube-cache"), *args,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin:/usr/local/bin"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
        assert process.returncode == 0, out.decode()
        return out.decode()

    async with bridge_process(cluster.adc, cluster.kubeconfig, "bridge-1") as bridge:
        await converged(cluster, bridge)
        assert "created" in await kubectl("create", "-f", str(manifest))
        await until(lambda: cluster.resolves("docs.example.com"), seconds=5, what="docs.example.com resolving")
        await kubectl("delete", "ingress", "docs", "-n", "web")
        await until(lambda: cluster.nxdomain("docs.example.com"), seconds=5, what="docs.example.com gone")
        await kubectl("cordon", "node-a")

        async def node_a_disabled() -> bool:
            members = await cluster.members()
            return all(members.get((NODE_IPS["node-a"], port)) is False for port in NODE_PORTS)

        await until(node_a_disabled, seconds=5, what="node-a's members disabled after kubectl cordon")
    assert bridge.process.returncode == 0


async def test_two_bridges_one_leads_and_the_standby_takes_over(cluster: Cluster) -> None:
    async with (
        bridge_process(cluster.adc, cluster.kubeconfig, "bridge-1", **FAST_LEASE) as one,
        bridge_process(cluster.adc, cluster.kubeconfig, "bridge-2", **FAST_LEASE) as two,
    ):
        bridges = {"bridge-1": one, "bridge-2": two}

        async def one_leader() -> bool:
            holder = await cluster.lease_holder()
            if holder not in bridges:
                return False
            gauges = {name: await cluster.metric(b, "adcbridge_leader") for name, b in bridges.items()}
            standby = next(b for name, b in bridges.items() if name != holder)
            _, text = await cluster.ready(standby)
            return gauges == {name: float(name == holder) for name in bridges} and text.startswith("standby")

        await until(one_leader, what="exactly one leader, the other standing by")
        leader = bridges[await cluster.lease_holder()]
        survivor = two if leader is one else one
        assert await cluster.ready(survivor) == (200, f"standby (leader: {leader.identity})\n")
        await converged(cluster, leader)

        leader.process.kill()  # kill -9: no release, the survivor must wait the lease out
        await leader.process.wait()
        assert await leader.stop() == -signal.SIGKILL
        killed_at = time.monotonic()
        await cluster.create_ingress("after", "web", "after.example.com")
        await until(
            lambda: cluster.resolves("after.example.com"),
            seconds=3 + 2 * 1.1 + 3,
            what=f"{survivor.identity} taking over and publishing within the lease duration",
        )
        print(f"{survivor.identity} took over and published {time.monotonic() - killed_at:.2f} s after the kill")
        lease = await cluster.kube_call("GET", LEASE)
        assert (lease["spec"]["holderIdentity"], lease["spec"]["leaseTransitions"]) == (survivor.identity, 1)
        assert await cluster.metric(survivor, "adcbridge_leader") == 1.0
        assert await cluster.domains() == PUBLISHED | {"after.example.com"}

        assert await survivor.stop() == 0
        assert await cluster.lease_holder() == ""


async def test_an_api_outage_deletes_nothing_and_the_bridge_recovers(cluster: Cluster) -> None:
    quick = {"ADCBRIDGE_KUBE__MAX_BACKOFF_SECONDS": "1", "ADCBRIDGE_KUBE__REQUEST_TIMEOUT": "2"}
    async with bridge_process(cluster.adc, cluster.kubeconfig, "bridge-1", **quick) as bridge:
        await converged(cluster, bridge)
        before = await cluster.adc_changes()
        since = max(change["seq"] for change in before)

        outage = await cluster.http.put(cluster.kube.url + "/_fake/outage", json={"status": 503})
        assert outage.status_code == 200
        refused = await cluster.http.get(cluster.kube.url + "/api/v1/nodes")
        assert refused.status_code == 503
        assert (await cluster.http.delete(cluster.kube.url + "/_fake/requests")).status_code == 200

        async def unready_on_an_incomplete_view() -> bool:
            log = (await cluster.http.get(cluster.kube.url + "/_fake/requests")).json()["requests"]
            refused = any(request["status"] == 503 for request in log)  # the bridge did try again
            status, _ = await cluster.ready(bridge)
            return refused and status == 503 and await cluster.metric(bridge, "adcbridge_degraded") == 1.0

        await until(unready_on_an_incomplete_view, seconds=5, what="/readyz 503, refused retries, a degraded cycle")
        print("during the outage /readyz said:", (await cluster.ready(bridge))[1].strip())
        assert [c for c in await cluster.adc_changes(since) if c["method"] == "DELETE"] == []
        assert await cluster.domains() == PUBLISHED
        for host in ("shop.example.com", "legacy.example.com"):
            assert await cluster.resolves(host)

        # The API server answers again; the cluster changes before the bridge has caught up.
        ended = await cluster.http.delete(cluster.kube.url + "/_fake/outage")
        assert ended.status_code == 200
        await cluster.create_ingress("late", "shop", "late.example.com")
        await cluster.delete_ingress("shop", "shop")

        async def recovered() -> bool:
            return (await cluster.ready(bridge))[0] == 200

        await until(recovered, seconds=10, what="/readyz 200 after the outage")
        await until(lambda: cluster.resolves("late.example.com"), seconds=5, what="late.example.com resolving")
        await until(lambda: cluster.nxdomain("shop.example.com"), seconds=5, what="shop.example.com withdrawn")
        assert await cluster.domains() == PUBLISHED - {"shop.example.com"} | {"late.example.com"}
        deleted = {c["name"] for c in await cluster.adc_changes(since) if c["method"] == "DELETE"}
        assert deleted == {"shop.example.com"}
    assert bridge.process.returncode == 0


async def test_sigterm_stops_the_bridge_and_releases_the_lease(cluster: Cluster) -> None:
    async with bridge_process(cluster.adc, cluster.kubeconfig, "bridge-1") as bridge:
        await converged(cluster, bridge)

        async def holds_the_lease() -> bool:
            return await cluster.lease_holder() == "bridge-1"

        await until(holds_the_lease, what="bridge-1 holding the Lease")
        signalled = time.monotonic()
        bridge.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(bridge.process.wait(), STOP_SECONDS)
        print(f"stopped {time.monotonic() - signalled:.2f} s after SIGTERM")
        assert code == 0
        assert await cluster.lease_holder() == ""
        lease = await cluster.kube_call("GET", LEASE)
        assert lease["spec"]["leaseTransitions"] == 0
    assert "stopped by signal" in bridge.output()
    assert "lease: released" in bridge.output()
