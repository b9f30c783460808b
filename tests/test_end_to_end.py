"""End to end: three real processes on loopback, as in production but for the two emulators.

The harness (processes, clients, helpers) lives in ``tests/matrix.py``, shared with the fault
matrix. The fake Kubernetes API server (``python -m mocks.kube``, seeded with ``config/demo``), the
mock ADC (``python -m mocks.adc``, with its DNS responder; for the tests run per dialect, also the
BIG-IP emulator ``python -m mocks.bigip`` with its DNS listener) and the bridge (``python -m
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
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dns.rcode
import pytest
import yaml

from mocks.kube import manifests
from tests import bigip_matrix
from tests.bigip_fixtures import GTM_SERVER, PREPARED
from tests.kubectl import run_kubectl
from tests.live import until
from tests.matrix import (
    FAST_LEASE,
    LEASE,
    MERGE_PATCH,
    NODE_IPS,
    NODE_PORTS,
    NOT_PUBLISHED,
    PUBLISHED,
    STOP_SECONDS,
    VIP,
    Cluster,
    bridge_process,
    converged,
    running_cluster,
)
from tests.processes import START_TIMEOUT

# The tests whose ADC side differs run for each dialect: the reference mock ADC, and the BIG-IP
# emulator publishing names on BIG-IP DNS, set up first as an operator sets up a unit (the bridge's
# partition; in ``Common`` the GTM datacenter and the server standing for the unit), so that hosts
# become wide IPs its DNS listener answers. The unit is read with the tests' own reader of its native
# objects (``tests/bigip_matrix.py``). Leader handover, an API outage and SIGTERM are the Kubernetes
# side and the process: the reference only (the fault matrix runs the ADC side of such faults per dialect).
DIALECTS = pytest.mark.parametrize("cluster", ["reference", "bigip"], indirect=True)


@pytest.fixture
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    dialect = getattr(request, "param", "reference")
    async with running_cluster(tmp_path, dialect=dialect) as started:
        if dialect == "bigip":
            await started.mock("POST", "seed", {"requests": PREPARED})
        yield started


def dialect_env(cluster: Cluster) -> dict[str, str]:
    """What a bridge needs besides the usual settings: on a BIG-IP, its partition and BIG-IP DNS."""
    if cluster.dialect == "reference":
        return {}
    assert cluster.adc.dns is not None
    host, port = cluster.adc.dns
    return bigip_matrix.ENV | {
        "ADCBRIDGE_ADC__GTM_SERVER": GTM_SERVER,
        "ADCBRIDGE_DNS__TARGETS": '["adc"]',
        "ADCBRIDGE_DNS__VERIFY_SERVERS": json.dumps([f"{host}:{port}"]),
    }


def ready_text(cluster: Cluster) -> str:
    """What ``/readyz`` says when ready: a BIG-IP bridge names the unit it writes to."""
    return "ready\n" if cluster.dialect == "reference" else f"ready (ADC active unit {cluster.adc.url})\n"


# ---------------------------------------------------------------------------- the tests


@DIALECTS
async def test_the_demo_cluster_converges(cluster: Cluster) -> None:
    async with bridge_process(cluster.adc.url, cluster.kubeconfig, "bridge-1", env=dialect_env(cluster)) as bridge:
        await converged(cluster, bridge)
        expected_members = {(ip, port): True for ip in NODE_IPS.values() for port in NODE_PORTS}
        assert await cluster.members() == expected_members
        nodes, vservers, member_ports = await cluster.ltm()
        assert nodes == set(NODE_IPS.values())
        assert set(vservers) == {(f"{VIP}:80", "tcp"), (f"{VIP}:443", "tcp")}
        for (vip, _), pool in vservers.items():
            node_port = 30080 if vip.endswith(":80") else 30443
            assert member_ports[pool] == {node_port}
        if cluster.dialect == "reference":  # a BIG-IP's wide IPs hold no addresses: its DNS answers show them
            for domain in (await cluster.adc_state())["objects"]["dns/domain"]:
                assert (domain["type"], domain["addresses"]) == ("A", [VIP])
        for host in sorted(PUBLISHED):
            assert await cluster.resolve(host) == (dns.rcode.NOERROR, [VIP]), host
        for host in NOT_PUBLISHED:
            assert await cluster.nxdomain(host), host
        assert await cluster.ready(bridge) == (200, ready_text(cluster))

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
        assert [change for change in await cluster.adc_changes() if not cluster.succeeded(change)] == []
    assert bridge.process.returncode == 0


@DIALECTS
async def test_changes_through_the_api_server_reach_the_adc(cluster: Cluster) -> None:
    grace = dialect_env(cluster) | {"ADCBRIDGE_NODES__DRAIN_GRACE_SECONDS": "1"}
    async with bridge_process(cluster.adc.url, cluster.kubeconfig, "bridge-1", env=grace) as bridge:
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


@DIALECTS
async def test_kubectl_changes_reach_the_adc(cluster: Cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "docs.yaml"
    manifest.write_text(yaml.safe_dump(manifests.ingress("docs", "web", "docs.example.com")))

    async def kubectl(*args: str) -> str:
        code, text = await run_kubectl(cluster.kubeconfig, *args, home=tmp_path, seconds=START_TIMEOUT)
        assert code == 0, text
        return text

    async with bridge_process(cluster.adc.url, cluster.kubeconfig, "bridge-1", env=dialect_env(cluster)) as bridge:
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
        bridge_process(cluster.adc.url, cluster.kubeconfig, "bridge-1", env=FAST_LEASE) as one,
        bridge_process(cluster.adc.url, cluster.kubeconfig, "bridge-2", env=FAST_LEASE) as two,
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
    async with bridge_process(cluster.adc.url, cluster.kubeconfig, "bridge-1", env=quick) as bridge:
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
    async with bridge_process(cluster.adc.url, cluster.kubeconfig, "bridge-1") as bridge:
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
