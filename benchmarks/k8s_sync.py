"""The live Kubernetes side end to end: cold start from a big cluster, then Ingress-to-domain latency.

Three real processes on loopback: the fake Kubernetes API server (``python -m mocks.kube``)
seeded with 10,000 Ingresses of class ``njet`` (one host each, over 50 namespaces), 500 Ready
nodes, the KIC Service (NodePort 80->30080, 443->30443) and its IngressClass; the mock ADC
(``python -m mocks.adc``, its DNS responder on for the resolution check) with a ``latency`` fault
rule of 5 ms on every API request, as in ``engine_sync.py``; and the bridge itself, ``python -m
adcbridge run`` configured by environment variables only (leader election on, batch window 0.2 s:
the defaults). The mocks and this harness share one CPU, the bridge has the other to itself.

1. Cold start, ``--rounds`` times on fresh processes: the clock starts when ``adcbridge run`` is
   spawned and stops when the mock ADC's change log holds every object the cluster asks for
   (nodes, pools, members, virtual servers, one domain per host) and the configuration save that
   follows; every write must have succeeded and ``/_mock/state`` must then count exactly those
   objects. The bridge's own log (JSON lines at DEBUG, with millisecond timestamps) and the change
   log's timestamps split that time into start-up, listing the cluster, the first cycle's
   thinking (snapshot, desired state, observing the empty ADC, plan) and the ADC writes; each
   process's CPU, sampled from /proc every 50 ms, is split the same way, which tells whose time
   a phase is (listing, for one, is mostly the fake API server's).
2. Peak RSS of the bridge: ``VmHWM`` from /proc, after the cold sync and at the end.
3. Latency, in the last round after the cold sync: ``--changes`` Ingresses created one every
   ``--interval`` seconds (0.5; a new host each); for each, from the moment the API server's 201
   reached this harness to the moment the mock ADC recorded the new domain (the change log's own
   timestamp; same host, same clock), found by polling the change log every 10 ms. A create is
   never made before the previous change's cycle has saved the configuration. ADC requests per
   change come from the mock's counters (``/_mock/stats``).

The script exits 1 if a sync does not complete, a count is wrong or a write failed, in every run; in
a full run also when a target is missed, which ``--no-enforce`` only reports. The targets
(``Goals``) are those of the 10,000-host scale up to 10,000 hosts (first complete sync under 15 s,
p99 under 0.25 s, peak RSS under 200 MiB) and of the 50,000-host scale above (60 s, 0.40 s,
450 MiB); at both, a change costs at most 3 ADC requests (median). The bridge's resolution check
(``dns.verify``) is on unless ``--no-dns-verify``; the settings line says which.

Usage: ``.venv/bin/python benchmarks/k8s_sync.py [--hosts 10000] [--nodes 500] [--changes 100]
[--interval 0.5] [--rounds 3] [--latency-ms 5] [--namespaces 50] [--no-dns-verify] [--profile PREFIX]
[--smoke] [--no-enforce]``; ``--smoke`` (300 Ingresses, 5 nodes, 3 changes, one round, counts only) is what
``make test`` runs. ``--profile`` records the bridge with py-spy
(not a dependency: ``.venv/bin/pip install py-spy``) during the last round's cold start and changes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from measuring import (
    PASSWORD,
    USERNAME,
    Child,
    MockAdc,
    Timing,
    argument_parser,
    expect_count,
    first_line,
    machine_busy_seconds,
    mock_adc,
    node_ip,
    parse_arguments,
    pin_cpus,
    print_settings,
    report_checks,
    report_other_cpu,
    spawn,
)

from mocks.kube import manifests

OWNER_ID = "bench"
VIP = "192.0.2.10"
PORTS = (("http", 80, 30080), ("https", 443, 30443))
DOMAIN = "bench.example.com"
OBJECT_KINDS = ("slb/node", "slb/pool", "slb/pool/rserver", "slb/vserver", "dns/domain")
SAVE_KIND = "system/config"
START_TIMEOUT = 300.0  # seeding 10,000 objects into the fake API server takes a while
SYNC_TIMEOUT = 600.0  # --sync-timeout's default; a smoke run gives up sooner
CHANGE_TIMEOUT = 30.0
POLL_SECONDS = 0.01
SAMPLE_FINELY_S = 8.0  # the cold start's first seconds: start-up, listing and the first cycle's thinking
INTERVAL_S = 0.5  # --interval: one create every half second, as the goals are stated


@dataclass(frozen=True)
class Goals:
    """The targets of one scale: a full run exits 1 when one is missed (``--no-enforce`` reports them)."""

    cold_sync_s: float  # process start to converged, median of the rounds
    p99_s: float  # Ingress created to domain recorded by the ADC
    rss_mib: float  # the bridge's peak RSS at the end of the last round
    requests_per_change: float = 3.0  # median ADC requests per single-host change: the write and the save


GOALS_10K = Goals(cold_sync_s=15.0, p99_s=0.25, rss_mib=200.0)  # up to 10,000 hosts / 500 nodes
GOALS_50K = Goals(cold_sync_s=60.0, p99_s=0.40, rss_mib=450.0)  # above: 50,000 hosts / 2,000 nodes


def goals_for(hosts: int) -> Goals:
    """The 10,000-host goals for any smaller cluster too; the 50,000-host ones above 10,000."""
    return GOALS_10K if hosts <= 10_000 else GOALS_50K


SMOKE = {
    "hosts": 300,
    "nodes": 5,
    "namespaces": 5,
    "changes": 3,
    "interval": 0.05,
    "rounds": 1,
    "latency_ms": 1,
    "sync_timeout": 60.0,
}  # --smoke


# ---------------------------------------------------------------------------- the cluster


def team(index: int, namespaces: int) -> str:
    return f"team-{index % namespaces:02d}"


def ingress(name: str, ns: str, host: str) -> manifests.Obj:
    """An Ingress of class ``njet`` for one host, labelled ``app: <name>``."""
    return manifests.ingress(name, ns, host, labels={"app": name})


def host_name(index: int) -> str:
    return f"app-{index:05d}.{DOMAIN}"


def write_seed(directory: Path, args: argparse.Namespace) -> None:
    """One JSON ``List`` (namespaces first: the fake loads them first anyway)."""
    items = [
        manifests.namespace(manifests.KIC_NAMESPACE),
        *(manifests.namespace(team(i, args.namespaces)) for i in range(args.namespaces)),
        manifests.service(ports=PORTS),
        manifests.ingress_class(),
        *(manifests.node(f"node-{index:05d}", node_ip(index)) for index in range(args.nodes)),
        *(ingress(f"app-{i:05d}", team(i, args.namespaces), host_name(i)) for i in range(args.hosts)),
    ]
    (directory / "cluster.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))


def expected_objects(hosts: int, nodes: int) -> Counter[str]:
    """ADC objects for the cluster, by change-log kind: one pool and one virtual server per port (one VIP)."""
    return Counter(
        {
            "slb/node": nodes,
            "slb/pool": len(PORTS),
            "slb/pool/rserver": len(PORTS) * nodes,
            "slb/vserver": len(PORTS),
            "dns/domain": hosts,
        }
    )


# ---------------------------------------------------------------------------- processes


@asynccontextmanager
async def fake_kube(seed: Path, kubeconfig: Path, cpu: int | None) -> AsyncIterator[tuple[Child, str]]:
    child = await spawn(
        sys.executable, "-m", "mocks.kube", "--listen", "127.0.0.1:0", "--seed", str(seed),
        "--kubeconfig-out", str(kubeconfig), cpu=cpu,
    )  # fmt: skip
    try:
        line = await first_line(child, "the fake API server", seconds=START_TIMEOUT)
        yield child, line.rsplit(" ", 1)[1]
    finally:
        await child.stop()


def bridge_env(kubeconfig: Path, adc_url: str, *, dns_verify: str | None) -> dict[str, str]:
    """The bridge's environment; ``dns_verify``: the DNS server its resolution check asks (the mock
    ADC's responder), or None for no check."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ADCBRIDGE_")}
    env.pop("KUBECONFIG", None)
    return env | {
        "ADCBRIDGE_KUBE__KUBECONFIG": str(kubeconfig),
        "ADCBRIDGE_ADC__URL": adc_url,
        "ADCBRIDGE_ADC__USERNAME": USERNAME,
        "ADCBRIDGE_ADC__PASSWORD": PASSWORD,
        "ADCBRIDGE_OWNER_ID": OWNER_ID,
        "ADCBRIDGE_VIP__ADDRESSES": json.dumps([VIP]),
        "ADCBRIDGE_SERVER__LISTEN": "127.0.0.1:0",
        "ADCBRIDGE_LOG__FORMAT": "json",
        "ADCBRIDGE_LOG__LEVEL": "DEBUG",  # for the "listed N" lines that time the listing
        "ADCBRIDGE_DNS__VERIFY": json.dumps(dns_verify is not None),  # named: the settings line is true
        "ADCBRIDGE_DNS__VERIFY_SERVERS": json.dumps([dns_verify] if dns_verify else []),
    }


