"""What the benchmarks that run the mocks as processes measure with: one copy for all of them.

``engine_sync.py``, ``bigip_sync.py`` and ``k8s_sync.py`` measure the same way: they pin the mocks
and the bridge to different CPUs, read CPU time and peak RSS from /proc, start emulators as child
processes that print one line when they listen, drive the mock ADC or the BIG-IP emulator through
their ``/_mock`` controls, report the CPU other
processes took meanwhile (a busy machine inflates every wall time, so a number without that
line cannot be trusted) and end with a checks verdict and exit code 1 when one failed (see
"keeping the word" below: counts and timing targets, --smoke and --no-enforce). When each
script had its own copy, the copies began to drift, and two benchmarks that are meant to be
compared then measured differently. So this module holds that plumbing; the scenarios, targets
and tables stay in the scripts.

It imports nothing from ``adcbridge``: ``k8s_sync.py`` runs the bridge as a process and must not
load it; it may use the emulators' helpers (the BIG-IP emulator's certificate maker). Linux only
(/proc, ``sched_setaffinity``). The scripts import it as a sibling module:
``python benchmarks/<script>.py`` puts ``benchmarks/`` first on ``sys.path``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import ssl
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import httpx

from mocks.bigip.certificates import self_signed

ROOT = Path(__file__).resolve().parent.parent
USERNAME = "admin"  # the mock ADC's credentials, which the bridge is given
PASSWORD = "bench-password"


# ---------------------------------------------------------------------------- the cluster at scale


def node_ip(index: int) -> str:
    """InternalIP of node ``index``: 10.x.y.z, distinct for the first 15 million nodes."""
    return f"10.{1 + index // 62_500}.{index // 250 % 250}.{index % 250 + 1}"


# ---------------------------------------------------------------------------- CPUs and /proc


def pin_cpus(*, own: int) -> tuple[int | None, int | None]:
    """Two different CPUs when there are two, this process pinned to the ``own``-th (0 or 1) of them;
    (None, None) and no pinning otherwise."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    os.sched_setaffinity(0, {available[own]})
    return available[0], available[1]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU-seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU-seconds all processes have spent busy since boot (first line of /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_and_children_seconds() -> float:
    """CPU-seconds of this process and its reaped children (the mocks)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Timed(Protocol):
    wall: float


class Sampled(Protocol):
    @property
    def samples(self) -> Mapping[str, Timed]: ...


RoundT = TypeVar("RoundT", bound=Sampled)


@dataclass
class Rounds(Generic[RoundT]):
    """The rounds run, their wall time and the CPU-seconds other processes spent meanwhile."""

    results: list[RoundT]
    elapsed: float
    others: float


async def run_rounds(count: int, one: Callable[[int], Awaitable[RoundT]]) -> Rounds[RoundT]:
    """``one(index)`` for each round in turn, each round's walls on stderr as it ends."""
    results: list[RoundT] = []
    busy_before, ours_before, began = machine_busy_seconds(), own_and_children_seconds(), time.monotonic()
    for index in range(count):
        result = await one(index)
        walls = ", ".join(f"{name} {sample.wall:.2f} s" for name, sample in result.samples.items())
        print(f"round {index + 1}: {walls}", file=sys.stderr, flush=True)
        results.append(result)
    elapsed = time.monotonic() - began
    others = (machine_busy_seconds() - busy_before) - (own_and_children_seconds() - ours_before)
    return Rounds(results, elapsed, others)


def status_kib(pid: int | str, key: str) -> int:
    """A ``kB`` line of /proc/<pid>/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


# ---------------------------------------------------------------------------- processes


@dataclass
class Child:
    """A running process whose stderr is drained (and kept, with arrival times) in the background."""

    process: asyncio.subprocess.Process
    lines: list[tuple[float, str]] = field(default_factory=list)
    drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def peak_rss_kib(self) -> int:
        return status_kib(self.pid, "VmHWM")

    def start_draining(self) -> None:
        async def drain() -> None:
            assert self.process.stderr is not None
            while line := await self.process.stderr.readline():
                self.lines.append((time.time(), line.decode(errors="replace").rstrip("\n")))

        self.drain = asyncio.create_task(drain())

    def tail(self, count: int = 20) -> str:
        return "\n".join(line for _, line in self.lines[-count:])

    async def stop(self) -> None:
        """SIGTERM, and SIGKILL if it is still running 30 s later."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self.drain is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.drain, 5)


async def spawn(*argv: str, cpu: int | None, env: dict[str, str] | None = None) -> Child:
    """Start ``argv`` in the project's root, pinned to ``cpu`` if one is given."""
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    if cpu is not None:
        os.sched_setaffinity(process.pid, {cpu})
    child = Child(process)
    child.start_draining()
    return child


async def first_line(child: Child, what: str, *, seconds: float) -> str:
    """The line an emulator prints once it listens; stops it and raises RuntimeError if none comes."""
    assert child.process.stdout is not None
    try:
        line = await asyncio.wait_for(child.process.stdout.readline(), seconds)
    except TimeoutError:
        line = b""
    if not line:
        await child.stop()
        raise RuntimeError(f"{what} did not start:\n{child.tail()}")
    return line.decode().strip()


class Emulated:
    """What the benchmarks read of an emulator through its loopback-only ``/_mock`` controls: its
    change log and request counts. Each emulator's class says how a control answer is unwrapped."""

    seq = 0  # the last change-log entry read

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        raise NotImplementedError

    async def new_changes(self) -> list[dict[str, Any]]:
        """Change-log entries (object writes and configuration saves) since the last call."""
        changes: list[dict[str, Any]] = (await self.control("GET", f"changes?since={self.seq}"))["changes"]
        if changes:
            self.seq = int(changes[-1]["seq"])
        return changes

    async def requests(self) -> Counter[str]:
        """API requests received so far, by method (logins and configuration saves included)."""
        return Counter((await self.control("GET", "stats"))["requests"])


class MockAdc(Emulated):
    """The running ``python -m mocks.adc``, with a client for its loopback-only controls."""

    def __init__(self, child: Child, url: str, dns: str | None = None) -> None:
        self.child = child
        self.url = url
        self.dns = dns  # host:port of its DNS responder, when it runs one
        self.controls = httpx.AsyncClient(base_url=url, timeout=60.0)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.controls.request(method, f"/_mock/{path}", json=body)
        response.raise_for_status()
        envelope = response.json()
        assert envelope["res"]["code"] == 0, envelope
        return envelope["data"]


@asynccontextmanager
async def mock_adc(
    latency_ms: int, cpu: int | None, *, start_timeout: float = 20.0, dns: bool = False
) -> AsyncIterator[MockAdc]:
    """The mock ADC on port 0, ``latency_ms`` added to every API request; stopped at the end. With
    ``dns``, its DNS responder on a port 0 of its own (``MockAdc.dns``), else none."""
    responder = ["--dns-listen", "127.0.0.1:0"] if dns else ["--no-dns"]
    child = await spawn(
        sys.executable, "-m", "mocks.adc", "--listen", "127.0.0.1:0", *responder,
        "--username", USERNAME, "--password", PASSWORD, "--max-sessions", "64", cpu=cpu,
    )  # fmt: skip
    try:
        listening = json.loads(await first_line(child, "the mock ADC", seconds=start_timeout))
        mock = MockAdc(child, listening["url"], listening["dns"])
        try:
            await mock.control("POST", "faults", {"rules": [{"kind": "latency", "latency_ms": latency_ms}]})
            yield mock
        finally:
            await mock.controls.aclose()
    finally:
        await child.stop()


class MockBigip(Emulated):
    """The running ``python -m mocks.bigip``, with a client for its loopback-only controls (plain JSON)."""

    def __init__(self, child: Child, url: str, ca_file: Path) -> None:
        self.child = child
        self.url = url
        self.ca_file = ca_file  # the unit's certificate, which a client verifies it with
        self.controls = httpx.AsyncClient(
            base_url=url, timeout=60.0, verify=ssl.create_default_context(cafile=str(ca_file))
        )

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.controls.request(method, f"/_mock/{path}", json=body)
        response.raise_for_status()
        return response.json()

    async def seed(self, requests: list[dict[str, Any]]) -> None:
        """REST writes made as an administrator, outside the change log and the counters."""
        await self.control("POST", "seed", {"requests": requests})


def write_certificate(directory: Path, name: str = "bigip") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (mode 0600) in ``directory``."""
    certificate, key = directory / f"{name}.pem", directory / f"{name}-key.pem"
    certificate_pem, key_pem = self_signed("127.0.0.1")
    certificate.write_bytes(certificate_pem)
    key.touch(mode=0o600)
    key.write_bytes(key_pem)
    return certificate, key


@asynccontextmanager
async def mock_bigip(latency_ms: int, cpu: int | None, *, start_timeout: float = 20.0) -> AsyncIterator[MockBigip]:
    """The BIG-IP emulator on port 0 without DNS, with a certificate made here (so clients verify it)
    and ``latency_ms`` added to every ``/mgmt`` request, the login included; stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="adcbridge-bench.") as directory:
        certificate, key = write_certificate(Path(directory))
        child = await spawn(
            sys.executable, "-m", "mocks.bigip", "--listen", "127.0.0.1:0", "--no-dns",
            "--username", USERNAME, "--password", PASSWORD, "--tls-cert", str(certificate), "--tls-key", str(key),
            cpu=cpu,
        )  # fmt: skip
        try:
            url = json.loads(await first_line(child, "the BIG-IP emulator", seconds=start_timeout))["url"]
            unit = MockBigip(child, url, certificate)
            try:
                await unit.control("POST", "faults", {"rules": [{"kind": "latency", "latency_ms": latency_ms}]})
                yield unit
            finally:
                await unit.controls.aclose()
        finally:
            await child.stop()


