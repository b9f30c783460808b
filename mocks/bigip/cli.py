"""``adcbridge-mock-bigip``: run the emulated BIG-IP in the foreground.

Prints one JSON line once it listens (``{"event": "listening", "url": ..., "dns": ...}``)
so scripts and tests that start it on port 0 can learn its addresses, then serves until
SIGINT or SIGTERM. It does not save on the way out: only ``sys config save`` does.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from mocks.arguments import host_port
from mocks.bigip.catalog import DEFAULT_VERSION
from mocks.bigip.server import BigIPConfig, MockBigIP
from mocks.command import STARTUP_FAILURES, add_login_and_tls, listener_settings, password_from, run


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="adcbridge-mock-bigip", description="Emulated F5 BIG-IP (iControl REST, BIG-IP DNS)."
    )
    cli.add_argument("--listen", type=host_port, default=("127.0.0.1", 8443), help="REST API HOST:PORT (HTTPS)")
    cli.add_argument("--dns-listen", type=host_port, default=("127.0.0.1", 8053), help="DNS listener HOST:PORT")
    cli.add_argument("--no-dns", action="store_true", help="do not start the DNS listener")
    add_login_and_tls(cli)
    cli.add_argument("--state-file", type=Path, help="JSON file holding the saved configuration")
    cli.add_argument(
        "--version", default=DEFAULT_VERSION, help=f"TMOS version the unit reports (default {DEFAULT_VERSION})"
    )
    cli.add_argument("--hostname", default="bigip1.example.com", help="host name in device-info")
    cli.add_argument("--device-group", help="sync-failover device group this unit belongs to (default: standalone)")
    cli.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return cli


def config_from(args: argparse.Namespace) -> BigIPConfig:
    return BigIPConfig(
        username=args.username,
        password=password_from(args),
        version=args.version,
        hostname=args.hostname,
        device_group=args.device_group,
        **listener_settings(args),
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run(parser(), argv, lambda args: MockBigIP(config_from(args)), failures=STARTUP_FAILURES)
