"""How many small requests per second the mock ADC serves on one core.

The emulator runs as its own process pinned to CPU 0; this client is pinned to CPU 1 and
keeps ``--concurrency`` keep-alive connections busy for ``--seconds`` per round. Each
scenario runs ``--rounds`` times and the median is reported, with the server's own CPU
time per request (from /proc) so that a client-bound run is visible as such.

Scenarios: GET of one object; a POST + DELETE pair of nodes (mutations, audited and
validated); a list page of 50 pools with members; DNS A queries over UDP.

Usage: ``.venv/bin/python benchmarks/mock_adc_throughput.py [--seconds 2] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import dns.asyncquery
import dns.message

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"
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
    domain = {"name": "www.example.com", "type": "A", "addresses": ["192.0.2.10"]}
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


async def run_dns(address: tuple[str, int], *, seconds: float, concurrency: int) -> int:
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            query = dns.message.make_query("www.example.com", "A")
            await dns.asyncquery.udp(query, address[0], port=address[1], timeout=2)
            done += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def measure(args: argparse.Namespace) -> list[dict[str, object]]:
    process, url, dns_address = await start_mock()
    results: list[dict[str, object]] = []
    try:
        async with aiohttp.ClientSession() as session:
            login = await api(session, "POST", f"{url}/adc/v3.0/login", {"username": "admin", "password": PASSWORD})
            data = login["data"]
            assert isinstance(data, dict)
            token = str(data["token"])
        async with aiohttp.ClientSession(headers={"x-access-token": token}) as session:
            await seed(session, url)
        jobs: dict[str, Callable[[], Awaitable[int]]] = {
            name: (lambda r=request: run_http(url, r, token=token, seconds=args.seconds, concurrency=args.concurrency))
            for name, request in scenarios(url).items()
        }
        jobs["DNS A query (UDP)"] = lambda: run_dns(dns_address, seconds=args.seconds, concurrency=args.concurrency)
        for name, job in jobs.items():
            rates, cpu_per_request = [], []
            for _ in range(args.rounds):
                cpu_before, started = cpu_seconds(process.pid), time.monotonic()
                count = await job()
                elapsed, cpu = time.monotonic() - started, cpu_seconds(process.pid) - cpu_before
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
    return results


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    cli.add_argument("--seconds", type=float, default=2.0, help="length of one round")
    cli.add_argument("--rounds", type=int, default=5)
    cli.add_argument("--concurrency", type=int, default=16)
    cli.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = cli.parse_args()
    os.sched_setaffinity(0, {1} if (os.cpu_count() or 1) > 1 else {0})
    results = asyncio.run(measure(args))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'scenario':<24} {'median req/s':>12} {'min req/s':>10} {'server CPU us/req':>18} {'1-core bound':>13}")
    for row in results:
        print(
            f"{row['scenario']:<24} {row['median_rps']:>12} {row['min_rps']:>10} "
            f"{row['server_cpu_us_per_request']:>18} {row['server_core_bound_rps']:>13}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
