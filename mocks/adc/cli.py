"""``adcbridge-mock-adc``: run the emulated appliance in the foreground.

Prints one JSON line once it listens (``{"event": "listening", "url": ..., "dns": ...}``)
so scripts and tests that start it on port 0 can learn its addresses, then serves until
SIGINT or SIGTERM, saving the state file on the way out.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from mocks.adc.persistence import StateFileError
from mocks.adc.server import MockADC, MockConfig
from mocks.adc.sessions import AuthPolicy
from mocks.arguments import host_port, positive_float, positive_int
from mocks.command import listener_settings, password_from, run


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="adcbridge-mock-adc", description="Emulated ADC appliance for tests and demos.")
    cli.add_argument("--listen", type=host_port, default=("127.0.0.1", 8443), help="REST API HOST:PORT")
    cli.add_argument("--dns-listen", type=host_port, default=("127.0.0.1", 8053), help="DNS service HOST:PORT")
    cli.add_argument("--no-dns", action="store_true", help="do not start the DNS service")
    cli.add_argument("--username", default="admin")
    secret = cli.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password", help="admin password (visible in ps; prefer --password-file)")
    secret.add_argument("--password-file", type=Path, help="file whose first line is the password")
    cli.add_argument("--tls-cert", type=Path, help="PEM certificate chain; serve HTTPS")
    cli.add_argument("--tls-key", type=Path, help="PEM private key for --tls-cert")
    cli.add_argument("--state-file", type=Path, help="JSON file that keeps the configuration across restarts")
    cli.add_argument(
        "--persist",
        choices=("auto", "explicit"),
        default="auto",
        help="auto: every change is saved; explicit: only POST /adc/v3.0/system/config/save saves (default auto)",
    )
    cli.add_argument("--token-lifetime", type=positive_float, default=600.0, help="seconds (default 600)")
    cli.add_argument("--max-sessions", type=positive_int, default=16, help="concurrent sessions (default 16)")
    cli.add_argument("--lockout-threshold", type=positive_int, default=5, help="bad logins before lockout")
    cli.add_argument("--lockout-seconds", type=positive_float, default=300.0, help="lockout duration")
    cli.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return cli


def config_from(args: argparse.Namespace) -> MockConfig:
    policy = AuthPolicy(
        username=args.username,
        password=password_from(args),
        token_lifetime=args.token_lifetime,
        max_sessions=args.max_sessions,
        lockout_threshold=args.lockout_threshold,
        lockout_seconds=args.lockout_seconds,
    )
    return MockConfig(policy=policy, persist=args.persist, **listener_settings(args))


def main(argv: Sequence[str] | None = None) -> int:
    return run(parser(), argv, lambda args: MockADC(config_from(args)), failures=(StateFileError, OSError))
