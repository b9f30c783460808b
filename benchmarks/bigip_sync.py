"""The engine on a BIG-IP at production scale: cold sync, no-op resync and small changes against the emulator.

The same cluster as ``engine_sync.py`` — 10,000 hosts, 500 Ready nodes and a KIC Service with 2 TCP
nodePorts — through the ``bigip`` dialect, opened as the app opens it (``open_adc``: token session,
the emulator's certificate verified), publishing the names on BIG-IP DNS (``dns.targets: [adc]``,
``adc.gtm_server``). In partition ``bench``: the LTM side, 1,504 objects (500 nodes, 2 pools with
1,000 members, 2 virtual servers), and the names, 10,003 GTM objects (a wide IP per host, one GTM
pool of the VIP with its one member, and one virtual-server entry of the operator's GTM server).
The benchmark first makes what an operator makes (``/_mock/seed``: outside the counters): the
partition, and in ``Common`` the GTM datacenter and the GTM server that stands for the unit. The
emulator (``python -m mocks.bigip --no-dns``) runs as its own process pinned to one CPU, with a
fault rule of kind ``latency`` adding 5 ms to every ``/mgmt`` request; the bridge runs in this
process on the other CPU, with its DNS check off (``dns.verify: false``: the emulator's DNS
listener is not started). Scenarios, in order, on one fresh unit per round:

1. cold sync: the empty partition is filled (LTM: one command per object, in transactions of
   ``adc.batch_size``; GTM: one request per object), then ``sys config save``;
2. no-op resync: nothing changed: only GETs (the failover status, the partition, then each list
   page by page);
3. one host added: its wide IP alone (the GTM pool exists), within ``added_host_budget`` requests
   that write (the save included), planned on the state the bridge kept since the resync: the only
   GET is the failover status, read before every apply (one per unit);
4. one node added: exactly ports + 1 object writes (the node and one member per pool), then a save;
   again one GET, the failover status;
5. resync after the changes: the unit read whole again, 0 writes.

Counts, checked in every run (the script exits 1 when one is wrong): no-op resync with 0 writes, one
node added in ports + 1 object writes, one host added within its request budget, GETs one per page,
one save after writing, one login per round (the token is reused). Targets, enforced in a full run
(exit 1 when one is missed; ``--no-enforce`` only reports it): cold sync under 60 s, no-op resync
under 2 s. ``--smoke`` runs 300 hosts and 5 nodes once, counts only (``make test`` runs it). Each scenario
reports wall time, the HTTP requests the unit received (``/_mock/stats``) and the object writes
that reached it (``/_mock/changes``), requests per object written, each process's CPU seconds, how
the cycle split between observing and applying, and the CPU other processes took meanwhile.

Usage: ``.venv/bin/python benchmarks/bigip_sync.py [--hosts 10000] [--nodes 500] [--latency-ms 5]
[--rounds 3] [--concurrency 8] [--smoke] [--no-enforce]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine_sync import (
    OWNER_ID,
    PORTS,
    TAKEN_AT,
    VIP,
    Round,
    Sample,
    StaticSource,
    TimedAdc,
    cluster,
    print_appliance_summary,
)
from measuring import (
    PASSWORD,
    USERNAME,
    MockBigip,
    Timing,
    argument_parser,
    expect_count,
    median_walls,
    mock_bigip,
    parse_arguments,
    pin_cpus,
    print_settings,
    report_checks,
    run_rounds,
    status_kib,
)

from adcbridge.adc import check_settings, open_adc
from adcbridge.config import Settings, settings_from_values
from adcbridge.metrics import Metrics
from adcbridge.model import ClusterSnapshot
from adcbridge.reconciler import Reconciler

PARTITION = "bench"
PAGE_SIZE = 500  # the bridge's page size ($top)
LTM_KINDS = frozenset({"ltm/node", "ltm/pool", "ltm/pool/members", "ltm/virtual"})  # the change log's tables
GTM_KINDS = frozenset(
    {"gtm/server/virtual-servers", *(f"gtm/{kind}/{rtype}" for kind in ("pool", "wideip") for rtype in ("a", "aaaa"))}
    | {f"gtm/pool/{rtype}/members" for rtype in ("a", "aaaa")}
)
OBJECT_KINDS = LTM_KINDS | GTM_KINDS
DATACENTER, GTM_SERVER = "dc1", "bigip1"
OPERATOR_SEED = [  # what an operator makes before installing the bridge (tests/test_bigip_dns.py sends the same)
    {"method": "POST", "path": "/mgmt/tm/auth/partition", "body": {"name": PARTITION}},
    {"method": "POST", "path": "/mgmt/tm/gtm/datacenter", "body": {"name": DATACENTER, "partition": "Common"}},
    {
        "method": "POST",
        "path": "/mgmt/tm/gtm/server",
        "body": {
            "name": GTM_SERVER,
            "partition": "Common",
            "datacenter": f"/Common/{DATACENTER}",
            "addresses": ["10.1.0.1"],
        },
    },
]
LOGIN = "POST /mgmt/shared/authn/login"
SCENARIOS = ("cold sync", "no-op resync", "one host added", "one node added", "resync after the changes")
STATUS_READS = 1  # GETs of the failover status before an apply (one per unit: the benchmark has one)
TARGETS = {"cold sync": 60.0, "no-op resync": 2.0}  # seconds of wall time, enforced in a full run
SMOKE = {"hosts": 300, "nodes": 5, "rounds": 1, "latency_ms": 1}  # --smoke
GTM_HOST_BUDGET = 3  # requests that write, for one added host, once the dialect publishes wide IPs


# ---------------------------------------------------------------------------- inputs and expectations


def bench_settings(url: str, ca_file: Path, concurrency: int) -> Settings:
    """Owner ``bench`` in partition ``bench``, one VIP, names published on BIG-IP DNS without the DNS
    check (the emulator runs without its DNS listener); no environment."""
    return settings_from_values(
        owner_id=OWNER_ID,
        adc={
            "dialect": "bigip",
            "url": url,
            "username": USERNAME,
            "password": PASSWORD,
            "partition": PARTITION,
            "ca_file": str(ca_file),
            "concurrency": concurrency,
            "page_size": PAGE_SIZE,
            "gtm_server": f"/Common/{GTM_SERVER}",
            "timeout": 30.0,
            "operation_deadline": 120.0,
        },
        vip={"addresses": [VIP]},
        dns={"targets": ["adc"], "verify": False},
        limits={"max_deletes": 1_000_000, "max_delete_percent": 100.0},
    )


def object_count(nodes: int, hosts: int = 0) -> int:
    """Objects the bridge wants: LTM, nodes, a pool and a virtual server per port, a member per node and
    port; with ``hosts`` published on BIG-IP DNS, a wide IP per host and, for the one IPv4 VIP, a GTM
    pool, its member and the server's virtual-server entry."""
    return nodes + len(PORTS) * (2 + nodes) + (hosts + 3 if hosts else 0)


