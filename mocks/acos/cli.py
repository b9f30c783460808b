"""``adcbridge-mock-acos``: run the emulated A10 Thunder (aXAPI v3) in the foreground.

Prints one JSON line once it listens (``{"event": "listening", "url": ..., "dns": null}``)
so scripts and tests that start it on port 0 can learn its address, then serves until
SIGINT or SIGTERM. It does not save on the way out: only ``write memory`` does.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from mocks.acos.server import AcosConfig, MockAcos
from mocks.acos.state import DEFAULT_VERSION
from mocks.arguments import host_port
from mocks.command import STARTUP_FAILURES, add_login_and_tls, password_from, run


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="adcbridge-mock-acos", description="Emulated A10 Thunder (ACOS aXAPI v3).")
    cli.add_argument("--listen", type=host_port, default=("127.0.0.1", 8443), help="aXAPI HOST:PORT (HTTPS)")
    add_login_and_tls(cli)
    cli.add_argument("--plain-http", action="store_true", help="serve plain HTTP instead of HTTPS (tests only)")
    cli.add_argument("--state-file", type=Path, help="JSON file holding the saved configuration")
    cli.add_argument(
        "--version", default=DEFAULT_VERSION, help=f"ACOS version the unit reports (default {DEFAULT_VERSION})"
    )
    cli.add_argument("--hostname", default="thunder1", help="host name in /axapi/v3/system")
    cli.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return cli


def config_from(args: argparse.Namespace) -> AcosConfig:
    if args.plain_http and args.tls_cert is not None:
        raise ValueError("--plain-http and --tls-cert exclude each other")
    return AcosConfig(
        username=args.username,
        password=password_from(args),
        host=args.listen[0],
        port=args.listen[1],
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        plain_http=args.plain_http,
        state_file=args.state_file,
        version=args.version,
        hostname=args.hostname,
        access_log=args.access_log,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run(parser(), argv, lambda args: MockAcos(config_from(args)), failures=STARTUP_FAILURES)