@asynccontextmanager
async def profiled(pid: int, output: Path | None, cpu: int | None) -> AsyncIterator[None]:
    """``py-spy record`` (raw collapsed stacks, 100 Hz, GIL holders only) on ``pid`` while the block runs."""
    if output is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    child = await spawn(
        str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "100", "--gil", "--nonblocking",
        "--output", str(output), cpu=cpu,
    )  # fmt: skip
    try:
        yield
    finally:
        child.process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(child.process.wait(), 30)
        await child.stop()
        print(f"profile: {output} ({child.tail(2)})", file=sys.stderr)


# ---------------------------------------------------------------------------- the bridge's log


def log_entries(child: Child) -> list[tuple[float, str, str]]:
    """(time the bridge logged it, logger, message) of every JSON line so far."""
    entries = []
    for _, line in child.lines:
        try:
            entry = json.loads(line)
            stamp = datetime.fromisoformat(entry["time"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        entries.append((stamp, str(entry.get("logger", "")), str(entry.get("message", ""))))
    return entries


def logged_at(entries: list[tuple[float, str, str]], pick: Callable[[str], bool], *, last: bool = False) -> float:
    """When the first (or last) message ``pick`` accepts was logged; NaN if none was."""
    times = [stamp for stamp, _, message in entries if pick(message)]
    if not times:
        return float("nan")
    return times[-1] if last else times[0]


def health_port(entries: list[tuple[float, str, str]]) -> int:
    for _, _, message in entries:
        if message.startswith("serving /healthz") and message.rsplit(" ", 1)[1].isdigit():
            return int(message.rsplit(" ", 1)[1])
    return 0


# ---------------------------------------------------------------------------- one round


PHASES = (  # (name, from mark, to mark): the cold start cut at what the bridge logged and the ADC recorded
    ("start-up: interpreter, imports, settings, connections", "spawn", "serving"),
    ("listing the cluster (to the last feed listed)", "serving", "listed"),
    ("first cycle to its first write: snapshot, desired, observe, plan", "listed", "first write"),
    ("ADC writes: first object write to configuration saved", "first write", "saved"),
)


MARKS = {
    "serving": "health server up (log)",
    "leader": "became the leader (log)",
    "listed": "last feed listed (log)",
    "planned": "first cycle planned: applying N operations (log)",
    "first write": "first object write (ADC change log)",
    "last write": "last object write (ADC change log)",
    "saved": "**first complete sync: configuration saved (ADC change log)**",
    "ready": "/readyz 200 (polled)",
}


@dataclass
class ColdStart:
    """One cold start: marks in seconds since the bridge was spawned, and each process's CPU over time."""

    marks: dict[str, float]  # spawn, serving, leader, listed, planned, first write, last write, saved, ready
    timeline: list[tuple[float, ...]]  # (seconds since spawn, bridge, fake API, mock ADC CPU-s)
    requests: int
    writes: Counter[str]
    rss_kib: int

    def cpu_at(self, moment: float) -> tuple[float, float, float]:
        """CPU-seconds of (bridge, fake API server, mock ADC) at ``moment``, interpolated between samples."""
        timeline = self.timeline
        for (t0, *cpu0), (t1, *cpu1) in itertools.pairwise(timeline):
            if t0 <= moment <= t1:
                share = (moment - t0) / (t1 - t0) if t1 > t0 else 1.0
                bridge, kube, adc = (a + (b - a) * share for a, b in zip(cpu0, cpu1, strict=True))
                return bridge, kube, adc
        _, bridge, kube, adc = timeline[-1] if moment > timeline[-1][0] else timeline[0]
        return bridge, kube, adc

    def phase(self, start: str, end: str) -> tuple[float, float, float, float]:
        """(wall, bridge CPU, fake API CPU, mock ADC CPU) seconds between two marks."""
        begin, finish = self.marks[start], self.marks[end]
        (bridge0, kube0, adc0), (bridge1, kube1, adc1) = self.cpu_at(begin), self.cpu_at(finish)
        return finish - begin, bridge1 - bridge0, kube1 - kube0, adc1 - adc0


@dataclass
class Latencies:
    recorded: list[float] = field(default_factory=list)  # 201 -> the mock recorded the domain
    seen: list[float] = field(default_factory=list)  # 201 -> this harness saw it in the change log
    requests: list[Counter[str]] = field(default_factory=list)  # ADC requests per change, by method
    cycle_seconds: float = 0.0  # mean reconcile duration over the changes, from the bridge's metrics
    cycles: int = 0
    bridge_cpu: float = 0.0  # CPU-seconds of the bridge over the changes (the resolution check included)


@dataclass
class Round:
    cold: ColdStart | None = None
    latencies: Latencies | None = None
    rss_end_kib: int = 0
    kube_rss_kib: int = 0
    adc_rss_kib: int = 0
    process_cpu: float = 0.0  # CPU-s of the bridge, the fake API server (seeding included) and the mock ADC
    problems: list[str] = field(default_factory=list)


async def wait_for_cold_sync(
    mock: MockAdc,
    bridge: Child,
    kube: Child,
    expected: Counter[str],
    *,
    started: float,
    before: tuple[float, ...],
    within: float,
) -> tuple[list[dict[str, Any]], list[tuple[float, ...]]]:
    """Read the change log until every expected object and a later save are in it, sampling each process's
    CPU as it goes; (changes, CPU timeline). Raises AssertionError naming what went wrong."""
    changes: list[dict[str, Any]] = []
    writes: Counter[str] = Counter()
    timeline = [(0.0, 0.0, *before)]
    deadline = time.monotonic() + within
    while True:
        timeline.append((time.time() - started, *cpu_seconds_of(bridge, kube, mock.child)))
        for change in await mock.new_changes():
            changes.append(change)
            assert change["code"] == 0, f"a write failed: {change}"
            if change["kind"] in OBJECT_KINDS:
                writes[change["kind"]] += 1
            elif change["kind"] == SAVE_KIND and writes == expected:
                timeline.append((time.time() - started, *cpu_seconds_of(bridge, kube, mock.child)))
                return changes, timeline
        if bridge.process.returncode is not None:
            raise AssertionError(f"the bridge exited with {bridge.process.returncode}:\n{bridge.tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no complete sync within {within:g} s: {dict(writes)} of {dict(expected)}")
        # Often while the phases are short (the CPU timeline's resolution), then less: the harness
        # shares its CPU with the mock ADC, whose time the writes wait for.
        await asyncio.sleep(0.05 if time.time() - started < SAMPLE_FINELY_S else 0.25)


def cpu_seconds_of(*children: Child) -> tuple[float, ...]:
    return tuple(child.cpu() for child in children)


async def wait_ready(http: httpx.AsyncClient, started: float) -> float:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (await http.get("/readyz")).status_code == 200:
            return time.time() - started
        await asyncio.sleep(POLL_SECONDS)
    return float("nan")


async def cold_start(
    mock: MockAdc, bridge: Child, kube: Child, args: argparse.Namespace, *, started: float, before: tuple[float, ...]
) -> ColdStart:
    """Wait for the first complete sync and split it up; raises AssertionError naming what went wrong."""
    expected = expected_objects(args.hosts, args.nodes)
    changes, timeline = await wait_for_cold_sync(
        mock, bridge, kube, expected, started=started, before=before, within=args.sync_timeout
    )
    entries = log_entries(bridge)
    port = health_port(entries)
    assert port, f"the bridge did not say where it serves /readyz:\n{bridge.tail()}"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        ready = await wait_ready(http, started)
    state = await mock.control("GET", "state")
    counts = {kind: state["counts"].get(kind, 0) for kind in OBJECT_KINDS}
    object_writes = [change for change in changes if change["kind"] in OBJECT_KINDS]
    planned = logged_at(entries, lambda m: m.startswith("applying "))
    # The last feed listed before the first cycle: a feed listed again later (its watch ended and
    # could not resume) is not part of the listing the first cycle waited for; it is counted apart.
    before_cycle = [entry for entry in entries if entry[0] <= planned]
    relisted = [
        f"{message} at {stamp - started:.1f} s"
        for stamp, _, message in entries
        if stamp > planned and ": listed " in message
    ]
    if relisted:
        print(f"note: listed again during the cold sync (a watch that could not resume): {'; '.join(relisted)}")
    marks = {
        "spawn": 0.0,
        "serving": logged_at(entries, lambda m: m.startswith("serving /healthz")),
        "leader": logged_at(entries, lambda m: m == "lease: became the leader"),
        "listed": logged_at(before_cycle, lambda m: ": listed " in m, last=True),
        "planned": planned,
        "first write": object_writes[0]["time"],
        "last write": object_writes[-1]["time"],
        "saved": changes[-1]["time"],
    }
    marks = {name: moment - started if name != "spawn" else 0.0 for name, moment in marks.items()}
    return ColdStart(
        marks={**marks, "ready": ready},
        timeline=timeline,
        requests=(await mock.requests()).total(),
        writes=Counter({kind: count for kind, count in counts.items() if count}),
        rss_kib=bridge.peak_rss_kib(),
    )


async def one_change(
    index: int, kube: httpx.AsyncClient, mock: MockAdc, args: argparse.Namespace
) -> tuple[float, float, Counter[str]]:
    """Create one Ingress; (recorded latency, seen latency, ADC requests of the cycle by method)."""
    host, ns = f"new-{index:05d}.{DOMAIN}", team(index, args.namespaces)
    requests_before = await mock.requests()
    response = await kube.post(
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses", json=ingress(f"new-{index:05d}", ns, host)
    )
    created = time.time()
    assert response.status_code == 201, f"creating Ingress {ns}/new-{index:05d}: {response.status_code}"
    recorded = seen = float("nan")
    deadline = time.monotonic() + CHANGE_TIMEOUT
    while time.monotonic() < deadline:
        for change in await mock.new_changes():
            assert change["code"] == 0, f"a write failed: {change}"
            if change["kind"] == "dns/domain" and change["name"] == host:
                recorded, seen = change["time"] - created, time.time() - created
            elif change["kind"] in OBJECT_KINDS:
                raise AssertionError(f"an unexpected write for {host}: {change}")
            elif change["kind"] == SAVE_KIND and not math.isnan(recorded):  # that cycle is over
                return recorded, seen, await mock.requests() - requests_before
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"{host} did not reach the ADC (with a save) within {CHANGE_TIMEOUT:.0f} s")


def metric_sum(text: str, name: str) -> float:
    """Sum of every sample of ``name`` (all label sets) in a Prometheus exposition."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            total += float(line.rsplit(" ", 1)[1])
    return total


async def latencies(mock: MockAdc, kube_url: str, health: str, args: argparse.Namespace) -> Latencies:
    result = Latencies()
    async with (
        httpx.AsyncClient(base_url=kube_url, timeout=30) as kube,
        httpx.AsyncClient(base_url=health, timeout=10) as http,
    ):
        await mock.new_changes()  # skip whatever is already logged
        before = (await http.get("/metrics")).text
        start = time.monotonic()
        for index in range(args.changes):
            # One create every --interval seconds; a change still running when its successor is due
            # delays it (the next is created once the last one's cycle has saved).
            await asyncio.sleep(max(0.0, start + index * args.interval - time.monotonic()))
            recorded, seen, requests = await one_change(index, kube, mock, args)
            result.recorded.append(recorded)
            result.seen.append(seen)
            result.requests.append(requests)
        after = (await http.get("/metrics")).text
    name = "adcbridge_reconcile_duration_seconds"
    result.cycles = round(metric_sum(after, f"{name}_count") - metric_sum(before, f"{name}_count"))
    result.cycle_seconds = (metric_sum(after, f"{name}_sum") - metric_sum(before, f"{name}_sum")) / max(
        result.cycles, 1
    )
    return result


async def run_round(
    args: argparse.Namespace, seed: Path, cpus: tuple[int | None, int | None], *, measure_latency: bool
) -> Round:
    result = Round()
    with tempfile.TemporaryDirectory(prefix="k8s-sync-") as scratch:
        kubeconfig = Path(scratch) / "kubeconfig"
        async with (
            fake_kube(seed, kubeconfig, cpus[0]) as (kube, kube_url),
            mock_adc(args.latency_ms, cpus[0], start_timeout=START_TIMEOUT, dns=args.dns_verify) as mock,
        ):
            before = cpu_seconds_of(kube, mock.child)  # seeding and start-up of the mocks: not counted
            started = time.time()
            bridge = await spawn(
                sys.executable,
                "-m",
                "adcbridge",
                "run",
                cpu=cpus[1],
                env=bridge_env(kubeconfig, mock.url, dns_verify=mock.dns if args.dns_verify else None),
            )
            profile = args.profile if measure_latency else None
            try:
                async with profiled(bridge.pid, profile and Path(f"{profile}-cold.txt"), cpus[0]):
                    result.cold = await cold_start(mock, bridge, kube, args, started=started, before=before)
                for kind, count in expected_objects(args.hosts, args.nodes).items():
                    expect_count(
                        result.problems, f"{kind} objects on the ADC after the sync", count, result.cold.writes[kind]
                    )
                if measure_latency and args.changes:
                    health = f"http://127.0.0.1:{health_port(log_entries(bridge))}"
                    cpu_before = bridge.cpu()
                    async with profiled(bridge.pid, profile and Path(f"{profile}-changes.txt"), cpus[0]):
                        result.latencies = await latencies(mock, kube_url, health, args)
                    result.latencies.bridge_cpu = bridge.cpu() - cpu_before
                    expect_count(
                        result.problems,
                        "changes each seen on the ADC with its save",
                        args.changes,
                        len(result.latencies.recorded),
                    )
                result.rss_end_kib = bridge.peak_rss_kib()
                result.kube_rss_kib = kube.peak_rss_kib()
                result.adc_rss_kib = mock.child.peak_rss_kib()
                result.process_cpu = sum(cpu_seconds_of(bridge, kube, mock.child))
            except AssertionError as exc:
                result.problems.append(str(exc))
            finally:
                await bridge.stop()
            if bridge.process.returncode not in (0, None):
                result.problems.append(f"the bridge exited with {bridge.process.returncode}:\n{bridge.tail()}")
    return result


# ---------------------------------------------------------------------------- report


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * share)) - 1]


def cold_table(rounds: list[Round]) -> list[str]:
    colds = [result.cold for result in rounds if result.cold is not None]

    def cells(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f}"

    lines = [
        "| cold start (from spawning `adcbridge run`) | at s, median | min-max |",
        "| --- | ---: | ---: |",
    ]
    for mark, label in MARKS.items():
        lines.append(f"| {label} | {cells([cold.marks[mark] for cold in colds])} |")
    lines += [
        "",
        "| phase | wall s | bridge CPU s | fake API server CPU s | mock ADC CPU s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, start, end in (*PHASES, ("whole cold start", "spawn", "saved")):
        split = [cold.phase(start, end) for cold in colds]
        medians = [statistics.median(part[index] for part in split) for index in range(4)]
        lines.append(f"| {name} | " + " | ".join(f"{value:.2f}" for value in medians) + " |")
    lines.append("")
    lines.append(f"ADC requests until the sync: {statistics.median(cold.requests for cold in colds):,.0f}.")
    return lines


def latency_lines(found: Latencies, goals: Goals) -> list[str]:
    recorded, seen = found.recorded, found.seen
    totals = [requests.total() for requests in found.requests]
    methods = sorted({method for requests in found.requests for method in requests})
    by_method = ", ".join(f"{method} {statistics.median(r[method] for r in found.requests):.0f}" for method in methods)
    return [
        f"| latency, {len(recorded)} Ingress creates | p50 s | p90 s | p99 s | max s | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        f"| 201 to domain recorded by the ADC | {statistics.median(recorded):.3f} | {percentile(recorded, 0.9):.3f} "
        f"| {percentile(recorded, 0.99):.3f} | {max(recorded):.3f} | p99 < {goals.p99_s:g} s |",
        f"| 201 to domain seen in the change log (10 ms polls) | {statistics.median(seen):.3f} "
        f"| {percentile(seen, 0.9):.3f} | {percentile(seen, 0.99):.3f} | {max(seen):.3f} | — |",
        "",
        f"ADC requests per change (the whole cycle: write and save on the ADC state kept since the last "
        f"read; a resync or a cycle after a failure reads it whole): median "
        f"{statistics.median(totals):.0f} ({by_method}), min {min(totals)}, max {max(totals)}. "
        f"Cycles during the changes: {found.cycles} (one per change expected), mean reconcile duration "
        f"{found.cycle_seconds:.3f} s (the bridge's own histogram; the batch window not included). Bridge CPU "
        f"over the changes: {found.bridge_cpu:.2f} s, {found.bridge_cpu / len(recorded) * 1000:.0f} ms per change "
        f"(the resolution check included).",
    ]


async def measure(args: argparse.Namespace) -> int:
    cpus = pin_cpus(own=0)  # (mocks and harness CPU, bridge CPU)
    load_before = os.getloadavg()[0]
    expected = expected_objects(args.hosts, args.nodes)
    print_settings(
        "k8s_sync.py",
        args,
        {
            "Ingresses": f"{args.hosts:,}",
            "nodes": f"{args.nodes:,}",
            "namespaces": args.namespaces,
            "rounds": args.rounds,
            "changes": f"{args.changes}, one every {args.interval:g} s",
            "latency": f"{args.latency_ms} ms",
            "adc.concurrency": "8 (the default)",
            "dialect": "reference (mock ADC)",
            "resolution check": "on (the mock ADC's DNS responder)" if args.dns_verify else "off (dns.verify false)",
        },
    )
    print(
        f"k8s sync: {args.hosts:,} Ingresses (one host each) in {args.namespaces} namespaces, {args.nodes:,} Ready "
        f"nodes, {len(PORTS)} nodePorts ({sum(expected.values()):,} ADC objects); mock ADC with {args.latency_ms} ms "
        f"added latency; {args.rounds} cold start round(s), {args.changes} changes in the last; fake API server, "
        f"mock ADC and harness on CPU {cpus[0]}, bridge on CPU {cpus[1]}; Python {sys.version.split()[0]}",
        flush=True,
    )
    rounds: list[Round] = []
    others = 0.0
    with tempfile.TemporaryDirectory(prefix="k8s-sync-seed-") as seed:
        write_seed(Path(seed), args)
        for index in range(args.rounds):
            busy_before, own_before = machine_busy_seconds(), time.process_time()
            result = await run_round(args, Path(seed), cpus, measure_latency=index == args.rounds - 1)
            busy = machine_busy_seconds() - busy_before
            others += busy - (time.process_time() - own_before) - result.process_cpu
            cold = f"{result.cold.marks['saved']:.2f} s" if result.cold else "failed"
            print(f"round {index + 1}: first complete sync {cold}", file=sys.stderr, flush=True)
            rounds.append(result)
    print()
    if all(result.cold is not None for result in rounds):
        print("\n".join(cold_table(rounds)))
        print()
    last = rounds[-1]
    if last.latencies is not None:
        print("\n".join(latency_lines(last.latencies, goals_for(args.hosts))))
        print()
    if all(result.cold is not None for result in rounds):
        after_sync = statistics.median(result.cold.rss_kib for result in rounds if result.cold) / 1024
        print(
            f"Peak RSS (VmHWM): bridge {after_sync:.0f} MiB after the cold sync (median of rounds), "
            f"{last.rss_end_kib / 1024:.0f} MiB at the end of the last round (target < "
            f"{goals_for(args.hosts).rss_mib:.0f} MiB); fake API server {last.kube_rss_kib / 1024:.0f} MiB, "
            f"mock ADC {last.adc_rss_kib / 1024:.0f} MiB (last round)."
        )
    report_other_cpu(others, during="the rounds", load_before=load_before, who="Other processes (py-spy included)")
    return report_checks(
        "object counts, every write succeeded, each change one domain",
        [result.problems for result in rounds],
        args,
        timings(rounds, goals_for(args.hosts)),
    )


def timings(rounds: list[Round], goals: Goals) -> list[Timing]:
    """The first complete sync (median of the rounds), the bridge's peak RSS at the end of the last
    round, and, when it made changes, their p99 latency and median ADC requests."""
    last = rounds[-1]
    colds = [result.cold.marks["saved"] for result in rounds if result.cold is not None]
    found = [
        Timing(
            "first complete sync (median of rounds)", statistics.median(colds) if colds else math.nan, goals.cold_sync_s
        ),
        Timing("bridge peak RSS at the end", last.rss_end_kib / 1024, goals.rss_mib, unit="MiB"),
    ]
    if last.latencies is not None and last.latencies.recorded:
        p99 = percentile(last.latencies.recorded, 0.99)
        found.append(Timing("p99 Ingress created to domain recorded by the ADC", p99, goals.p99_s))
        requests = statistics.median(requests.total() for requests in last.latencies.requests)
        found.append(
            Timing(
                "median ADC requests per change (whole requests: under 4 is at most 3)",
                requests,
                goals.requests_per_change + 1,
                unit="requests",
            )
        )
    return found


def main() -> int:
    cli = argument_parser(
        __doc__, rounds="cold starts, each on fresh processes; medians reported", hosts="Ingresses, one host each"
    )
    cli.add_argument("--namespaces", type=int, default=50, help="namespaces the Ingresses are spread over")
    cli.add_argument("--changes", type=int, default=100, help="Ingresses created one by one after the first sync")
    cli.add_argument(
        "--interval", type=float, default=INTERVAL_S, help="seconds between two creates (later if a change is slower)"
    )
    cli.add_argument(
        "--profile",
        metavar="PREFIX",
        help="in the last round, record the bridge with py-spy (pip install py-spy into the venv) into "
        "PREFIX-cold.txt and PREFIX-changes.txt (collapsed stacks); it takes CPU from the mocks' core",
    )
    cli.add_argument(
        "--dns-verify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the bridge's resolution check (dns.verify), set explicitly either way",
    )
    cli.add_argument(
        "--sync-timeout", type=float, default=SYNC_TIMEOUT, help="seconds to wait for the first complete sync"
    )
    args = parse_arguments(cli, SMOKE)
    if min(args.hosts, args.nodes, args.namespaces, args.rounds) < 1 or args.changes < 0:
        cli.error("--hosts, --nodes, --namespaces and --rounds must be positive, --changes not negative")
    return asyncio.run(measure(args))


if __name__ == "__main__":
    sys.exit(main())