def pages(count: int) -> int:
    """GETs to list ``count`` items: the dialect reads until a page comes back short (no paging fields)."""
    return count // PAGE_SIZE + 1


def observe_gets(nodes: int, pools: int, virtuals: int, gtm: tuple[int, int, int] | None = None) -> int:
    """One observation: the unit's failover status (which unit is active is read again each cycle),
    the partition, then nodes, pools (members inline) and virtual servers; with BIG-IP DNS, ``gtm`` =
    (entries, A pools, A wide IPs): the GTM server's entries, then per record type our GTM pools
    (members inline) and every wide IP (no AAAA here: the VIP is IPv4)."""
    ltm = 2 + pages(nodes) + pages(pools) + pages(virtuals)
    if gtm is None:
        return ltm
    entries, a_pools, a_wideips = gtm
    return ltm + pages(entries) + pages(a_pools) + pages(a_wideips) + pages(0) + pages(0)


def added_host_budget(config: Settings) -> int:
    """Requests that may write for one added host: none while names are published elsewhere (or
    nowhere); the wide IP's budget when the dialect publishes to BIG-IP DNS (``adc`` in the targets):
    here its wide IP and the save."""
    return GTM_HOST_BUDGET if "adc" in config.dns.targets else 0


def publishes(config: Settings) -> bool:
    return "adc" in config.dns.targets


@dataclass(frozen=True)
class Step:
    """A scenario: the cluster it runs on (None: unchanged) and what the unit must see."""

    name: str
    view: ClusterSnapshot | None
    object_writes: int
    gets: int
    write_budget: int | None = None  # at most this many requests besides GETs and logins, when set
    resync: bool = True  # False: a change cycle, planned on the state kept since the last full read


