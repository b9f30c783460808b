"""The engine on an A10 Thunder at production scale: cold sync, no-op resync and small changes against the emulator.

The same cluster as ``engine_sync.py`` — 10,000 hosts, 500 Ready nodes and a KIC Service with 2 TCP
nodePorts — through the ``acos`` dialect, opened as the app opens it (``open_adc``: one aXAPI
signature session, the emulator's certificate verified). In partition ``bench``, the SLB side: 1,504
objects (500 servers, each made with its 2 ports, 2 service groups with 1,000 members, and the one
virtual server of the VIP holding 2 virtual ports). ACOS publishes no names (the dialect has no DNS
capability), so ``dns.targets`` is empty: the 10,000 hosts change no object on the unit, which the
"one host added" scenario shows (where the names go by RFC 2136, ``dns_publish.py`` measures that
side). The benchmark first makes what an operator makes (``/_mock/seed``: outside the counters): the
partition. The emulator (``python -m mocks.acos``) runs as its own process pinned to one CPU, with a
fault rule of kind ``latency`` adding 5 ms to every ``/axapi`` request; the bridge runs in this
process on the other CPU. Scenarios, in order, on one fresh unit per round:

1. cold sync: the empty partition is filled, one request per object (ACOS has no transactions: a
   server with its ports, a service group, a member, the virtual server with its first port, then
   each further virtual port), then ``write memory`` of the partition;
2. no-op resync: nothing changed: only GETs (the unit's role, then servers, service groups with
   their members and virtual servers with their ports, each collection whole; the cold sync reads
   the role once more, after the empty partition's collections answered "not found");
3. one host added: nothing to write on the unit (no request that writes, no save), planned on the
   state the bridge kept since the resync: no request at all;
4. one node added: exactly ports + 1 object writes (the server with its ports and one member per
   service group), then a save; planned on the kept state, so its only GETs are the unit's role,
   confirmed before every apply;
5. resync after the changes: the unit read whole again, 0 writes.

Counts, checked in every run (the script exits 1 when one is wrong): object writes per scenario, no
failed write, GETs per observation, one save after writing and none otherwise, no writing request in
the no-op resync nor for the added host, one login per round (the session is reused). Targets,
enforced in a full run (exit 1 when one is missed; ``--no-enforce`` only reports it): cold sync under
60 s, no-op resync under 2 s. ``--smoke`` runs 300 hosts and 5 nodes once, counts only (``make test``
runs it). Each scenario reports wall time, the HTTP requests the unit received (``/_mock/stats``) and
the object writes that reached it (``/_mock/changes``), requests per object written, each process's
CPU seconds, how the cycle split between observing and applying, and the CPU other processes took
meanwhile.

Usage: ``.venv/bin/python benchmarks/acos_sync.py [--hosts 10000] [--nodes 500] [--latency-ms 5]
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
    MockAcos,
    Timing,
    argument_parser,
    expect_count,
    median_walls,
    mock_acos,
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
OBJECT_KINDS = frozenset(  # the change log's tables of SLB objects
    {
        "slb/server",
        "slb/server/port",
        "slb/service-group",
        "slb/service-group/member",
        "slb/virtual-server",
        "slb/virtual-server/port",
    }
)
SAVE_KIND = "write/memory"
OPERATOR_SEED = [  # what an operator makes before installing the bridge: its partition
    {"method": "POST", "path": "/axapi/v3/partition", "body": {"partition": {"partition-name": PARTITION, "id": 9}}},
]
LOGIN = "POST /axapi/v3/auth"
ROLE_GETS = 2  # the unit's role, read again at every resync: the aVCS summary (off), then the VRRP-A state
COLLECTIONS = 3  # servers (ports inline), service groups (members inline), virtual servers (ports inline)
SCENARIOS = ("cold sync", "no-op resync", "one host added", "one node added", "resync after the changes")
TARGETS = {"cold sync": 60.0, "no-op resync": 2.0}  # seconds of wall time, enforced in a full run
SMOKE = {"hosts": 300, "nodes": 5, "rounds": 1, "latency_ms": 1}  # --smoke


# ---------------------------------------------------------------------------- inputs and expectations


def bench_settings(url: str, ca_file: Path, concurrency: int) -> Settings:
    """Owner ``bench`` in partition ``bench``, one VIP, no names published (ACOS publishes none and
    this benchmark measures the SLB side); no environment."""
    return settings_from_values(
        owner_id=OWNER_ID,
        adc={
            "dialect": "acos",
            "url": url,
            "username": USERNAME,
            "password": PASSWORD,
            "partition": PARTITION,
            "ca_file": str(ca_file),
            "concurrency": concurrency,
            "timeout": 30.0,
            "operation_deadline": 120.0,
        },
        vip={"addresses": [VIP]},
        dns={"targets": []},
        limits={"max_deletes": 1_000_000, "max_delete_percent": 100.0},
    )


def object_count(nodes: int) -> int:
    """Object writes of a cold sync: a server per node (its ports in the same request), a service group
    per port, a member per node and port, and for the one VIP the virtual server (made with its first
    port) and one request per further virtual port."""
    return nodes + len(PORTS) * (1 + nodes) + 1 + (len(PORTS) - 1)


def observe_gets() -> int:
    """One observation: the role, then each collection whole (ACOS has no paging the dialect uses)."""
    return ROLE_GETS + COLLECTIONS


def cold_gets() -> int:
    """The cold sync's GETs: an observation, whose collections all answer "not found" in the empty
    partition (an error answer, after which the bridge reads the role again before its next call),
    then that second role read before the first write."""
    return observe_gets() + ROLE_GETS


@dataclass(frozen=True)
class Step:
    """A scenario: the cluster it runs on (None: unchanged) and what the unit must see."""

    name: str
    view: ClusterSnapshot | None
    object_writes: int
    gets: int
    write_budget: int | None = None  # exactly this many requests besides GETs and logins, when set
    resync: bool = True  # False: a change cycle, planned on the state kept since the last full read


def steps(hosts: int, nodes: int) -> list[Step]:
    ports = len(PORTS)
    return [
        Step("cold sync", None, object_count(nodes), cold_gets()),
        Step("no-op resync", None, 0, observe_gets(), write_budget=0),
        Step("one host added", cluster(hosts + 1, nodes), 0, 0, write_budget=0, resync=False),
        Step(
            "one node added",
            cluster(hosts + 1, nodes + 1),
            ports + 1,
            ROLE_GETS,
            write_budget=ports + 1 + 1,
            resync=False,
        ),
        Step("resync after the changes", None, 0, observe_gets(), write_budget=0),
    ]


# ---------------------------------------------------------------------------- a round


@dataclass
class AcosSample(Sample):
    logins: int = 0


async def run_step(step: Step, unit: MockAcos, reconciler: Reconciler, driver: TimedAdc, result: Round) -> None:
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
    sample = AcosSample(
        wall=wall,
        requests=+requests,
        writes=len(writes),
        failed_writes=sum(change["status"] != 200 for change in writes),
        saves=sum(change["kind"] == SAVE_KIND for change in changes),
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


def check_counts(problems: list[str], step: Step, sample: AcosSample) -> None:
    """The step's counts: object writes, failed writes, GETs, saves and the writing requests."""
    name = step.name
    expect_count(problems, f"{name}: object writes", step.object_writes, sample.writes)
    expect_count(problems, f"{name}: failed writes", 0, sample.failed_writes)
    expect_count(problems, f"{name}: GETs (role, then each collection)", step.gets, sample.requests["GET"])
    expect_count(problems, f"{name}: saves (write memory)", 1 if step.object_writes else 0, sample.saves)
    if step.write_budget is not None:
        writing = sample.requests.total() - sample.requests["GET"] - sample.logins
        expect_count(problems, f"{name}: writing requests", step.write_budget, writing)


