"""The live harness shared by the end-to-end tests and the fault matrix: real processes on loopback.

The fake Kubernetes API server (``python -m mocks.kube``), the mock ADC (``python -m mocks.adc``)
and bridges (``python -m adcbridge run``, configured by environment variables). Between the
bridges and the mock ADC there may be a :class:`Relay`: a TCP relay on a port-0 address of its
own, so the appliance can be restarted (on a new port) or made unreachable while the bridges
keep the one URL they were started with.

The one verdict every fault-matrix test ends with is :func:`assert_settled`: the objects we own
on the ADC are exactly what the cluster asks for, the ADC holds nothing else but the foreign
objects seeded at the start and its own built-in ones, the foreign objects are unchanged to the
byte (uuids included: not deleted and re-created), nothing we own was deleted and re-created,
and a further resync writes nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import httpx

from mocks.kube import manifests
from tests import acos_matrix, bigip_matrix
from tests.conftest import PASSWORD, USERNAME
from tests.live import until
from tests.processes import (
    START_TIMEOUT,
    RunningKube,
    RunningMock,
    fake_kube_process,
    mock_acos_process,
    mock_adc_process,
    mock_bigip_process,
)
from tests.test_cli import DEMO_SNAPSHOT, bridge_env

VIP = "192.0.2.10"
PUBLISHED = frozenset(
    {
        "api.example.com",
        "secure.example.com",
        "shop.example.com",
        "static.example.com",
        "pay.example.com",
        "vs.example.com",
        "legacy.example.com",
    }
)
NOT_PUBLISHED = ("intranet.example.com", "old_site.example.com")
NODE_IPS = {"node-a": "10.0.0.11", "node-b": "10.0.0.12", "node-c": "10.0.0.13"}
NODE_PORTS = (30080, 30443)
KIC_PORTS = {80: 30080, 443: 30443}
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
OWNER = "e2e"
OTHER_MARKER = "managed-by=adcbridge;owner=other-cluster"


# ---------------------------------------------------------------------------- the bridge process


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

    async def stop(self, signum: int = 15) -> int:
        """Signal the process (SIGTERM by default) and wait for it and its output; its exit code."""
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
async def bridge_process(
    adc_url: str,
    kubeconfig: Path,
    identity: str,
    *,
    owner: str = OWNER,
    canaries: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Bridge]:
    """``adcbridge run`` against the ADC at ``adc_url`` and the API server of ``kubeconfig``;
    stopped with SIGTERM (then SIGKILL) when the block ends, its output checked for the password
    (and for every other secret in ``canaries``). ``env``: more variables."""
    defaults = {"ADCBRIDGE_RECONCILE__BATCH_WINDOW_SECONDS": "0.05", "ADCBRIDGE_ADC__OPERATION_DEADLINE": "10"}
    variables = bridge_env(
        adc_url,
        ADCBRIDGE_OWNER_ID=owner,
        ADCBRIDGE_KUBE__KUBECONFIG=str(kubeconfig),
        ADCBRIDGE_LEADER__IDENTITY=identity,
        **(defaults | dict(env or {})),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "adcbridge", "run", env=variables,
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
        for secret in (PASSWORD, *canaries):
            assert secret not in bridge.output()


# ---------------------------------------------------------------------------- the relay


class Relay:
    """A TCP relay on 127.0.0.1:0 in front of the mock ADC.

    The bridges are given the relay's URL, which never changes: :meth:`point_to` moves it to an
    appliance restarted on a new port (as a management address moves to the other unit), and
    :meth:`cut` makes the appliance unreachable (open connections reset, new ones reset at once).
    """

    def __init__(self, scheme: str = "http") -> None:
        self.target: tuple[str, int] | None = None
        self.port = 0
        self.scheme = scheme  # TLS passes through the relay untouched
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def point_to(self, url: str) -> None:
        host, _, port = url.partition("://")[2].rpartition(":")
        self.target = (host, int(port))

    def cut(self) -> None:
        self.target = None
        for writer in list(self._writers):
            writer.transport.abort()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        try:
            await self._link(reader, writer)
        finally:
            self._links.discard(task)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.target is None:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            for end in (writer, up_writer):
                end.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


# ---------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    """The fake API server (with a plain HTTP client, as kubectl talks to it) and the mock ADC
    (with an administrator's session for hand-made changes, as an operator makes them)."""

    kube: RunningKube
    kubeconfig: Path
    adc: RunningMock
    http: httpx.AsyncClient
    relay: Relay | None = None
    admin_password: str = PASSWORD
    admin_token: str = ""
    dialect: str = "reference"

    @property
    def dialect_env(self) -> dict[str, str]:
        """What a bridge needs besides the usual settings to speak this cluster's appliance."""
        return {"bigip": bigip_matrix.ENV, "acos": acos_matrix.ENV}.get(self.dialect, {})

    @property
    def adc_url(self) -> str:
        """What the bridges are given: the relay when there is one."""
        return self.relay.url if self.relay is not None else self.adc.url

    async def kube_call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        content = None if body is None else json.dumps(body)
        headers = kwargs.pop("headers", {"Content-Type": "application/json"})
        response = await self.http.request(method, self.kube.url + path, content=content, headers=headers, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def fake(self, method: str, path: str, body: Any = None) -> Any:
        """A ``/_fake/`` control of the API server."""
        response = await self.http.request(method, self.kube.url + "/_fake/" + path, json=body)
        assert response.is_success, f"{method} /_fake/{path}: {response.status_code} {response.text}"
        return response.json()

    async def mock(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """A ``/_mock/`` control of the ADC; its ``data``."""
        response = await self.http.request(method, self.adc.url + "/_mock/" + path, json=body, params=params)
        assert response.is_success, f"{method} /_mock/{path}: {response.status_code} {response.text}"
        return response.json()["data"] if self.dialect == "reference" else response.json()

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        """An administrator's call to ``/adc/v3.0`` (logged in on first use and after a 401); on a
        BIG-IP, to ``/mgmt/<path>`` with Basic authentication."""
        if self.dialect == "bigip":
            auth = httpx.BasicAuth(USERNAME, self.admin_password)
            response = await self.http.request(method, f"{self.adc.url}/mgmt/{path}", json=body, auth=auth)
            assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
            return response.json() if response.content else None
        for _ in range(2):
            if not self.admin_token:
                login = {"username": USERNAME, "password": self.admin_password}
                answer = await self.http.post(self.adc.url + "/adc/v3.0/login", json=login)
                self.admin_token = answer.json()["data"]["token"]
            response = await self.http.request(
                method, f"{self.adc.url}/adc/v3.0/{path}", json=body, headers={"x-access-token": self.admin_token}
            )
            if response.status_code != 401:
                envelope = response.json()
                assert envelope["res"]["code"] == 0, f"{method} {path}: {envelope['res']}"
                return envelope["data"]
            self.admin_token = ""
        raise AssertionError(f"{method} {path}: the administrator cannot log in")

    async def adc_state(self) -> dict[str, Any]:
        data: dict[str, Any] = await self.mock("GET", "state")
        return data

    async def adc_changes(self, since: int = 0) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = (await self.mock("GET", "changes", since=since))["changes"]
        return changes

    async def ltm(self) -> tuple[set[str], dict[tuple[str, str], str], dict[str, set[int]]]:
        """The node addresses; virtual servers as (``<vip>:<port>``, protocol) -> pool; each pool's
        member ports (on a BIG-IP, of our partition)."""
        state = await self.adc_state()
        if self.dialect == "bigip":
            return bigip_matrix.ltm(state)
        return (
            {node["ip"] for node in state["objects"]["slb/node"]},
            {(v["vip"], v["protocol"]): v["pool"] for v in state["objects"]["slb/vserver"]},
            {pool: {m["port"] for m in members} for pool, members in state["rservers"].items()},
        )

    def succeeded(self, change: dict[str, Any]) -> bool:
        """Whether a write of ``/_mock/changes`` went through."""
        if self.dialect == "acos":
            return acos_matrix.succeeded(change)
        return bigip_matrix.succeeded(change) if self.dialect == "bigip" else change["code"] == 0

    async def last_change(self) -> int:
        return max((change["seq"] for change in await self.adc_changes()), default=0)

    async def domains(self) -> set[str]:
        """The names the appliance publishes: its domains, or on a BIG-IP our partition's wide IPs."""
        state = await self.adc_state()
        if self.dialect == "bigip":
            return bigip_matrix.wideips(state)
        return {domain["name"] for domain in state["objects"]["dns/domain"]}

    async def members(self) -> dict[tuple[str, int], bool]:
        """Pool members as (node address, port) -> enabled."""
        state = await self.adc_state()
        if self.dialect == "bigip":
            return bigip_matrix.members(state)
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

    async def lease_holder(self, lease: str = LEASE) -> str:
        response = await self.http.get(self.kube.url + lease)
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

    async def metric_sum(self, bridge: Bridge, name: str, **labels: str) -> float:
        """The sum of every sample of ``name`` whose labels include ``labels`` (0 when none)."""
        text = (await self.http.get(bridge.url + "/metrics")).text
        total = 0.0
        for match in re.finditer(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", text, re.MULTILINE):
            found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
            if all(found.get(key) == value for key, value in labels.items()):
                total += float(match.group(2))
        return total

    async def cycles(self, bridge: Bridge) -> float:
        """How many reconcile cycles ``bridge`` has finished, whatever their result."""
        return await self.metric_sum(bridge, "adcbridge_reconcile_duration_seconds_count")

    async def converged_cycles(self, bridge: Bridge) -> float:
        """How many of them ended with the ADC holding exactly what the cluster asks for."""
        return await self.metric_sum(bridge, "adcbridge_reconcile_duration_seconds_count", result="converged")

    async def adc_requests(self) -> dict[str, int]:
        """API requests the running ADC unit has received since it started, by method."""
        requests: dict[str, int] = (await self.mock("GET", "stats"))["requests"]
        return requests

    async def create_ingress(self, name: str, namespace: str, host: str) -> None:
        await self.kube_call("POST", INGRESSES.format(namespace=namespace), manifests.ingress(name, namespace, host))

    async def delete_ingress(self, name: str, namespace: str) -> None:
        await self.kube_call("DELETE", f"{INGRESSES.format(namespace=namespace)}/{name}")


@asynccontextmanager
async def running_cluster(
    tmp_path: Path, *adc_args: str, seed: Path = DEMO_SNAPSHOT, relay: bool = False, dialect: str = "reference"
) -> AsyncIterator[Cluster]:
    """The fake API server seeded with ``seed``, the appliance of ``dialect`` (the mock ADC or the
    BIG-IP emulator, ``adc_args`` added) and, with ``relay``, a relay in front of it for the bridges."""
    kubeconfig = tmp_path / f"kubeconfig-{seed.name}"
    async with AsyncExitStack() as stack:
        kube = await stack.enter_async_context(
            fake_kube_process("--seed", str(seed), "--kubeconfig-out", str(kubeconfig))
        )
        adc = await stack.enter_async_context(appliance_process(dialect, *adc_args))
        # The BIG-IP emulator's certificate is self-signed and made at start: loopback only, not checked.
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=5, verify=dialect == "reference"))
        cluster = Cluster(kube, kubeconfig, adc, http, dialect=dialect)
        if relay:
            cluster.relay = Relay(adc.url.partition("://")[0])
            stack.push_async_callback(cluster.relay.close)
            await cluster.relay.start()
            cluster.relay.point_to(adc.url)
        yield cluster


def appliance_process(dialect: str, *args: str) -> Any:
    """The emulator of ``dialect`` as a process, with the usual credentials."""
    start = {"bigip": mock_bigip_process, "acos": mock_acos_process}.get(dialect, mock_adc_process)
    return start("--username", USERNAME, "--password", PASSWORD, *args)


async def converged(cluster: Cluster, bridge: Bridge) -> None:
    async def done() -> bool:
        return await cluster.domains() == PUBLISHED and (await cluster.ready(bridge))[0] == 200

    await until(done, what="the demo cluster published and the bridge ready")


# ---------------------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class Expected:
    """What one owner's cluster asks of the ADC, written out independently of the bridge's code
    (the documented naming: ``k8s-<owner>-<node>``, ``k8s-<owner>-<port>-tcp``,
    ``k8s-<owner>-<vip>-<port>-tcp``; the hosts themselves for domains)."""

    hosts: frozenset[str] = PUBLISHED
    nodes: tuple[tuple[str, str], ...] = tuple(NODE_IPS.items())  # (cluster node name, InternalIP)
    owner: str = OWNER
    vip: str = VIP
    ports: tuple[tuple[int, int], ...] = tuple(KIC_PORTS.items())  # (service port, nodePort)

    def objects(self) -> dict[str, dict[Any, Any]]:
        name = f"k8s-{self.owner}"
        pools = {f"{name}-{port}-tcp": node_port for port, node_port in self.ports}
        return {
            "slb/node": {f"{name}-{node}": (ip, True) for node, ip in self.nodes},
            "slb/pool": dict.fromkeys(pools, ("rr", (), True)),
            "rserver": {
                (pool, f"{name}-{node}", node_port): (1, True)
                for pool, node_port in pools.items()
                for node, _ in self.nodes
            },
            "slb/vserver": {
                f"{name}-{self.vip}-{port}-tcp": (f"{self.vip}:{port}", "tcp", f"{name}-{port}-tcp", True)
                for port, _ in self.ports
            },
            "dns/domain": dict.fromkeys(self.hosts, ("A", (self.vip,), 300, True)),
        }


def owned_objects(state: dict[str, Any], owner: str) -> dict[str, dict[Any, Any]]:
    """The objects of ``state`` (``/_mock/state``) carrying ``owner``'s marker, members of its pools
    included, in the shape of :meth:`Expected.objects`."""
    marker = f"managed-by=adcbridge;owner={owner}"
    objects = state["objects"]

    def ours(kind: str) -> list[dict[str, Any]]:
        return [item for item in objects[kind] if item["description"] == marker]

    pools = {pool["name"] for pool in ours("slb/pool")}
    return {
        "slb/node": {n["name"]: (n["ip"], n["enable"]) for n in ours("slb/node")},
        "slb/pool": {p["name"]: (p["method"], tuple(p["healthcheck"]), p["enable"]) for p in ours("slb/pool")},
        "rserver": {
            (pool, m["node"], m["port"]): (m["weight"], m["enable"])
            for pool in pools
            for m in state["rservers"].get(pool, [])
        },
        "slb/vserver": {v["name"]: (v["vip"], v["protocol"], v["pool"], v["enable"]) for v in ours("slb/vserver")},
        "dns/domain": {
            d["name"]: (d["type"], tuple(d["addresses"]), d["ttl"], d["enable"]) for d in ours("dns/domain")
        },
    }


@dataclass(frozen=True)
class Foreign:
    """Objects seeded on the ADC before any bridge ran: another cluster's (another owner's marker),
    an operator's (no marker) and a look-alike (our name prefix, a different owner)."""

    nodes: tuple[str, ...] = ("other-node", "legacy-node", "k8s-e2e-lookalike")
    pools: tuple[str, ...] = ("other-pool", "legacy-pool")
    members: tuple[str, ...] = (
        "other-pool/other-node:8080",
        "legacy-pool/legacy-node:80",
        "legacy-pool/k8s-e2e-lookalike:80",
    )
    vservers: tuple[str, ...] = ("other-vs", "legacy-vs")
    domains: tuple[str, ...] = ("other.example.net", "legacy.example.net", "www.example.com")

    def names(self) -> dict[str, tuple[str, ...]]:
        return {
            "slb/node": self.nodes,
            "slb/pool": self.pools,
            "slb/vserver": self.vservers,
            "dns/domain": self.domains,
        }

    def pick(self, state: dict[str, Any]) -> str:
        """The foreign objects of ``state`` (members of foreign pools included), as canonical JSON."""
        picked = {
            kind: [item for item in state["objects"][kind] if item["name"] in names]
            for kind, names in self.names().items()
        }
        picked["rservers"] = [state["rservers"].get(pool) for pool in self.pools]
        return json.dumps(picked, sort_keys=True)


FOREIGN = Foreign()
MEMBERS = "slb/pool/rserver"  # members by "pool/node:port", as /_mock/changes names them
# What an appliance holds by itself, from the factory on: neither ours nor seeded, and never a
# bridge's doing. The mock ADC's are its three built-in health checks; another appliance adds
# its own list here (the kinds are those of /_mock/state).
BUILT_IN: dict[str, frozenset[str]] = {"slb/healthcheck": frozenset({"tcp", "http", "icmp"})}


def all_names(state: dict[str, Any]) -> dict[str, set[str]]:
    """The name of every object of ``state`` (``/_mock/state``), by kind, members included."""
    names = {kind: {item["name"] for item in items} for kind, items in state["objects"].items()}
    rservers = state["rservers"].items()
    names[MEMBERS] = {f"{pool}/{m['node']}:{m['port']}" for pool, members in rservers for m in members}
    return names


def expected_names(
    expected: list[Expected], *, foreign: Foreign = FOREIGN, built_in: Mapping[str, frozenset[str]] = BUILT_IN
) -> dict[str, set[str]]:
    """Every name the ADC may hold: each owner's objects, the seeded foreign ones, the built-in ones."""
    names: dict[str, set[str]] = {kind: set(items) for kind, items in built_in.items()}
    for kind, items in foreign.names().items():
        names.setdefault(kind, set()).update(items)
    names.setdefault(MEMBERS, set()).update(foreign.members)
    for want in expected:
        for kind, objects in want.objects().items():
            if kind == "rserver":
                names[MEMBERS].update(f"{pool}/{node}:{port}" for pool, node, port in objects)
            else:
                names.setdefault(kind, set()).update(objects)
    return names


def stray_names(
    state: dict[str, Any], expected: list[Expected], *, built_in: Mapping[str, frozenset[str]] = BUILT_IN
) -> dict[str, list[str]]:
    """Per kind, the names the ADC holds beyond :func:`expected_names` (``+name``) and those it
    lacks (``-name``); empty when it holds exactly those."""
    return differences(all_names(state), expected_names(expected, built_in=built_in))


def differences(held: dict[str, set[str]], wanted: dict[str, set[str]]) -> dict[str, list[str]]:
    """Per kind, the names held beyond those wanted (``+name``) and those lacking (``-name``)."""
    found = {}
    for kind in sorted(held.keys() | wanted.keys()):
        extra, missing = (
            held.get(kind, set()) - wanted.get(kind, set()),
            wanted.get(kind, set()) - held.get(kind, set()),
        )
        if extra or missing:
            found[kind] = [f"+{name}" for name in sorted(extra)] + [f"-{name}" for name in sorted(missing)]
    return found


async def seed_foreign(cluster: Cluster) -> str:
    """Create the :class:`Foreign` objects (on a BIG-IP, ``bigip_matrix.FOREIGN_SEED``: our partition
    among them); their canonical JSON, to compare with at the end."""
    if cluster.dialect == "bigip":
        await cluster.mock("POST", "seed", {"requests": bigip_matrix.FOREIGN_SEED})
        return bigip_matrix.pick_foreign(await cluster.adc_state())
    if cluster.dialect == "acos":
        await cluster.mock("POST", "seed", {"requests": acos_matrix.FOREIGN_SEED})
        return acos_matrix.pick_foreign(await cluster.adc_state())
    add = cluster.admin
    await add("POST", "slb/node", {"name": "other-node", "ip": "10.9.9.1", "description": OTHER_MARKER})
    await add("POST", "slb/node", {"name": "legacy-node", "ip": "10.9.9.2"})
    lookalike = {"name": "k8s-e2e-lookalike", "ip": "10.9.9.3", "description": "managed-by=adcbridge;owner=e2e-x"}
    await add("POST", "slb/node", lookalike)
    await add("POST", "slb/pool", {"name": "other-pool", "description": OTHER_MARKER})
    await add("POST", "slb/pool/other-pool/rserver", {"node": "other-node", "port": 8080})
    await add("POST", "slb/pool", {"name": "legacy-pool", "method": "lc"})
    await add("POST", "slb/pool/legacy-pool/rserver", {"node": "legacy-node", "port": 80, "weight": 5})
    await add("POST", "slb/pool/legacy-pool/rserver", {"node": "k8s-e2e-lookalike", "port": 80})
    other_vs = {"name": "other-vs", "vip": "192.0.2.99:80", "protocol": "tcp", "pool": "other-pool"}
    await add("POST", "slb/vserver", other_vs | {"description": OTHER_MARKER})
    await add(
        "POST", "slb/vserver", {"name": "legacy-vs", "vip": "192.0.2.98:443", "protocol": "tcp", "pool": "legacy-pool"}
    )
    domain = {"type": "A", "addresses": ["192.0.2.99"]}
    await add("POST", "dns/domain", domain | {"name": "other.example.net", "description": OTHER_MARKER})
    await add("POST", "dns/domain", domain | {"name": "legacy.example.net", "enable": False})
    # A name that sits among ours but is an operator's: never ours to delete.
    await add("POST", "dns/domain", domain | {"name": "www.example.com", "ttl": 60})
    return FOREIGN.pick(await cluster.adc_state())


def recreated(changes: list[dict[str, Any]]) -> list[str]:
    """Objects deleted and then created again (both successfully) within ``changes``."""
    deleted: set[tuple[str, str]] = set()
    churned = []
    for change in changes:
        key = (change["kind"], change["name"])
        if change["code"] != 0:
            continue
        if change["method"] == "DELETE":
            deleted.add(key)
        elif change["method"] == "POST" and key in deleted:
            churned.append(f"{key[0]} {key[1]}")
    return churned


async def assert_settled(
    cluster: Cluster,
    *,
    expected: list[Expected],
    foreign: str,
    bridges: list[Bridge],
    since: int = 0,
    seconds: float = 15.0,
    resync: bool = True,
    built_in: Mapping[str, frozenset[str]] = BUILT_IN,
) -> None:
    """The end of every fault-matrix test.

    1. Within ``seconds``, the objects each owner holds on the ADC are exactly ``expected``,
       the ADC holds no object beyond those, the seeded foreign ones and its built-in ones
       (:data:`BUILT_IN`) — so an object the bridge made without its marker is seen too — and
       every bridge in ``bridges`` (the leaders) answers ``/readyz`` 200.
    2. The foreign objects are byte-for-byte what :func:`seed_foreign` returned (uuids included).
    3. No object was deleted and then created again in the changes after ``since``.
    4. Nothing churns: while every bridge finishes at least one more whole cycle (a resync),
       the ADC sees zero writes. (``resync=False`` skips this: for a baseline before the fault.)
    """

    reader = Reader(cluster.dialect, expected, built_in)

    async def matches() -> bool:
        state = await cluster.adc_state()
        same = all(reader.owned(state, want) == reader.wanted(want) for want in expected)
        same = same and not reader.strays(state)
        return same and [(await cluster.ready(bridge))[0] for bridge in bridges] == [200] * len(bridges)

    try:
        await until(matches, seconds=seconds, what="the ADC holding exactly the desired state, bridges ready")
    except AssertionError:
        state = await cluster.adc_state()
        for want in expected:
            assert reader.owned(state, want) == reader.wanted(want), f"owner {want.owner}"
        assert reader.strays(state) == {}, "objects beyond ours, the foreign, the built-in"
        raise
    state = await cluster.adc_state()
    assert reader.foreign(state) == foreign, "foreign objects changed"
    assert reader.recreated(await cluster.adc_changes(since)) == [], "objects deleted and re-created"

    if not resync:
        return
    mark = await cluster.last_change()
    counts = [await cluster.cycles(bridge) for bridge in bridges]

    async def resynced() -> bool:
        now = [await cluster.cycles(bridge) for bridge in bridges]
        return all(done >= count + 2 for done, count in zip(now, counts, strict=True))

    await until(resynced, seconds=30, what="one more whole cycle of every bridge")
    assert await cluster.adc_changes(mark) == [], "writes after convergence: churn"
    state = await cluster.adc_state()
    assert reader.foreign(state) == foreign
    assert reader.strays(state) == {}


async def holds(cluster: Cluster, expected: Expected) -> bool:
    """Whether the appliance holds what ``expected``'s owner asks for (its objects only: a check to
    poll, not the verdict)."""
    reader = Reader(cluster.dialect, [expected], BUILT_IN)
    return reader.owned(await cluster.adc_state(), expected) == reader.wanted(expected)


@dataclass(frozen=True)
class Reader:
    """The verdict's view of one dialect's appliance: the reference's readers above, or a BIG-IP's
    (``tests/bigip_matrix.py``); each reads the emulator's native objects."""

    dialect: str
    expected: list[Expected]
    built_in: Mapping[str, frozenset[str]]

    def owned(self, state: dict[str, Any], want: Expected) -> dict[str, dict[Any, Any]]:
        if self.dialect == "acos":
            return acos_matrix.owned_objects(state, want.owner)
        if self.dialect == "bigip":
            return bigip_matrix.owned_objects(state, want.owner)
        return owned_objects(state, want.owner)

    def wanted(self, want: Expected) -> dict[str, dict[Any, Any]]:
        if self.dialect == "acos":
            return acos_matrix.expected(want.owner, want.nodes, want.vip, want.ports)
        if self.dialect == "bigip":
            return bigip_matrix.expected(want.owner, want.nodes, want.vip, want.ports)
        return want.objects()

    def strays(self, state: dict[str, Any]) -> dict[str, list[str]]:
        if self.dialect == "reference":
            return stray_names(state, self.expected, built_in=self.built_in)
        if self.dialect == "acos":
            wanted = acos_matrix.expected_names([self.wanted(want) for want in self.expected], state)
            return differences(acos_matrix.all_names(state), wanted)
        wanted = bigip_matrix.expected_names([self.wanted(want) for want in self.expected])
        return differences(bigip_matrix.all_names(state), wanted)

    def foreign(self, state: dict[str, Any]) -> str:
        if self.dialect == "acos":
            return acos_matrix.pick_foreign(state)
        return bigip_matrix.pick_foreign(state) if self.dialect == "bigip" else FOREIGN.pick(state)

    def recreated(self, changes: list[dict[str, Any]]) -> list[str]:
        if self.dialect == "acos":
            return acos_matrix.recreated(changes)
        return bigip_matrix.recreated(changes) if self.dialect == "bigip" else recreated(changes)
