"""Print what a running mock ADC holds, as tables, with the DNS answers: the demo's eyes.

``python -m mocks.adc.show --url http://127.0.0.1:8443 --dns 127.0.0.1:8053`` reads
``/_mock/state`` (loopback only, no login) and asks the mock's DNS responder for every
domain, so the output shows what a client would resolve, not just what is configured.
``--follow`` prints again whenever the change log moves, until interrupted.

Part of the mock, not of the bridge: it reads the appliance side only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections.abc import Sequence
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

Obj = dict[str, Any]
RDTYPES = {"A": ["A"], "AAAA": ["AAAA"], "A+AAAA": ["A", "AAAA"]}


def fetch(url: str, path: str) -> Any:
    with urllib.request.urlopen(f"{url}/_mock/{path}", timeout=5) as response:
        return json.load(response)["data"]


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def pools(state: Obj) -> str:
    nodes = {node["name"]: node["ip"] for node in state["objects"].get("slb/node", [])}
    rows = [("POOL", "METHOD", "MEMBERS (node ip:port, * = disabled)")]
    for pool in sorted(state["objects"].get("slb/pool", []), key=lambda p: p["name"]):
        members = sorted(state["rservers"].get(pool["name"], []), key=lambda m: (m["node"], m["port"]))
        shown = [f"{nodes.get(m['node'], m['node'])}:{m['port']}{'' if m['enable'] else '*'}" for m in members]
        rows.append((pool["name"], pool["method"], " ".join(shown) or "-"))
    return table(rows)


def vservers(state: Obj) -> str:
    rows = [("VIRTUAL SERVER", "VIP", "PROTOCOL", "POOL")]
    for vserver in sorted(state["objects"].get("slb/vserver", []), key=lambda v: v["name"]):
        rows.append((vserver["name"], vserver["vip"], vserver["protocol"], vserver["pool"]))
    return table(rows)


def domains(state: Obj, dns_server: tuple[str, int] | None) -> str:
    rows = [("DOMAIN", "TYPE", "ADDRESSES", "DNS ANSWER")]
    for domain in sorted(state["objects"].get("dns/domain", []), key=lambda d: d["name"]):
        answer = resolve(domain["name"], domain["type"], dns_server) if dns_server else "-"
        rows.append((domain["name"], domain["type"], ",".join(domain["addresses"]), answer))
    return table(rows)


def resolve(name: str, kind: str, server: tuple[str, int]) -> str:
    answers: list[str] = []
    for rdtype in RDTYPES.get(kind, ["A"]):
        try:
            reply = dns.query.udp(dns.message.make_query(name, rdtype), server[0], port=server[1], timeout=2)
        except (dns.exception.DNSException, OSError) as exc:
            return f"({type(exc).__name__})"
        if reply.rcode() != dns.rcode.NOERROR:
            return dns.rcode.to_text(reply.rcode())
        answers += [item.to_text() for rrset in reply.answer for item in rrset]
    return " ".join(answers) or "NODATA"


def report(url: str, dns_server: tuple[str, int] | None) -> str:
    state = fetch(url, "state")
    sections = [pools(state), vservers(state), domains(state, dns_server)]
    return "\n\n".join(sections)


def follow(url: str, dns_server: tuple[str, int] | None, interval: float) -> None:
    seen = -1
    while True:
        changes = fetch(url, "changes?since=0")["changes"]
        latest = int(changes[-1]["seq"]) if changes else 0
        if latest != seen:
            seen = latest
            print(f"\n== the ADC at {time.strftime('%H:%M:%S')} (change #{latest}) ==\n{report(url, dns_server)}")
            sys.stdout.flush()
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mocks.adc.show", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8443", help="the mock ADC's base URL")
    parser.add_argument("--dns", default="127.0.0.1:8053", help="its DNS responder (host:port); '' to skip")
    parser.add_argument("--follow", action="store_true", help="print again after every change")
    parser.add_argument("--interval", type=float, default=1.0, help="how often --follow looks")
    args = parser.parse_args(argv)
    host, _, port = args.dns.rpartition(":")
    dns_server = (host.strip("[]"), int(port)) if args.dns else None
    try:
        if args.follow:
            follow(args.url, dns_server, args.interval)
        else:
            print(report(args.url, dns_server))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"show: cannot read the mock ADC at {args.url}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
