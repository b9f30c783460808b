"""What the emulators' command lines do alike once their flags are parsed: read the
password file, check the TLS pair, serve until SIGINT or SIGTERM, and print the one JSON
line (``{"event": "listening", "url": ..., "dns": ...}``) that scripts and tests started
on port 0 read to learn the addresses.

Each emulator keeps its own parser (its flags and their help speak its vendor's words)
and its own configuration; only this plumbing is shared, so the two command lines behave
the same where their documents say they do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypedDict

from mocks.files import StateFileError
from mocks.listeners import host_port_text

EXIT_FAILURE = 2
STARTUP_FAILURES = (StateFileError, OSError, ValueError)  # reported on one line, exit 2


class Emulator(Protocol):
    """An emulator that starts and stops as a unit and then says where it listens."""

    url: str
    dns_address: tuple[str, int] | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ListenerSettings(TypedDict):
    """The configuration fields both emulators take from the same flags."""

    host: str
    port: int
    dns_host: str
    dns_port: int | None
    tls_cert: Path | None
    tls_key: Path | None
    state_file: Path | None
    access_log: bool


def add_login_and_tls(cli: argparse.ArgumentParser) -> None:
    """``--username``, ``--password``/``--password-file`` (one required), ``--tls-cert``, ``--tls-key``."""
    cli.add_argument("--username", default="admin")
    secret = cli.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password", help="the user's password (visible in ps; prefer --password-file)")
    secret.add_argument("--password-file", type=Path, help="file whose first line is the password")
    cli.add_argument("--tls-cert", type=Path, help="PEM certificate chain (default: a self-signed one made at start)")
    cli.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")


def listener_settings(args: argparse.Namespace) -> ListenerSettings:
    """``--listen``, ``--dns-listen``/``--no-dns``, ``--tls-cert``/``--tls-key``, ``--state-file``
    and ``--access-log`` as configuration fields."""
    return ListenerSettings(
        host=args.listen[0],
        port=args.listen[1],
        dns_host=args.dns_listen[0],
        dns_port=None if args.no_dns else args.dns_listen[1],
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        state_file=args.state_file,
        access_log=args.access_log,
    )


def password_from(args: argparse.Namespace) -> str:
    """``--password``, or the first line of ``--password-file`` (an empty one is an error)."""
    if args.password_file is None:
        password: str = args.password
        return password
    lines: list[str] = args.password_file.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0]:
        raise OSError(f"--password-file {args.password_file} is empty")
    return lines[0]


async def serve_until_signalled(make: Callable[[], Emulator]) -> None:
    """Start the emulator ``make`` builds, print the listening line, stop on SIGINT or SIGTERM."""
    emulator = make()
    await emulator.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    dns = host_port_text(*emulator.dns_address) if emulator.dns_address else None
    print(json.dumps({"event": "listening", "url": emulator.url, "dns": dns}), flush=True)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def run(
    cli: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    emulator_of: Callable[[argparse.Namespace], Emulator],
    *,
    failures: tuple[type[Exception], ...],
) -> int:
    """Parse ``argv``, serve the emulator built from it; exit 2 with one line on ``failures``."""
    args = cli.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        cli.error("--tls-cert and --tls-key go together")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve_until_signalled(lambda: emulator_of(args)))
    except failures as exc:
        print(f"{cli.prog}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0
