"""``adcbridge-fake-kube``: run the fake Kubernetes API server in the foreground.

Binds, loads the seed directory, writes the kubeconfig (atomically, so a caller can wait for
the file to appear), prints ``fake-kube listening on http://HOST:PORT`` (``https`` with
``--tls-cert``/``--tls-key``) and serves until SIGINT or SIGTERM, then exits 0. Bad arguments,
unreadable certificates and seeds the server refuses exit 2 with a message naming the option,
file and object. ``--authorize`` turns on bearer tokens and RBAC; the kubeconfig written then
carries the admin token, and service-account tokens come from ``POST /_fake/tokens``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from mocks.arguments import host_port, positive_float
from mocks.kube.seeding import SeedError, read_seed_dir
from mocks.kube.server import FakeKube, tls_context

EXIT_USAGE = 2


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="adcbridge-fake-kube", description="Strict fake Kubernetes API server for tests."
    )
    cli.add_argument("--listen", type=host_port, default=("127.0.0.1", 6443), help="HOST:PORT (default 127.0.0.1:6443)")
    cli.add_argument("--seed", type=Path, help="directory of *.yaml/*.yml/*.json objects to create at start")
    cli.add_argument("--kubeconfig-out", type=Path, help="write a kubeconfig for this server here once listening")
    cli.add_argument("--bookmark-interval", type=positive_float, default=60.0, help="seconds between BOOKMARKs")
    cli.add_argument("--watch-timeout-cap", type=positive_float, help="end every watch after at most this many seconds")
    cli.add_argument("--access-log", action="store_true", help="log every request to stderr")
    cli.add_argument("--tls-cert", type=Path, help="PEM certificate (chain): serve HTTPS; needs --tls-key")
    cli.add_argument("--tls-key", type=Path, help="PEM private key of --tls-cert")
    cli.add_argument(
        "--tls-ca", type=Path, help="CA certificate written into --kubeconfig-out (default: --tls-cert, self-signed)"
    )
    cli.add_argument("--authorize", action="store_true", help="require bearer tokens and enforce RBAC")
    return cli


def check_tls(cli: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--tls-cert`` and ``--tls-key`` go together, ``--tls-ca`` needs them; exits 2 naming the flag."""
    if args.tls_cert is not None and args.tls_key is None:
        cli.error("--tls-key is required with --tls-cert")
    if args.tls_key is not None and args.tls_cert is None:
        cli.error("--tls-cert is required with --tls-key")
    if args.tls_ca is not None and args.tls_cert is None:
        cli.error("--tls-ca needs --tls-cert and --tls-key")
    if args.tls_cert is not None:
        try:
            tls_context(args.tls_cert, args.tls_key)
        except OSError as exc:  # ssl.SSLError included
            cli.error(f"--tls-cert/--tls-key: cannot load {args.tls_cert} and {args.tls_key}: {exc}")


async def serve(args: argparse.Namespace, seed: list[tuple[str, dict[str, object]]]) -> None:
    fake = FakeKube(
        host=args.listen[0],
        port=args.listen[1],
        bookmark_interval=args.bookmark_interval,
        watch_timeout_cap=args.watch_timeout_cap,
        access_log=args.access_log,
        tls=(args.tls_cert, args.tls_key) if args.tls_cert is not None else None,
        authorize=args.authorize,
    )
    fake.load(seed)  # before listening: a client never sees a half-seeded cluster
    await fake.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        if args.kubeconfig_out is not None:
            fake.write_kubeconfig(args.kubeconfig_out, ca_file=args.tls_ca)
        print(f"fake-kube listening on {fake.url}", flush=True)
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    check_tls(cli, args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        seed = read_seed_dir(args.seed) if args.seed is not None else []
        asyncio.run(serve(args, seed))
    except SeedError as exc:
        print(f"adcbridge-fake-kube: --seed: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"adcbridge-fake-kube: --listen/--kubeconfig-out: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0
