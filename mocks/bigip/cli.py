"""``adcbridge-mock-bigip``: run the emulated BIG-IP in the foreground.

Prints one JSON line once it listens (``{"event": "listening", "url": ..., "dns": ...}``)
so scripts and tests that start it on port 0 can learn its addresses, then serves until
SIGINT or SIGTERM. It does not save on the way out: only ``sys config save`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from mocks.adc.server import host_port_text
from mocks.arguments import host_port
from mocks.bigip.catalog import DEFAULT_VERSION
from mocks.bigip.server import BigIPConfig, MockBigIP, StateFileError


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="adcbridge-mock-bigip", description="Emulated F5 BIG-IP (iControl REST, BIG-IP DNS)."
    )
    cli.add_argument("--listen", type=host_port, default=("127.0.0.1", 8443), help="REST API HOST:PORT (HTTPS)")
    cli.add_argument("--dns-listen", type=host_port, default=("127.0.0.1", 8053), help="DNS listener HOST:PORT")
    cli.add_argument("--no-dns", action="store_true", help="do not start the DNS listener")
    cli.add_argument("--username", default="admin")
    secret = cli.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password", help="the user's password (visible in ps; prefer --password-file)")
    secret.add_argument("--password-file", type=Path, help="file whose first line is the password")
    cli.add_argument("--tls-cert", type=Path, help="PEM certificate chain (default: a self-signed one made at start)")
    cli.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    cli.add_argument("--state-file", type=Path, help="JSON file holding the saved configuration")
    cli.add_argument(
        "--version", default=DEFAULT_VERSION, help=f"TMOS version the unit reports (default {DEFAULT_VERSION})"
    )
    cli.add_argument("--hostname", default="bigip1.example.com", help="host name in device-info")
    cli.add_argument("--device-group", help="sync-failover device group this unit belongs to (default: standalone)")
    cli.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return cli


def config_from(args: argparse.Namespace) -> BigIPConfig:
    password = args.password
    if args.password_file is not None:
        lines = args.password_file.read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0]:
            raise OSError(f"--password-file {args.password_file} is empty")
        password = lines[0]
    return BigIPConfig(
        username=args.username,
        password=password,
        host=args.listen[0],
        port=args.listen[1],
        dns_host=args.dns_listen[0],
        dns_port=None if args.no_dns else args.dns_listen[1],
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        state_file=args.state_file,
        version=args.version,
        hostname=args.hostname,
        device_group=args.device_group,
        access_log=args.access_log,
    )


async def serve(config: BigIPConfig) -> None:
    mock = MockBigIP(config)
    await mock.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    dns = host_port_text(*mock.dns_address) if mock.dns_address else None
    print(json.dumps({"event": "listening", "url": mock.url, "dns": dns}), flush=True)
    try:
        await stop.wait()
    finally:
        await mock.stop()


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        cli.error("--tls-cert and --tls-key go together")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(config_from(args)))
    except (StateFileError, OSError, ValueError) as exc:
        print(f"adcbridge-mock-bigip: {exc}", file=sys.stderr)
        return 2
    return 0