class MockAcos(MockBigip):
    """The running ``python -m mocks.acos``: the same loopback-only controls, plain JSON, over HTTPS."""


@asynccontextmanager
async def mock_acos(latency_ms: int, cpu: int | None, *, start_timeout: float = 20.0) -> AsyncIterator[MockAcos]:
    """The ACOS emulator on port 0 with a certificate made here (so clients verify it) and ``latency_ms``
    added to every ``/axapi`` request, the login included; stopped at the end."""
    with tempfile.TemporaryDirectory(prefix="adcbridge-bench.") as directory:
        certificate, key = write_certificate(Path(directory), "acos")
        child = await spawn(
            sys.executable, "-m", "mocks.acos", "--listen", "127.0.0.1:0",
            "--username", USERNAME, "--password", PASSWORD, "--tls-cert", str(certificate), "--tls-key", str(key),
            cpu=cpu,
        )  # fmt: skip
        try:
            url = json.loads(await first_line(child, "the ACOS emulator", seconds=start_timeout))["url"]
            unit = MockAcos(child, url, certificate)
            try:
                await unit.control("POST", "faults", {"rules": [{"kind": "latency", "latency_ms": latency_ms}]})
                yield unit
            finally:
                await unit.controls.aclose()
        finally:
            await child.stop()


