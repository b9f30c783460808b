"""How many small requests per second the mock ADC serves on one core.

The emulator runs as its own process pinned to CPU 0; this client is pinned to CPU 1 and
keeps ``--concurrency`` keep-alive connections busy for ``--seconds`` per round. Each
scenario runs ``--rounds`` times and the median is reported, with the server's own CPU
time per request (from /proc) so that a client-bound run is visible as such.

Scenarios: GET of one object; a POST + DELETE pair of nodes (mutations, audited and
validated); a list page of 50 pools with members; DNS A queries over UDP.

Counts, checked in every run (exit 1 when one is wrong): the seeded objects are on the mock, every
HTTP request this client made reached the mock's counters (``/_mock/stats``, per round) and every
DNS query was answered with the seeded address. Target, enforced in a full run (exit 1 when missed;
``--no-enforce`` only reports it): each scenario's 1-core bound is at least 2,000 requests per
second. ``--smoke`` (0.2 s rounds, one each, 4 connections) checks the counts only.

Usage: ``.venv/bin/python benchmarks/mock_adc_throughput.py [--seconds 2] [--rounds 5] [--smoke]
[--no-enforce]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import dns.asyncquery
import dns.message
import dns.rcode
from measuring import Timing, add_run_modes, expect_count, parse_arguments, print_settings, report_checks

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"
TARGET_RPS = 2000.0  # each scenario's 1-core bound, enforced in a full run
SEEDED = {"slb/node": 50, "slb/pool": 50, "slb/pool/rserver": 100, "dns/domain": 1}
SEEDED_ADDRESS = "192.0.2.10"
SMOKE = {"seconds": 0.2, "rounds": 1, "concurrency": 4}  # --smoke
# One unit of work; returns how many HTTP requests it made.
Request = Callable[[aiohttp.ClientSession], Awaitable[int]]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def start_mock() -> tuple[asyncio.subprocess.Process, str, tuple[str, int]]:
    process = await asyncio.create_subprocess_exec(
        "taskset", "-c", "0", sys.executable, "-m", "mocks.adc",
        "--listen", "127.0.0.1:0", "--dns-listen", "127.0.0.1:0", "--password", PASSWORD,
        "--max-sessions", "64", cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    ready = json.loads(await process.stdout.readline())
    host, _, port = ready["dns"].rpartition(":")
    return process, ready["url"], (host, int(port))


async def api(session: aiohttp.ClientSession, method: str, url: str, body: object = None) -> dict[str, object]:
    async with session.request(method, url, json=body) as response:
        envelope: dict[str, object] = await response.json()
    res = envelope["res"]
    assert isinstance(res, dict), envelope
    assert res["code"] == 0, envelope
    return envelope


async def seed(session: aiohttp.ClientSession, url: str) -> None:
    for index in range(50):
        await api(session, "POST", f"{url}/adc/v3.0/slb/node", {"name": f"seed{index}", "ip": f"10.9.0.{index + 1}"})
        await api(session, "POST", f"{url}/adc/v3.0/slb/pool", {"name": f"pool{index}", "healthcheck": ["tcp"]})
        for port in (30080, 30443):
            member = {"node": f"seed{index}", "port": port}
            await api(session, "POST", f"{url}/adc/v3.0/slb/pool/pool{index}/rserver", member)
    domain = {"name": "www.example.com", "type": "A", "addresses": [SEEDED_ADDRESS]}
    await api(session, "POST", f"{url}/adc/v3.0/dns/domain", domain)


def scenarios(url: str) -> dict[str, Request]:
    counter = itertools.count()

    async def get_one(session: aiohttp.ClientSession) -> int:
        await api(session, "GET", f"{url}/adc/v3.0/slb/node/seed7")
        return 1

    async def create_delete(session: aiohttp.ClientSession) -> int:
        index = next(counter)
        name = f"bench{index}"
        ip = f"10.{100 + index // 65025 % 100}.{index // 255 % 255}.{index % 255 + 1}"
        await api(session, "POST", f"{url}/adc/v3.0/slb/node", {"name": name, "ip": ip})
        await api(session, "DELETE", f"{url}/adc/v3.0/slb/node/{name}")
        return 2

    async def list_page(session: aiohttp.ClientSession) -> int:
        await api(session, "GET", f"{url}/adc/v3.0/slb/pool?page=1&page_size=50")
        return 1

    return {"GET one node": get_one, "POST/DELETE node": create_delete, "GET 50 pools+members": list_page}


async def run_http(url: str, request: Request, *, token: str, seconds: float, concurrency: int) -> int:
    done = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers={"x-access-token": token}) as session:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                made = await request(session)  # not `done += await ...`: that reads `done` before awaiting
                done += made

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def run_dns(address: tuple[str, int], *, seconds: float, concurrency: int, answered: list[int]) -> int:
    """Queries sent; ``answered`` gains how many came back with the seeded address alone."""
    done = right = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, right
        while time.monotonic() < deadline:
            query = dns.message.make_query("www.example.com", "A")
            response = await dns.asyncquery.udp(query, address[0], port=address[1], timeout=2)
            done += 1
            addresses = [rdata.to_text() for rrset in response.answer for rdata in rrset]
            right += response.rcode() == dns.rcode.NOERROR and addresses == [SEEDED_ADDRESS]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    answered.append(right)
    return done


@dataclass
class Measured:
    results: list[dict[str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def served(session: aiohttp.ClientSession, url: str) -> int:
    """API requests the mock has counted so far (all methods)."""
    envelope = await api(session, "GET", f"{url}/_mock/stats")
    data = envelope["data"]
    assert isinstance(data, dict)
    return int(data["total"])


async def seeded_counts(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    envelope = await api(session, "GET", f"{url}/_mock/state")
    data = envelope["data"]
    assert isinstance(data, dict)
    counts: dict[str, Any] = data["counts"]
    return counts


async def measure(args: argparse.Namespace) -> Measured:
    process, url, dns_address = await start_mock()
    measured = Measured()
    results, problems = measured.results, measured.problems
    answered: list[int] = []
    try:
        async with aiohttp.ClientSession() as session:
            login = await api(session, "POST", f"{url}/adc/v3.0/login", {"username": "admin", "password": PASSWORD})
            data = login["data"]
            assert isinstance(data, dict)
            token = str(data["token"])
        async with aiohttp.ClientSession(headers={"x-access-token": token}) as session:
            await seed(session, url)
        async with aiohttp.ClientSession() as controls:  # /_mock: loopback controls, not counted by the mock
            counts = await seeded_counts(controls, url)
            for kind, expected in SEEDED.items():
                expect_count(problems, f"seeded {kind} objects on the mock", expected, counts.get(kind, 0))
            mock_counted = await served(controls, url)
        jobs: dict[str, Callable[[], Awaitable[int]]] = {
            name: (lambda r=request: run_http(url, r, token=token, seconds=args.seconds, concurrency=args.concurrency))
            for name, request in scenarios(url).items()
        }
        dns_job = "DNS A query (UDP)"
        jobs[dns_job] = lambda: run_dns(
            dns_address, seconds=args.seconds, concurrency=args.concurrency, answered=answered
        )
        for name, job in jobs.items():
            rates, cpu_per_request = [], []
            for index in range(args.rounds):
                cpu_before, started = cpu_seconds(process.pid), time.monotonic()
                count = await job()
                elapsed, cpu = time.monotonic() - started, cpu_seconds(process.pid) - cpu_before
                if name == dns_job:
                    expect_count(problems, f"{name} round {index + 1}: right answers", count, answered[-1])
                else:
                    async with aiohttp.ClientSession() as controls:
                        now = await served(controls, url)
                    what = f"{name} round {index + 1}: requests the mock counted"
                    expect_count(problems, what, count, now - mock_counted)
                    mock_counted = now
                rates.append(count / elapsed)
                cpu_per_request.append(cpu / count * 1e6)
            results.append(
                {
                    "scenario": name,
                    "median_rps": round(statistics.median(rates)),
                    "min_rps": round(min(rates)),
                    "server_cpu_us_per_request": round(statistics.median(cpu_per_request)),
                    "server_core_bound_rps": round(1e6 / statistics.median(cpu_per_request)),
                }
            )
    finally:
        process.terminate()
        await process.wait()
    return measured


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    cli.add_argument("--seconds", type=float, default=2.0, help="length of one round")
    cli.add_argument("--rounds", type=int, default=5)
    cli.add_argument("--concurrency", type=int, default=16)
    cli.add_argument(
        "--json", action="store_true", help="print JSON instead of a table (settings and checks on stderr)"
    )
    add_run_modes(cli)
    args = parse_arguments(cli, SMOKE)
    settings = {
        "seconds per round": args.seconds,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "latency": "none added",
        "dialect": "reference (mock ADC)",
        "resolution check": "none (the mock alone)",
    }
    print_settings("mock_adc_throughput.py", args, settings, file=sys.stderr if args.json else sys.stdout)
    os.sched_setaffinity(0, {1} if (os.cpu_count() or 1) > 1 else {0})
    measured = asyncio.run(measure(args))
    results = measured.results
    timings = [
        Timing(f"{row['scenario']}: 1-core bound", float(str(row["server_core_bound_rps"])), TARGET_RPS,
               unit="req/s", at_least=True)
        for row in results
    ]  # fmt: skip
    what = "seeded objects, requests counted, DNS answers"
    if args.json:
        print(json.dumps(results, indent=2))
        with contextlib.redirect_stdout(sys.stderr):
            return report_checks(what, [measured.problems], args, timings)
    print(f"{'scenario':<24} {'median req/s':>12} {'min req/s':>10} {'server CPU us/req':>18} {'1-core bound':>13}")
    for row in results:
        print(
            f"{row['scenario']:<24} {row['median_rps']:>12} {row['min_rps']:>10} "
            f"{row['server_cpu_us_per_request']:>18} {row['server_core_bound_rps']:>13}"
        )
    return report_checks(what, [measured.problems], args, timings)


if __name__ == "__main__":
    sys.exit(main())