def timings(rounds: list[Round]) -> list[Timing]:
    return median_walls({scenario: [r.samples[scenario].wall for r in rounds] for scenario in TARGETS}, TARGETS)


async def paths(unit: MockAcos) -> Counter[str]:
    return Counter((await unit.control("GET", "stats"))["paths"])


async def run_round(args: argparse.Namespace, cpus: tuple[int | None, int | None]) -> Round:
    """The four scenarios in order, on a fresh emulator with the added latency."""
    result = Round()
    async with mock_acos(args.latency_ms, cpus[0]) as unit:
        await unit.seed(OPERATOR_SEED)
        config = bench_settings(unit.url, unit.ca_file, args.concurrency)
        check_settings(config)
        source = StaticSource(cluster(args.hosts, args.nodes))
        async with open_adc(config, Metrics()) as adc:
            driver = TimedAdc(adc)
            reconciler = Reconciler(config, source, driver, Metrics(), clock=lambda: TAKEN_AT)
            for step in steps(args.hosts, args.nodes):
                if step.view is not None:
                    source.view = step.view
                await run_step(step, unit, reconciler, driver, result)
        logins = sum(sample.logins for sample in result.samples.values() if isinstance(sample, AcosSample))
        expect_count(result.problems, "logins in the whole round (one session reused)", 1, logins)
        result.mock_peak_rss_kib = unit.child.peak_rss_kib()
    return result


# ---------------------------------------------------------------------------- report


def table(rounds: list[Round]) -> list[str]:
    def median(pick: Callable[[Sample], float], scenario: str) -> float:
        return statistics.median(pick(result.samples[scenario]) for result in rounds)

    lines = [
        "| scenario | wall s | wall min-max | target s | ratio | requests | GET | POST | DELETE "
        "| object writes | requests per object written | saves | bridge CPU s | emulator CPU s "
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
            f"{median(lambda s: s.requests['DELETE'], scenario):,.0f}",
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
    objects = object_count(args.nodes)
    print_settings(
        "acos_sync.py",
        args,
        {
            "hosts": f"{args.hosts:,}",
            "nodes": f"{args.nodes:,}",
            "rounds": args.rounds,
            "latency": f"{args.latency_ms} ms",
            "adc.concurrency": args.concurrency,
            "dialect": "acos (ACOS emulator), SLB only: no names published (dns.targets [])",
            "resolution check": "off (no names published)",
        },
    )
    print(
        f"acos sync: {args.hosts:,} hosts, {args.nodes:,} nodes, {len(PORTS)} ports ({objects:,} object writes "
        f"in partition {PARTITION}), {args.latency_ms} ms added latency, concurrency {args.concurrency}, "
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
        noop_detail=lambda _gets: "each collection read whole",
        start_rss=start_rss,
        elapsed=run.elapsed,
        others=run.others,
        load_before=load_before,
    )
    return report_checks(
        "write counts, GETs per observation, saves, writing requests, one login",
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
