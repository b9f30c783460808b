"""Print what a running ACOS emulator holds, as tables: the demo's eyes on an A10 Thunder.

``python -m mocks.acos.show --url https://127.0.0.1:8443 --ca-file acos.pem`` reads ``/_mock/state``
(loopback only, no login) over the unit's HTTPS, verifying its certificate against ``--ca-file``
(``--insecure`` skips that, for the emulator's own self-signed one), and prints the SLB objects of
every partition: servers with their ports, service groups with their members, virtual servers with
their virtual ports (one row per port). ``--follow`` prints again whenever the change log moves,
until interrupted. ACOS publishes no names (its GSLB is not emulated), so there is nothing of DNS here.

Part of the emulator's tools, not of the bridge: it reads the unit's native objects only.
"""

from __future__ import annotations

import argparse
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mocks.adc.show import table
from mocks.bigip.show import fetch, trusting

Obj = dict[str, Any]
MARKER = "managed-by=adcbridge"


def objects(state: Obj, kind: str) -> list[tuple[str, Obj]]:
    """``(partition, object)`` of one table, by partition then name (``shared`` first)."""
    found = [(partition, item) for partition, tables in state["objects"].items() for item in tables.get(kind, [])]
    return sorted(found, key=lambda pair: (pair[0] != "shared", pair[0], str(pair[1]["name"])))


def servers(state: Obj) -> str:
    rows = [("PARTITION", "SERVER", "ADDRESS", "ACTION", "PORTS", "OURS")]
    for partition, server in objects(state, "slb/server"):
        listed = sorted(server.get("port-list", []), key=lambda port: (int(port["port-number"]), str(port["protocol"])))
        ports = " ".join(f"{port['port-number']}/{port['protocol']}" for port in listed)
        rows.append(
            (partition, server["name"], address(server), server.get("action", "enable"), ports or "-", marked(server))
        )
    return table(rows)


def address(server: Obj) -> str:
    return str(server.get("host") or server.get("server-ipv6-addr") or server.get("fqdn-name") or "-")


def service_groups(state: Obj) -> str:
    rows = [
        (
            "PARTITION",
            "SERVICE GROUP",
            "PROTOCOL",
            "METHOD",
            "HEALTH CHECK",
            "MEMBERS (address:port, * = disabled)",
            "OURS",
        )
    ]
    addresses = {(partition, server["name"]): address(server) for partition, server in objects(state, "slb/server")}
    for partition, group in objects(state, "slb/service-group"):
        members = sorted(group.get("member-list", []), key=lambda member: (str(member["name"]), int(member["port"])))
        shown = [
            member_text(member, addresses.get((partition, str(member["name"])), str(member["name"])))
            for member in members
        ]
        method = group.get("lb-method") or group.get("lc-method") or group.get("stateless-lb-method") or "round-robin"
        rows.append(
            (
                partition,
                group["name"],
                group.get("protocol", "tcp"),
                str(method),
                str(group.get("health-check") or "-"),
                " ".join(shown) or "-",
                marked(group),
            )
        )
    return table(rows)


def member_text(member: Obj, host: str) -> str:
    """``address:port`` (``[address]:port`` for IPv6), ``*`` when disabled (drained)."""
    shown = f"[{host}]:{member['port']}" if ":" in host else f"{host}:{member['port']}"
    return shown + ("*" if member.get("member-state", "enable") != "enable" else "")


def virtual_servers(state: Obj) -> str:
    rows = [("PARTITION", "VIRTUAL SERVER", "ADDRESS", "PORT", "SERVICE GROUP", "SNAT", "OURS")]
    for partition, virtual in objects(state, "slb/virtual-server"):
        where = str(virtual.get("ip-address") or virtual.get("ipv6-address") or "-")
        ports = sorted(virtual.get("port-list", []), key=lambda port: (int(port["port-number"]), str(port["protocol"])))
        for port in ports or [{}]:
            number = f"{port['port-number']}/{port['protocol']}" if port else "-"
            snat = "automap" if port.get("auto") == 1 else str(port.get("pool") or "none")
            rows.append(
                (
                    partition,
                    virtual["name"],
                    where,
                    number,
                    str(port.get("service-group") or "-"),
                    snat,
                    marked(virtual),
                )
            )
    return table(rows)


def marked(item: Obj) -> str:
    """``yes`` when the object carries an adcbridge ownership marker in its ``user-tag``."""
    return "yes" if str(item.get("user-tag") or "").startswith(MARKER) else "-"


SECTIONS: list[Callable[[Obj], str]] = [servers, service_groups, virtual_servers]


def report(url: str, context: ssl.SSLContext) -> str:
    state = fetch(url, "state", context)
    return "\n\n".join(section(state) for section in SECTIONS)


def changes(url: str, context: ssl.SSLContext) -> int:
    """How many writes the unit's change log holds: it moves with every write."""
    return int(fetch(url, "changes?since=0", context)["total"])


def follow(url: str, context: ssl.SSLContext, interval: float) -> None:
    seen = -1
    while True:
        latest = changes(url, context)
        if latest != seen:
            seen = latest
            print(f"\n== the ACOS unit at {time.strftime('%H:%M:%S')} (change #{latest}) ==\n{report(url, context)}")
            sys.stdout.flush()
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mocks.acos.show", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="https://127.0.0.1:8443", help="the emulator's base URL")
    parser.add_argument("--ca-file", type=Path, help="PEM certificate to verify the emulator with")
    parser.add_argument("--insecure", action="store_true", help="do not verify the emulator's certificate")
    parser.add_argument("--follow", action="store_true", help="print again after every change")
    parser.add_argument("--interval", type=float, default=1.0, help="how often --follow looks")
    args = parser.parse_args(argv)
    try:
        context = trusting(args.ca_file)
        if args.insecure:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        if args.follow:
            follow(args.url, context, args.interval)
        else:
            print(report(args.url, context))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"show: cannot read the ACOS emulator at {args.url}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