# ---------------------------------------------------------------------------- arguments and report


def argument_parser(doc: str | None, *, rounds: str, hosts: str | None = None) -> argparse.ArgumentParser:
    """--hosts, --nodes, --rounds and --latency-ms with the production-scale defaults, --smoke and
    --no-enforce; the scripts add the rest."""
    cli = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    cli.add_argument("--hosts", type=int, default=10_000, help=hosts)
    cli.add_argument("--nodes", type=int, default=500, help="Ready nodes")
    cli.add_argument("--rounds", type=int, default=3, help=rounds)
    cli.add_argument("--latency-ms", type=int, default=5, help="added by the mock appliance to every API request")
    add_run_modes(cli)
    return cli


def report_other_cpu(seconds: float, *, during: str, load_before: float, who: str = "Other processes") -> None:
    """The quiet-machine line: what other processes took while the rounds ran."""
    print(
        f"{who} used {max(seconds, 0.0):.1f} CPU-s during {during} (about 0 on a quiet machine; "
        f"more means the times above are inflated); load average {load_before:.2f} at start."
    )


# ---------------------------------------------------------------------------- keeping the word
#
# Every benchmark checks two kinds of things. Counts (object writes, requests, list pages, DNS
# messages, objects on the appliance) say whether the benchmark measured what it claims: a wrong
# count fails every run, a smoke run included, whatever --no-enforce says. Timing targets say
# whether the code is fast enough: judged in a full run only (a smoke run on a shared machine
# would flake), failing it unless --no-enforce asks only for a report. The decisions are pure
# functions (count_problem, decide), so the tests can prove each way of failing.

SKEW_VARIABLE = "ADCBRIDGE_BENCH_SKEW_COUNTS"  # added to every expected count: proves the failing path


def count_problem(what: str, expected: int, got: int, *, at_most: bool = False, skew: int = 0) -> str | None:
    """None when ``got`` is ``expected`` (or, ``at_most``, does not exceed it); else what is wrong.
    ``skew`` is added to the expectation first (the tests use it to make a right count look wrong)."""
    wanted = expected + skew
    if (got <= wanted) if at_most else (got == wanted):
        return None
    return f"{what}: expected {'at most ' if at_most else ''}{wanted:,}, got {got:,}"


def count_skew() -> int:
    """The skew the environment asks for (``ADCBRIDGE_BENCH_SKEW_COUNTS``), 0 when unset."""
    return int(os.environ.get(SKEW_VARIABLE) or 0)


def expect_count(problems: list[str], what: str, expected: int, got: int, *, at_most: bool = False) -> None:
    """Append to ``problems`` when a count is wrong: the one way every benchmark checks a count."""
    problem = count_problem(what, expected, got, at_most=at_most, skew=count_skew())
    if problem is not None:
        problems.append(problem)