def steps(hosts: int, nodes: int, config: Settings) -> list[Step]:
    ports, dns = len(PORTS), publishes(config)
    empty, before, after = ((0, 0, 0), (1, 1, hosts), (1, 1, hosts + 1)) if dns else (None, None, None)
    converged = observe_gets(nodes, ports, ports, before)
    final = observe_gets(nodes + 1, ports, ports, after)
    return [
        Step("cold sync", None, object_count(nodes, hosts if dns else 0), observe_gets(0, 0, 0, empty) + STATUS_READS),
        Step("no-op resync", None, 0, converged, write_budget=0),
        Step(
            "one host added",
            cluster(hosts + 1, nodes),
            1 if dns else 0,
            STATUS_READS if dns else 0,
            write_budget=added_host_budget(config),
            resync=False,
        ),
        Step("one node added", cluster(hosts + 1, nodes + 1), ports + 1, STATUS_READS, resync=False),
        Step("resync after the changes", None, 0, final, write_budget=0),
    ]


# ---------------------------------------------------------------------------- a round


@dataclass
class BigipSample(Sample):
    logins: int = 0


async def run_step(step: Step, unit: MockBigip, reconciler: Reconciler, driver: TimedAdc, result: Round) -> None:
    before, paths_before = await unit.requests(), await paths(unit)
    driver.observe_seconds = driver.apply_seconds = 0.0
    bridge_cpu, unit_cpu = time.process_time(), unit.child.cpu()
    started = time.perf_counter()
    report = await reconciler.run_once(resync=step.resync)
    wall = time.perf_counter() - started
    bridge_cpu, unit_cpu = time.process_time() - bridge_cpu, unit.child.cpu() - unit_cpu
    requests = await unit.requests()
    requests.subtract(before)
    logins = (await paths(unit))[LOGIN] - paths_before[LOGIN]
    changes = await unit.new_changes()
    writes = [change for change in changes if change["kind"] in OBJECT_KINDS]
    sample = BigipSample(
        wall=wall,
        requests=+requests,
        writes=len(writes),
        failed_writes=sum(change["status"] != 200 or change["rolled_back"] for change in writes),
        saves=sum(change["kind"] == "sys/config" for change in changes),
        bridge_cpu=bridge_cpu,
        mock_cpu=unit_cpu,
        observe=driver.observe_seconds,
        apply=driver.apply_seconds,
        logins=logins,
    )
    result.samples[step.name] = sample
    check_counts(result.problems, step, sample)
    if not report.converged:
        result.problems.append(f"{step.name}: {report.error or 'did not converge'}")


def check_counts(problems: list[str], step: Step, sample: BigipSample) -> None:
    """The step's counts: object writes, failed writes, GETs, saves and the writing requests' budget."""
    name = step.name
    expect_count(problems, f"{name}: object writes", step.object_writes, sample.writes)
    expect_count(problems, f"{name}: failed writes", 0, sample.failed_writes)
    expect_count(problems, f"{name}: GETs (one per page)", step.gets, sample.requests["GET"])
    expect_count(problems, f"{name}: config saves", 1 if step.object_writes else 0, sample.saves)
    if step.write_budget is not None:
        writing = sample.requests.total() - sample.requests["GET"] - sample.logins
        expect_count(problems, f"{name}: writing requests", step.write_budget, writing, at_most=True)


def timings(rounds: list[Round]) -> list[Timing]:
    return median_walls({scenario: [r.samples[scenario].wall for r in rounds] for scenario in TARGETS}, TARGETS)


async def paths(unit: MockBigip) -> Counter[str]:
    return Counter((await unit.control("GET", "stats"))["paths"])


async def run_round(args: argparse.Namespace, cpus: tuple[int | None, int | None]) -> Round:
    """The four scenarios in order, on a fresh emulator with the added latency."""
    result = Round()
    async with mock_bigip(args.latency_ms, cpus[0]) as unit:
        await unit.seed(OPERATOR_SEED)
        config = bench_settings(unit.url, unit.ca_file, args.concurrency)
        check_settings(config)
        source = StaticSource(cluster(args.hosts, args.nodes))
        async with open_adc(config, Metrics()) as adc:
            driver = TimedAdc(adc)
            reconciler = Reconciler(config, source, driver, Metrics(), clock=lambda: TAKEN_AT)
            for step in steps(args.hosts, args.nodes, config):
                if step.view is not None:
                    source.view = step.view
                await run_step(step, unit, reconciler, driver, result)
        logins = sum(sample.logins for sample in result.samples.values() if isinstance(sample, BigipSample))
        expect_count(result.problems, "logins in the whole round (one token reused)", 1, logins)
        result.mock_peak_rss_kib = unit.child.peak_rss_kib()
    return result


