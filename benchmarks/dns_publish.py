"""Publishing 10,000 names to a real BIND 9 by signed RFC 2136 UPDATE, and checking that they resolve.

One zone, ``bench.test``, names ``h00000.bench.test`` ... ``h09999.bench.test``, each an A record for
the VIP 192.0.2.10 (and our TXT marker). The bridge's own pieces do the work, wired from default
settings as the app wires them (``app.zone_target``, ``verifying.verifier_for``): ``Rfc2136Target``
observes (signed AXFR) and applies (signed UPDATEs of ``batch_size`` names), ``records.plan_records``
plans, ``Verifier`` asks the server for every name. Each round starts a fresh ``named``
(``tests/bind_server.py``: an empty zone, a TSIG key) and runs, in order:

1. cold publish: observe the empty zone, plan, apply 10,000 creates; then a signed AXFR of our own
   (``dns.query.xfr``, not the target's code) must find exactly the names, each with the VIP and our marker;
2. no-op cycle: observe and plan, nothing to apply (1 message: the transfer);
3. one name changed: its address moves (1 transfer + 1 UPDATE);
4. verify: every name asked of BIND (A over UDP) at the default ``verify_concurrency`` and
   ``verify_timeout``; every check must be ok. Reported against the resync period (60 s by default):
   the check must fit in one;
5. no-op cycle in ``observe="query"`` mode (3 signed queries per name: A, AAAA, TXT), unless
   ``--no-query-mode``.

Why: an operator asks for wall time and messages sent for 10,000 names, and for a resolution check
that scales to 10,000 names within one resync period at default settings. Message counts, the zone's
content, the plans and every verify result are *checked* (exit 1 otherwise, in every run); in a full
run the check must also fit in one resync period (exit 1 when not; ``--no-enforce`` only reports
it). ``--smoke`` publishes 300 names once, counts only (``make test`` runs it). ``named`` is pinned to one CPU and this
process to the other (``named`` inherits the CPU at its start: every thread of it); BIND's CPU is
read from ``/proc/<pid>/stat`` (all its threads).
``BindServer`` starts ``named -n 2``; its two worker threads share that one CPU, which costs nothing
measurable here: BIND's CPU is at most an eighth of any scenario's wall time.

Usage: ``.venv/bin/python benchmarks/dns_publish.py [--names 10000] [--rounds 3] [--batch-size 100]
[--no-query-mode] [--smoke] [--no-enforce]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.zone
from measuring import (
    ROOT,
    Timing,
    add_run_modes,
    cpu_seconds,
    expect_count,
    machine_busy_seconds,
    parse_arguments,
    pin_cpus,
    print_settings,
    report_checks,
    report_other_cpu,
    status_kib,
)

from adcbridge.app import zone_target
from adcbridge.config import Settings, settings_from_values
from adcbridge.desired import owner_of
from adcbridge.dns.rfc2136 import Rfc2136Target
from adcbridge.dns.verify import VerifyReport
from adcbridge.records import RecordApplyReport, RecordPlan, plan_records
from adcbridge.verifying import verifier_for

if TYPE_CHECKING:  # at run time imported in bind_server(): tests/ is not a package on sys.path
    from tests.bind_server import BindServer

ZONE = "bench.test"
VIP = "192.0.2.10"
MOVED_TO = "192.0.2.11"  # the changed name's new address
OWNER_ID = "bench"
SMOKE = {"names": 300, "rounds": 1}  # --smoke
SCENARIOS = ("cold publish", "no-op cycle", "one name changed", "verify", "no-op cycle, observe=query")


def name_of(index: int) -> str:
    return f"h{index:05d}.{ZONE}"


def bench_settings(server: BindServer, *, batch_size: int, observe: str = "axfr") -> Settings:
    """Defaults everywhere but the server, its key, the zone, the batch size and the observe mode."""
    return settings_from_values(
        owner_id=OWNER_ID,
        adc={"url": "http://127.0.0.1:9"},  # required, never contacted: the ADC is no target here
        vip={"addresses": [VIP]},
        dns={"targets": ["rfc2136"]},  # verify_servers empty: the verifier asks the rfc2136 server
        rfc2136={
            "server": f"{server.host}:{server.port}",
            "zones": [ZONE],
            "tsig_key_name": server.key_name,
            "tsig_secret": server.secret,
            "tsig_algorithm": server.algorithm,
            "batch_size": batch_size,
            "observe": observe,
        },
    )


# ---------------------------------------------------------------------------- BIND


def bind_server() -> BindServer:
    """A BindServer with the one empty zone (tests/bind_server.py, imported from the project's root)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.bind_server import BindServer, ZoneSpec, named_path

    if named_path() is None:
        raise SystemExit("named (BIND 9) is not installed: `make bind9` installs Debian's bind9")
    return BindServer([ZoneSpec(ZONE)])


@contextlib.contextmanager
def running_on(cpu: int | None) -> Iterator[None]:
    """This process on ``cpu`` for the block, so that children started in it inherit that CPU."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def named_pid(server: BindServer) -> int:
    return int((server.directory / "named.pid").read_text().split()[0])


def zone_census(server: BindServer, marker: str) -> tuple[dict[str, set[str]], int]:
    """Our names in the zone by signed AXFR (dnspython's blocking ``xfr``, not the target's code):
    name -> its A addresses, for names with our marker; and how many names carry no marker of ours."""
    zone = dns.zone.from_xfr(
        dns.query.xfr(
            server.host,
            ZONE,
            port=server.port,
            keyring=server.keyring,
            keyname=server.tsig_key.name,
            relativize=False,
            lifetime=120,
        ),
        relativize=False,
    )
    ours: dict[str, set[str]] = {}
    others = 0
    for owner, node in zone.nodes.items():
        name = owner.to_text(omit_final_dot=True)
        texts = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.TXT)
        strings = [b"".join(rdata.strings).decode() for rdata in texts] if texts else []
        if marker in strings:
            addresses = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.A)
            ours[name] = {rdata.to_text() for rdata in addresses} if addresses else set()
        elif name.startswith("h"):
            others += 1
    return ours, others


# ---------------------------------------------------------------------------- measuring


@dataclass
class Step:
    """One scenario of one round."""

    wall: float = 0.0
    messages: int = 0  # DNS messages sent: the target's counter, or the verifier's queries
    own_cpu: float = 0.0
    bind_cpu: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


class Meter:
    """Wall time, this process's CPU and named's CPU over a block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    @contextlib.contextmanager
    def measure(self, step: Step) -> Iterator[Step]:
        wall, own, bind = time.perf_counter(), time.process_time(), cpu_seconds(self.pid)
        try:
            yield step
        finally:
            step.wall = time.perf_counter() - wall
            step.own_cpu = time.process_time() - own
            step.bind_cpu = cpu_seconds(self.pid) - bind


async def cycle(
    target: Rfc2136Target, wanted: dict[str, tuple[str, ...]], settings: Settings, meter: Meter
) -> tuple[Step, RecordPlan, RecordApplyReport | None]:
    """One cycle of the zone side as the reconciler runs it: observe, plan, apply when there is something."""
    step = Step()
    sent = target.messages
    with meter.measure(step):
        started = time.perf_counter()
        observed = await target.observe(wanted)
        observed_at = time.perf_counter()
        plan = plan_records(
            wanted, observed, zones=settings.rfc2136.zones, marker=owner_of(settings).marker,
            ttl=settings.rfc2136.ttl, policy=settings.policy,
        )  # fmt: skip
        planned_at = time.perf_counter()
        report = None if plan.empty else await target.apply(plan)
        step.phases = {
            "observe": observed_at - started,
            "plan": planned_at - observed_at,
            "apply": time.perf_counter() - planned_at,
        }
    step.messages = target.messages - sent
    return step, plan, report


@dataclass
class Round:
    steps: dict[str, Step] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    bind_rss_kib: int = 0
    bind_cpu: float = 0.0  # named's whole life, start-up included
    failures: list[str] = field(default_factory=list)  # verify failures, first few


def check_plan(
    problems: list[str], scenario: str, plan: RecordPlan, report: RecordApplyReport | None, actions: dict[str, int]
) -> None:
    """The plan holds exactly ``actions`` (action -> count), no conflicts, and every change was done."""
    counted: dict[str, int] = {}
    for change in plan.changes:
        counted[change.action.value] = counted.get(change.action.value, 0) + 1
    for action in sorted(set(counted) | set(actions)):
        expect_count(problems, f"{scenario}: planned {action}s", actions.get(action, 0), counted.get(action, 0))
    expect_count(problems, f"{scenario}: conflicts", 0, len(plan.conflicts))
    expect_count(problems, f"{scenario}: held back", 0, len(plan.held_back))
    expect_count(problems, f"{scenario}: names outside the zones", 0, len(plan.unzoned))
    failures = report.failures if report is not None else []
    expect_count(problems, f"{scenario}: changes not done", 0, len(failures))
    if failures:
        problems.append(f"{scenario}: first change not done, {failures[0].change.name}: {failures[0]}")


def check_messages(problems: list[str], scenario: str, step: Step, expected: int) -> None:
    """Exactly ``expected``; for the cold publish, more only when batches were too big for one message
    (``--batch-size`` above about 500: each is halved until it fits, one more message per split)."""
    splits_allowed = scenario == "cold publish"
    if not (splits_allowed and expected < step.messages <= 2 * expected):
        expect_count(problems, f"{scenario}: DNS messages sent", expected, step.messages)


def check_zone(problems: list[str], server: BindServer, wanted: dict[str, tuple[str, ...]], marker: str) -> None:
    """Exactly the wanted names carry our marker, each with the VIP alone, and no name of ours lacks it."""
    ours, others = zone_census(server, marker)
    wrong = [name for name, addresses in ours.items() if addresses != {VIP}]
    where = "zone after the cold publish"
    expect_count(problems, f"{where}: names with our marker", len(wanted), len(ours))
    expect_count(problems, f"{where}: wanted names missing", 0, len(set(wanted) - set(ours)))
    expect_count(problems, f"{where}: names with other addresses", 0, len(wrong))
    expect_count(problems, f"{where}: names of ours without the marker", 0, others)


async def timed_cycle(
    result: Round,
    scenario: str,
    target: Rfc2136Target,
    wanted: dict[str, tuple[str, ...]],
    *,
    settings: Settings,
    meter: Meter,
    actions: dict[str, int],
    messages: int,
) -> None:
    """One cycle recorded as ``scenario``, its plan and message count checked."""
    step, plan, report = await cycle(target, wanted, settings, meter)
    result.steps[scenario] = step
    check_plan(result.problems, scenario, plan, report, actions)
    check_messages(result.problems, scenario, step, messages)


async def timed_verify(result: Round, wanted: dict[str, tuple[str, ...]], settings: Settings, meter: Meter) -> None:
    """The resolution check at default settings; every name must be ok, one query each."""
    verifier = verifier_for(settings)
    step = Step()
    with meter.measure(step):
        verified: VerifyReport = await verifier.verify(wanted)
    step.messages = verified.queries
    result.steps["verify"] = step
    expect_count(result.problems, "verify: names ok", len(wanted), verified.counts().get("ok", 0))
    expect_count(
        result.problems, "verify: names not ok", 0, sum(verified.counts().values()) - verified.counts().get("ok", 0)
    )
    if verified.counts() != {"ok": len(wanted)}:
        result.failures = [f"{check.name}: {check.reason} {check.detail}" for check in verified.failures()[:5]]
    check_messages(result.problems, "verify", step, len(wanted))


async def scenarios(result: Round, server: BindServer, pid: int, args: argparse.Namespace) -> None:
    meter = Meter(pid)
    settings = bench_settings(server, batch_size=args.batch_size)
    target = zone_target(settings)
    assert target is not None
    wanted: dict[str, tuple[str, ...]] = {name_of(index): (VIP,) for index in range(args.names)}

    async def run(scenario: str, zones: Rfc2136Target, actions: dict[str, int], messages: int) -> None:
        await timed_cycle(result, scenario, zones, wanted, settings=settings, meter=meter, actions=actions,
                          messages=messages)  # fmt: skip

    await run("cold publish", target, {"create": args.names}, 1 + math.ceil(args.names / args.batch_size))
    check_zone(result.problems, server, wanted, owner_of(settings).marker)
    await run("no-op cycle", target, {}, 1)
    wanted[name_of(0)] = (MOVED_TO,)
    await run("one name changed", target, {"update": 1}, 2)
    await timed_verify(result, wanted, settings, meter)
    if args.query_mode:
        by_query = zone_target(bench_settings(server, batch_size=args.batch_size, observe="query"))
        assert by_query is not None
        await run("no-op cycle, observe=query", by_query, {}, 3 * args.names)


async def run_round(args: argparse.Namespace, cpus: tuple[int | None, int | None]) -> Round:
    """A fresh named (on the first CPU: it and all its threads inherit it), the scenarios, named stopped."""
    result = Round()
    server = bind_server()
    with running_on(cpus[0]):
        await server.start()
    try:
        pid = named_pid(server)
        try:
            await scenarios(result, server, pid, args)
        except AssertionError as exc:
            result.problems.append(str(exc) or repr(exc))
        result.bind_rss_kib = status_kib(pid, "VmHWM")
        result.bind_cpu = cpu_seconds(pid)
    finally:
        await server.stop()
    return result


# ---------------------------------------------------------------------------- report


def table(rounds: list[Round], budget: float) -> list[str]:
    lines = [
        "| scenario | wall s | wall min-max | DNS messages | observe s | plan s | apply s | bench CPU s "
        "| BIND CPU s | budget s | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario in SCENARIOS:
        steps = [result.steps[scenario] for result in rounds if scenario in result.steps]
        if not steps:
            continue
        walls = [step.wall for step in steps]

        def median(values: list[float], digits: int = 3) -> str:
            return f"{statistics.median(values):.{digits}f}"

        phases = [
            median([step.phases[phase] for step in steps]) if steps[0].phases else "—"
            for phase in ("observe", "plan", "apply")
        ]
        ratio = f"{budget:g} | {statistics.median(walls) / budget:.3f}" if scenario == "verify" else "— | —"
        lines.append(
            f"| {scenario} | {median(walls)} | {min(walls):.3f}-{max(walls):.3f} "
            f"| {statistics.median(step.messages for step in steps):,.0f} | {' | '.join(phases)} "
            f"| {median([step.own_cpu for step in steps], 2)} | {median([step.bind_cpu for step in steps], 2)} "
            f"| {ratio} |"
        )
    return lines


async def measure(args: argparse.Namespace) -> int:
    cpus = pin_cpus(own=1)  # (named's CPU, this process's CPU)
    load_before = os.getloadavg()[0]
    defaults = settings_from_values(owner_id=OWNER_ID, adc={"url": "http://127.0.0.1:9"}, vip={"addresses": [VIP]})
    budget = defaults.reconcile.resync_seconds
    placement = f"named on CPU {cpus[0]}, benchmark on CPU {cpus[1]}" if cpus[0] is not None else "no CPU pinning"
    print_settings(
        "dns_publish.py",
        args,
        {
            "names": f"{args.names:,}",
            "rounds": args.rounds,
            "rfc2136.batch_size": args.batch_size,
            "observe=query cycle": "on" if args.query_mode else "off",
            "latency": "none added (BIND on loopback)",
            "verify_concurrency": defaults.dns.verify_concurrency,
            "dialect": "none (RFC 2136 to BIND 9; no ADC)",
            "resolution check": "on (the verify scenario, every name)",
        },
    )
    print(
        f"dns publish: {args.names:,} names in zone {ZONE} (A {VIP} + TXT marker each), batch_size "
        f"{args.batch_size}, ttl {defaults.rfc2136.ttl}, verify_concurrency {defaults.dns.verify_concurrency}, "
        f"verify_timeout {defaults.dns.verify_timeout:g} s; {args.rounds} round(s), a fresh named each; "
        f"{placement}; Python {sys.version.split()[0]}",
        flush=True,
    )
    rounds: list[Round] = []
    others = 0.0
    for index in range(args.rounds):
        busy_before, own_before = machine_busy_seconds(), time.process_time()
        result = await run_round(args, cpus)
        busy = machine_busy_seconds() - busy_before
        others += busy - (time.process_time() - own_before) - result.bind_cpu
        walls = ", ".join(f"{name} {step.wall:.2f} s" for name, step in result.steps.items())
        print(f"round {index + 1}: {walls}", file=sys.stderr, flush=True)
        rounds.append(result)
    print()
    print("\n".join(table(rounds, budget)))
    print()
    complete = [result for result in rounds if "verify" in result.steps]
    if complete:
        rss = statistics.median(result.bind_rss_kib for result in complete) / 1024
        print(
            f"named: peak RSS (VmHWM) {rss:.0f} MiB at the end of a round, "
            f"{statistics.median(result.bind_cpu for result in complete):.2f} CPU-s over its whole life "
            f"(median of rounds). Verify budget: one resync period, {budget:g} s (reconcile.resync_seconds)."
        )
    for result in rounds:
        for failure in result.failures:
            print(f"verify failure: {failure}", file=sys.stderr)
    report_other_cpu(others, during="the rounds", load_before=load_before)
    verified = [result.steps["verify"].wall for result in rounds if "verify" in result.steps]
    timings = [
        Timing("verify wall time, median of rounds", statistics.median(verified) if verified else math.nan, budget)
    ]
    return report_checks(
        "message counts, the zone's content after the cold publish, the plans, every verify ok",
        [result.problems for result in rounds],
        args,
        timings,
    )


def main() -> int:
    cli = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    cli.add_argument("--names", type=int, default=10_000, help="names published in the zone")
    cli.add_argument("--rounds", type=int, default=3, help="rounds, each on a fresh named; medians reported")
    cli.add_argument("--batch-size", type=int, default=100, help="names per UPDATE (rfc2136.batch_size)")
    cli.add_argument(
        "--query-mode",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time a no-op cycle with rfc2136.observe=query (3 queries per name)",
    )
    add_run_modes(cli)
    args = parse_arguments(cli, SMOKE)
    if min(args.names, args.rounds) < 1 or not 1 <= args.batch_size <= 1000:
        cli.error("--names and --rounds must be positive, --batch-size from 1 to 1000")
    if args.names > 100_000:
        cli.error("--names: at most 100,000 (names are h00000 ... h99999)")
    return asyncio.run(measure(args))


if __name__ == "__main__":
    sys.exit(main())
