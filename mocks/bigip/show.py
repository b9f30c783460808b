"""Print what a running BIG-IP emulator holds, as tables: the demo's eyes on a BIG-IP.

``python -m mocks.bigip.show --url https://127.0.0.1:8443 --ca-file bigip.pem`` reads
``/_mock/state`` (loopback only, no login) over the unit's HTTPS, verifying its certificate
against ``--ca-file``, and prints the LTM objects of every partition by full path: nodes, pools
with their members, virtual servers; then the BIG-IP DNS wide IPs (name, record type, pools)
with what the unit's DNS listener answers for each (``--dns host:port``; without it, no answer
column is asked for). ``--follow`` prints again whenever the change log moves, until interrupted.

Part of the emulator's tools, not of the bridge: it reads the unit's native objects only.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mocks.adc.show import resolve, table

Obj = dict[str, Any]


def fetch(url: str, path: str, context: ssl.SSLContext) -> Any:
    with urllib.request.urlopen(f"{url}/_mock/{path}", timeout=5, context=context) as response:
        return json.load(response)


def trusting(ca_file: Path | None) -> ssl.SSLContext:
    """Verify the unit against ``ca_file``; without one, against the system's authorities."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def objects(state: Obj, kind: str) -> list[Obj]:
    return sorted(state["objects"].get(kind, []), key=lambda item: str(item["fullPath"]))


def nodes(state: Obj) -> str:
    rows = [("NODE", "ADDRESS", "SESSION", "OURS")]
    for node in objects(state, "ltm/node"):
        rows.append((node["fullPath"], node["address"], node["session"], marked(node)))
    return table(rows)


def pools(state: Obj) -> str:
    rows = [("POOL", "MODE", "MONITOR", "MEMBERS (address:port, * = disabled)", "OURS")]
    for pool in objects(state, "ltm/pool"):
        items = sorted(pool.get("membersReference", {}).get("items", []), key=lambda m: str(m["fullPath"]))
        shown = [member_text(member) for member in items]
        monitor = str(pool.get("monitor", "-")).strip()
        rows.append((pool["fullPath"], pool["loadBalancingMode"], monitor, " ".join(shown) or "-", marked(pool)))
    return table(rows)


def member_text(member: Obj) -> str:
    """``address:port`` (``[address]:port`` for IPv6), ``*`` when disabled."""
    name, address = str(member["name"]), str(member["address"])
    port = name.rsplit("." if name.count(":") > 1 else ":", 1)[-1]  # IPv6-named members end ``.port``
    shown = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    return shown + ("*" if member.get("session") == "user-disabled" else "")


def virtuals(state: Obj) -> str:
    rows = [("VIRTUAL SERVER", "DESTINATION", "PROTOCOL", "POOL", "SNAT", "OURS")]
    for virtual in objects(state, "ltm/virtual"):
        snat = virtual.get("sourceAddressTranslation", {})
        translation = snat.get("pool") or snat.get("type", "none")
        rows.append(
            (
                virtual["fullPath"],
                virtual["destination"],
                virtual["ipProtocol"],
                virtual.get("pool", "-"),
                str(translation),
                marked(virtual),
            )
        )
    return table(rows)


def marked(item: Obj) -> str:
    """``yes`` when the object carries an adcbridge ownership marker in its description."""
    return "yes" if str(item.get("description", "")).startswith("managed-by=adcbridge") else "-"


def wide_ips(state: Obj, dns_server: tuple[str, int] | None) -> str:
    """The wide IPs of both record types, with the DNS listener's answer for each (``-`` unasked)."""
    rows = [("WIDE IP", "TYPE", "POOLS", "DNS ANSWER")]
    for record_type in ("A", "AAAA"):
        for wide_ip in objects(state, f"gtm/wideip/{record_type.lower()}"):
            name = str(wide_ip["name"])
            answer = resolve(name, record_type, dns_server) if dns_server else "-"
            rows.append((name, record_type, " ".join(pool_path(pool) for pool in wide_ip.get("pools", [])), answer))
    return table(rows)


def pool_path(pool: Obj) -> str:
    """A wide IP's pool entry as a full path (an entry names it by ``name`` and ``partition``, or in full)."""
    name = str(pool["name"])
    return name if name.startswith("/") else f"/{pool.get('partition', 'Common')}/{name}"


SECTIONS: list[Callable[[Obj], str]] = [nodes, pools, virtuals]


def report(url: str, context: ssl.SSLContext, dns_server: tuple[str, int] | None = None) -> str:
    state = fetch(url, "state", context)
    return "\n\n".join([*(section(state) for section in SECTIONS), wide_ips(state, dns_server)])


def follow(url: str, context: ssl.SSLContext, interval: float, dns_server: tuple[str, int] | None = None) -> None:
    seen = -1
    while True:
        changes = fetch(url, "changes?since=0", context)["changes"]
        latest = int(changes[-1]["seq"]) if changes else 0
        if latest != seen:
            seen = latest
            shown = report(url, context, dns_server)
            print(f"\n== the BIG-IP at {time.strftime('%H:%M:%S')} (change #{latest}) ==\n{shown}")
            sys.stdout.flush()
        time.sleep(interval)


def server(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) as dnspython takes it."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mocks.bigip.show", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="https://127.0.0.1:8443", help="the emulator's base URL")
    parser.add_argument("--ca-file", type=Path, help="PEM certificate to verify the emulator with")
    parser.add_argument("--dns", default="", help="the unit's DNS listener (host:port) to ask for each wide IP")
    parser.add_argument("--follow", action="store_true", help="print again after every change")
    parser.add_argument("--interval", type=float, default=1.0, help="how often --follow looks")
    args = parser.parse_args(argv)
    try:
        context = trusting(args.ca_file)
        dns_server = server(args.dns) if args.dns else None
        if args.follow:
            follow(args.url, context, args.interval, dns_server)
        else:
            print(report(args.url, context, dns_server))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"show: cannot read the BIG-IP emulator at {args.url}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