# ---------------------------------------------------------------------------- report


def table(rounds: list[Round]) -> list[str]:
    def median(pick: Callable[[Sample], float], scenario: str) -> float:
        return statistics.median(pick(result.samples[scenario]) for result in rounds)

    lines = [
        "| scenario | wall s | wall min-max | target s | ratio | requests | GET | POST | PATCH+DELETE "
        "| object writes | requests per object written | config saves | bridge CPU s | emulator CPU s "
        "| observe s | apply s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]
    for scenario in SCENARIOS:
        wall = median(lambda s: s.wall, scenario)
        walls = [result.samples[scenario].wall for result in rounds]
        target = TARGETS.get(scenario)
        writes = median(lambda s: s.writes, scenario)
        total = median(lambda s: s.requests.total(), scenario)
        cells = [
            scenario,
            f"{wall:.3f}",
            f"{min(walls):.3f}-{max(walls):.3f}",
            f"{target:g}" if target else "—",
            f"{wall / target:.3f}" if target else "—",
            f"{total:,.0f}",
            f"{median(lambda s: s.requests['GET'], scenario):,.0f}",
            f"{median(lambda s: s.requests['POST'], scenario):,.0f}",
            f"{median(lambda s: s.requests['PATCH'] + s.requests['DELETE'], scenario):,.0f}",
            f"{writes:,.0f}",
            f"{total / writes:.3f}" if writes else "—",
            f"{median(lambda s: s.saves, scenario):,.0f}",
            f"{median(lambda s: s.bridge_cpu, scenario):.2f}",
            f"{median(lambda s: s.mock_cpu, scenario):.2f}",
            f"{median(lambda s: s.observe, scenario):.3f}",
            f"{median(lambda s: s.apply, scenario):.3f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


async def measure(args: argparse.Namespace) -> int:
    cpus = pin_cpus(own=1)  # (emulator CPU, bridge CPU): the bridge runs in this process
    start_rss, load_before = status_kib("self", "VmRSS"), os.getloadavg()[0]
    objects = object_count(args.nodes, args.hosts)
    print_settings(
        "bigip_sync.py",
        args,
        {
            "hosts": f"{args.hosts:,}",
            "nodes": f"{args.nodes:,}",
            "rounds": args.rounds,
            "latency": f"{args.latency_ms} ms",
            "adc.concurrency": args.concurrency,
            "dialect": "bigip (BIG-IP emulator), names on BIG-IP DNS",
            "resolution check": "off (dns.verify false: the emulator runs without DNS)",
        },
    )
    print(
        f"bigip sync: {args.hosts:,} hosts, {args.nodes:,} nodes, {len(PORTS)} ports ({objects:,} objects: "
        f"{object_count(args.nodes):,} LTM, {objects - object_count(args.nodes):,} BIG-IP DNS), "
        f"{args.latency_ms} ms added latency, concurrency {args.concurrency}, "
        f"{args.rounds} round(s); emulator on CPU {cpus[0]}, bridge on CPU {cpus[1]}; Python {sys.version.split()[0]}",
        flush=True,
    )
    run = await run_rounds(args.rounds, lambda _index: run_round(args, cpus))
    rounds = run.results
    print_appliance_summary(
        rounds,
        table(rounds),
        objects=objects,
        concurrency=args.concurrency,
        latency_ms=args.latency_ms,
        noop_detail=lambda gets: f"{gets / objects:.4f} per object",
        start_rss=start_rss,
        elapsed=run.elapsed,
        others=run.others,
        load_before=load_before,
    )
    return report_checks(
        "write counts, GETs per page, config saves, one login",
        [result.problems for result in rounds],
        args,
        timings(rounds),
    )


def main() -> int:
    cli = argument_parser(__doc__, rounds="whole sequences, each on a fresh emulator; medians reported")
    cli.add_argument("--concurrency", type=int, default=8, help="adc.concurrency of the bridge")
    args = parse_arguments(cli, SMOKE)
    if args.hosts < 1 or args.nodes < 1 or args.rounds < 1:
        cli.error("--hosts, --nodes and --rounds must be positive")
    return asyncio.run(measure(args))


if __name__ == "__main__":
    sys.exit(main())