@dataclass(frozen=True)
class Timing:
    """A measured figure and its target: below ``limit``, or at least ``limit`` when ``at_least``."""

    what: str
    measured: float
    limit: float
    unit: str = "s"
    at_least: bool = False

    @property
    def missed(self) -> bool:
        """True when the target is missed; a NaN (nothing measured) misses it too."""
        return not (self.measured >= self.limit if self.at_least else self.measured < self.limit)

    def describe(self) -> str:
        bound = f"at least {self.limit:,g}" if self.at_least else f"under {self.limit:,g}"
        digits = 3 if self.unit == "s" else 0
        return f"{self.what}: {self.measured:,.{digits}f} {self.unit}, target {bound} {self.unit}"


def median_walls(walls: Mapping[str, Sequence[float]], targets: Mapping[str, float]) -> list[Timing]:
    """Each scenario with a target, the median of its wall times over the rounds."""
    return [
        Timing(f"{scenario} wall time (median of rounds)", statistics.median(walls[scenario]), limit)
        for scenario, limit in targets.items()
    ]


@dataclass(frozen=True)
class Verdict:
    """What the run concludes: exit code, the lines for stdout and the failures for stderr."""

    exit_code: int
    lines: tuple[str, ...]
    failures: tuple[str, ...]


def decide(problems: Sequence[str], timings: Sequence[Timing], *, smoke: bool, enforce: bool) -> Verdict:
    """Wrong counts (``problems``) always fail; missed timing targets fail a full run that enforces
    them, are reported without failing under --no-enforce, and are not judged in a smoke run."""
    lines = [f"Counts: {'FAILED' if problems else 'all as expected'} ({len(problems)} wrong)."]
    failures = [f"CHECK FAILED: {problem}" for problem in problems]
    missed = [timing for timing in timings if timing.missed]
    if smoke:
        lines.append(f"Timing targets: not judged (smoke run; {len(timings)} target(s) skipped).")
    else:
        for timing in timings:
            lines.append(f"Target {'MISSED' if timing.missed else 'met'}: {timing.describe()}.")
        if missed and enforce:
            failures += [f"TARGET MISSED: {timing.describe()}" for timing in missed]
        elif missed:
            lines.append(f"{len(missed)} target(s) missed, not enforced (--no-enforce).")
    failed = bool(problems) or (not smoke and enforce and bool(missed))
    return Verdict(1 if failed else 0, tuple(lines), tuple(failures))


def report_checks(
    what: str,
    problems_by_round: Sequence[Sequence[str]],
    args: argparse.Namespace,
    timings: Sequence[Timing] = (),
) -> int:
    """The verdict on stdout, each failure on stderr; the exit code (1 if a count is wrong or, in a
    full run that enforces targets, a target was missed)."""
    problems = [f"round {index + 1}: {problem}" for index, found in enumerate(problems_by_round) for problem in found]
    verdict = decide(problems, timings, smoke=args.smoke, enforce=args.enforce)
    print(f"Checks ({what}):")
    for line in verdict.lines:
        print(line)
    for failure in verdict.failures:
        print(failure, file=sys.stderr)
    return verdict.exit_code


# ---------------------------------------------------------------------------- run modes


def add_run_modes(cli: argparse.ArgumentParser) -> None:
    """--smoke and --no-enforce, for every benchmark."""
    cli.add_argument(
        "--smoke",
        action="store_true",
        help="a small configuration that checks counts only, never times (make test runs it); "
        "options given explicitly still apply",
    )
    cli.add_argument(
        "--no-enforce",
        dest="enforce",
        action="store_false",
        help="report missed timing targets without failing (wrong counts still fail)",
    )


def parse_arguments(cli: argparse.ArgumentParser, smoke: dict[str, Any]) -> argparse.Namespace:
    """The arguments; with --smoke, ``smoke`` replaces the defaults (explicit options still win)."""
    args = cli.parse_args()
    if args.smoke:
        cli.set_defaults(**smoke)
        args = cli.parse_args()
    return args


def print_settings(script: str, args: argparse.Namespace, settings: dict[str, object], *, file: Any = None) -> None:
    """The first line of every benchmark's output: the mode and the settings it ran with."""
    if args.smoke:
        mode = "smoke (counts checked, timing targets not judged)"
    elif args.enforce:
        mode = "full (counts and timing targets enforced)"
    else:
        mode = "full, --no-enforce (counts enforced, timing targets reported only)"
    listed = ", ".join(f"{name} {value}" for name, value in settings.items())
    print(f"settings of {script}: {mode}; {listed}", file=file or sys.stdout, flush=True)
