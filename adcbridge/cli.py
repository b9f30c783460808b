"""The command line: parse arguments, load settings, set up logging, run.

Exit codes: 0 success (for ``run --once``: converged), 1 ran but did not converge or a
check failed (an ADC that could not be reached within ``--connect-timeout`` included), 2 bad
arguments or settings (the message names the field).

``--connect-timeout`` bounds only the one-shot commands (``run --once``, ``plan``): the time to
the first login and list of the ADC, which otherwise waits out every call's retry deadline. The
service (``run``) has no such limit on purpose: it retries with backoff for as long as it runs,
reporting on ``/readyz`` and in metrics, because an ADC outage must not become a crash loop.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
from pathlib import Path

from adcbridge import __version__, app, logs
from adcbridge.adc import open_adc
from adcbridge.config import Settings, load_settings, public_view, renamed_settings
from adcbridge.errors import AdcBridgeError, ConfigError, KubeNotConfigured
from adcbridge.k8s.file_source import FileSource
from adcbridge.presenting import cycle_json, cycle_text
from adcbridge.reconciler import SnapshotSource
from adcbridge.verifying import unchecked_note

EXIT_OK, EXIT_NOT_CONVERGED, EXIT_USAGE = 0, 1, 2
CONNECT_TIMEOUT = 30.0

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="adcbridge", description="Keep a front ADC in step with the OpenNJet KIC.")
    top.add_argument("--version", action="version", version=f"adcbridge {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bridge (the service)")
    run.add_argument("--once", action="store_true", help="run one cycle; exit 0 if it converged, 1 if not")
    plan = commands.add_parser("plan", help="print the changes the bridge would make; write nothing")
    plan.add_argument("--json", action="store_true", help="print JSON instead of a table")
    for command in (run, plan):
        command.add_argument(
            "--snapshot",
            type=Path,
            help="YAML file (or directory of them) of Kubernetes objects, instead of the live cluster",
        )
        command.add_argument(
            "--connect-timeout",
            type=_seconds,
            metavar="SECONDS",
            help=f"one cycle only: give up if the ADC cannot be logged in to and listed within SECONDS"
            f" (default {CONNECT_TIMEOUT:g}); a cycle that connected runs to its end",
        )
    check = commands.add_parser("check", help="check settings, ADC reachability and login")
    for command in (run, plan, check):
        command.add_argument("--config", type=Path, help="YAML settings file (environment variables win)")
    return top


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args = top.parse_args(argv)
    if args.command == "run" and not args.once and args.connect_timeout is not None:
        top.error("--connect-timeout applies to run --once: the service keeps retrying for as long as it runs")
    try:
        settings = load_settings(args.config)
        app.validate(settings)
        if args.command == "plan":
            settings = settings.model_copy(update={"dry_run": True})
        logs.configure(format=settings.log.format, level=settings.log.level)
        for warning in renamed_settings(settings):
            log.warning("%s", warning)
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        print(f"adcbridge: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_NOT_CONVERGED


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "check":
        return await _check(settings)
    if args.snapshot is not None:
        return await _run(args, settings, _file_source(args.snapshot, settings), None)
    async with app.cluster(settings) as live:
        return await _run(args, settings, live.source, live)


async def _run(args: argparse.Namespace, settings: Settings, source: SnapshotSource, live: app.Cluster | None) -> int:
    if args.command == "run" and not args.once:
        return await app.Service(settings, source, live, settle_memory=True).serve()
    connect_timeout = CONNECT_TIMEOUT if args.connect_timeout is None else args.connect_timeout
    report = await app.run_cycle(settings, source, connect_timeout=connect_timeout)
    if getattr(args, "json", False):
        print(cycle_json(report))
    else:
        text, _, verdict = cycle_text(report).rpartition("\n")
        names = await app.check_names(settings, report)
        dns_line = f"dns check (what resolves now): {names.summary()}" if names is not None else ""
        print("\n".join(line for line in (text, dns_line, verdict) if line))
    if args.command == "plan":
        return EXIT_OK if report.ok else EXIT_NOT_CONVERGED
    return EXIT_OK if report.converged else EXIT_NOT_CONVERGED


def _file_source(path: Path, settings: Settings) -> FileSource:
    if not path.is_file() and not path.is_dir():
        raise ConfigError(f"--snapshot: {path} is not a readable file or directory")
    return FileSource(path, settings)


async def _check(settings: Settings) -> int:
    """Settings (already valid here), then credentials, reachability and login, read-only."""
    view = public_view(settings)
    print(
        f"ok    settings: owner {settings.owner_id}, ADC {view['adc']['url']}, VIPs {', '.join(settings.vip.addresses)}"
    )
    read_only = settings.model_copy(update={"dry_run": True})
    try:
        async with open_adc(read_only) as adc:
            info = await adc.describe()
            names = await app.check_published(read_only, adc)
    except AdcBridgeError as exc:
        print(f"FAIL  ADC: {exc}")
        return EXIT_NOT_CONVERGED
    role = f"HA role {info.role}" + (f" of {info.unit}" if info.unit else "")
    print(f"ok    ADC reachable, login accepted ({settings.adc.dialect}, version {info.version}, {role})")
    if info.role == "standby":
        print("warn  this unit is standby: writes will wait for the active unit")
    dns_ok = names is None or not names.failures()
    if names is not None:
        print(f"{'ok  ' if dns_ok else 'FAIL'}  DNS: {names.summary()}")
    elif (note := unchecked_note(settings)) is not None:
        print(f"skip  {note}")
    kube_ok = await _check_kube(settings)
    return EXIT_OK if kube_ok and dns_ok else EXIT_NOT_CONVERGED


async def _check_kube(settings: Settings) -> bool:
    """The API server, the KIC Service and the VirtualServer CRD, read-only. Skipped when no
    kubeconfig or service account is configured (the bridge can still run on ``--snapshot``)."""
    try:
        lines = await app.check_cluster(settings)
    except KubeNotConfigured as exc:
        print(f"skip  Kubernetes: {exc}")
        return True
    except AdcBridgeError as exc:
        print(f"FAIL  Kubernetes: {exc}")
        return False
    print("\n".join(lines))
    return not any(line.startswith("FAIL") for line in lines)
