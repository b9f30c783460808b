"""``adcbridge-fake-kube``: run the fake Kubernetes API server in the foreground.

Binds, loads the seed directory, writes the kubeconfig (atomically, so a caller can wait for
the file to appear), prints ``fake-kube listening on http://HOST:PORT`` and serves until
SIGINT or SIGTERM, then exits 0. Bad arguments and seeds the server refuses exit 2 with a
message naming the option, file and object.
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
from mocks.kube.server import FakeKube

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
    return cli


async def serve(args: argparse.Namespace, seed: list[tuple[str, dict[str, object]]]) -> None:
    fake = FakeKube(
        host=args.listen[0],
        port=args.listen[1],
        bookmark_interval=args.bookmark_interval,
        watch_timeout_cap=args.watch_timeout_cap,
        access_log=args.access_log,
    )
    fake.load(seed)  # before listening: a client never sees a half-seeded cluster
    await fake.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        if args.kubeconfig_out is not None:
            fake.write_kubeconfig(args.kubeconfig_out)
        print(f"fake-kube listening on {fake.url}", flush=True)
        await stop.wait()
    finally:
        await fake.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
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
