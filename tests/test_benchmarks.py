"""The benchmarks keep their word: each one's smoke configuration runs here, and its verdict is tested.

A benchmark that nobody runs rots: a renamed field, a changed request count or a mock that
answers differently turns its table into fiction long before anyone re-measures. So every script in
``benchmarks/`` is run with ``--smoke`` (a few hundred hosts, one round, counts only: never a
time, so it cannot flake on a busy machine) and must exit 0; and run again with every expected
count skewed by one (``ADCBRIDGE_BENCH_SKEW_COUNTS``) it must exit 1, which proves its counts are
really compared. The decision itself (a wrong count, a missed target, smoke or full run,
``--no-enforce``) is a pure function of ``benchmarks/measuring.py``, tested directly below.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
SCRIPTS = (
    "mock_adc_throughput.py",
    "engine_sync.py",
    "bigip_sync.py",
    "acos_sync.py",
    "k8s_sync.py",
    "dns_publish.py",
)
RUN_TIMEOUT = 120.0  # a smoke run takes 2-4 s alone; this only bounds a hung one


def load_measuring() -> ModuleType:
    """``benchmarks/measuring.py`` as a module (``benchmarks/`` is no package: the scripts import it as a sibling)."""
    spec = importlib.util.spec_from_file_location("bench_measuring", BENCHMARKS / "measuring.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


measuring = load_measuring()


def run_smoke(script: str, *, skew: int = 0) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ADCBRIDGE_")}
    if skew:
        env[measuring.SKEW_VARIABLE] = str(skew)
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def failure_report(run: subprocess.CompletedProcess[str]) -> str:
    return f"exit {run.returncode}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-3000:]}"


# ---------------------------------------------------------------------------- the scripts


def test_every_benchmark_script_is_run_here() -> None:
    assert sorted(path.name for path in BENCHMARKS.glob("*.py") if path.name != "measuring.py") == sorted(SCRIPTS)


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_smoke_run_passes_its_count_checks(script: str) -> None:
    run = run_smoke(script)
    assert run.returncode == 0, failure_report(run)
    first = run.stdout.splitlines()[0]
    assert first.startswith(f"settings of {script}: smoke"), first
    for setting in ("rounds 1", "dialect ", "resolution check "):
        assert setting in first, first
    assert "Counts: all as expected (0 wrong)." in run.stdout, failure_report(run)
    assert "Timing targets: not judged (smoke run;" in run.stdout, failure_report(run)
    assert "TARGET MISSED" not in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_wrong_expected_count_fails_the_smoke_run(script: str) -> None:
    run = run_smoke(script, skew=1)
    assert run.returncode == 1, failure_report(run)
    assert "Counts: FAILED" in run.stdout, failure_report(run)
    failed = [line for line in run.stderr.splitlines() if line.startswith("CHECK FAILED: ")]
    assert len(failed) >= 3, failure_report(run)  # every count is skewed: several must fail, not one by chance


# ---------------------------------------------------------------------------- counts


def test_a_count_holds_only_when_it_is_exact() -> None:
    assert measuring.count_problem("writes", 3, 3) is None
    assert measuring.count_problem("writes", 3, 4) == "writes: expected 3, got 4"
    assert measuring.count_problem("writes", 3, 2) == "writes: expected 3, got 2"


def test_an_at_most_count_allows_fewer_but_not_more() -> None:
    assert measuring.count_problem("requests", 3, 2, at_most=True) is None
    assert measuring.count_problem("requests", 3, 3, at_most=True) is None
    assert measuring.count_problem("requests", 3, 4, at_most=True) == "requests: expected at most 3, got 4"


def test_a_skew_turns_a_right_count_wrong() -> None:
    assert measuring.count_problem("pages", 24, 24, skew=1) == "pages: expected 25, got 24"


def test_expect_count_reads_the_skew_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    problems: list[str] = []
    monkeypatch.delenv(measuring.SKEW_VARIABLE, raising=False)
    measuring.expect_count(problems, "writes", 5, 5)
    assert problems == []
    monkeypatch.setenv(measuring.SKEW_VARIABLE, "-1")
    measuring.expect_count(problems, "writes", 5, 5)
    assert problems == ["writes: expected 4, got 5"]


# ---------------------------------------------------------------------------- timing targets


def test_a_time_must_be_under_its_limit() -> None:
    assert not measuring.Timing("cold sync", 59.9, 60.0).missed
    assert measuring.Timing("cold sync", 60.0, 60.0).missed
    assert measuring.Timing("cold sync", 61.0, 60.0).missed


def test_a_rate_must_reach_its_limit() -> None:
    assert not measuring.Timing("GET", 2000.0, 2000.0, unit="req/s", at_least=True).missed
    assert measuring.Timing("GET", 1999.0, 2000.0, unit="req/s", at_least=True).missed


def test_nothing_measured_misses_the_target() -> None:
    assert measuring.Timing("p99", math.nan, 1.0).missed
    assert measuring.Timing("rate", math.nan, 1.0, at_least=True).missed


def test_each_target_is_judged_on_the_median_of_its_rounds() -> None:
    walls = {"cold sync": [70.0, 50.0, 55.0], "no-op resync": [0.5, 3.0, 2.5], "untargeted": [9.0]}
    timings = measuring.median_walls(walls, {"cold sync": 60.0, "no-op resync": 2.0})
    assert [(t.what, t.measured, t.limit, t.missed) for t in timings] == [
        ("cold sync wall time (median of rounds)", 55.0, 60.0, False),
        ("no-op resync wall time (median of rounds)", 2.5, 2.0, True),
    ]


# ---------------------------------------------------------------------------- the verdict

MET = measuring.Timing("no-op resync", 0.5, 2.0)
MISSED = measuring.Timing("cold sync", 75.0, 60.0)


@pytest.mark.parametrize(("smoke", "enforce"), [(True, True), (False, True), (False, False)])
def test_a_wrong_count_fails_every_kind_of_run(smoke: bool, enforce: bool) -> None:
    verdict = measuring.decide(["round 1: writes: expected 3, got 4"], [MET], smoke=smoke, enforce=enforce)
    assert verdict.exit_code == 1
    assert verdict.failures == ("CHECK FAILED: round 1: writes: expected 3, got 4",)
    assert verdict.lines[0] == "Counts: FAILED (1 wrong)."


def test_a_full_run_fails_on_a_missed_target() -> None:
    verdict = measuring.decide([], [MET, MISSED], smoke=False, enforce=True)
    assert verdict.exit_code == 1
    assert verdict.failures == ("TARGET MISSED: cold sync: 75.000 s, target under 60 s",)
    assert "Target met: no-op resync: 0.500 s, target under 2 s." in verdict.lines


def test_no_enforce_reports_a_missed_target_without_failing() -> None:
    verdict = measuring.decide([], [MET, MISSED], smoke=False, enforce=False)
    assert verdict.exit_code == 0
    assert verdict.failures == ()
    assert "Target MISSED: cold sync: 75.000 s, target under 60 s." in verdict.lines
    assert "1 target(s) missed, not enforced (--no-enforce)." in verdict.lines


def test_a_smoke_run_never_judges_a_time() -> None:
    verdict = measuring.decide([], [MISSED], smoke=True, enforce=True)
    assert verdict.exit_code == 0
    assert verdict.failures == ()
    assert verdict.lines == (
        "Counts: all as expected (0 wrong).",
        "Timing targets: not judged (smoke run; 1 target(s) skipped).",
    )


def test_a_full_run_that_meets_everything_passes() -> None:
    verdict = measuring.decide([], [MET], smoke=False, enforce=True)
    assert (verdict.exit_code, verdict.failures) == (0, ())


# ---------------------------------------------------------------------------- arguments


def parse(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    cli = measuring.argument_parser(None, rounds="rounds")
    monkeypatch.setattr(sys, "argv", ["bench", *argv])
    parsed: argparse.Namespace = measuring.parse_arguments(cli, {"hosts": 300, "rounds": 1})
    return parsed


def test_smoke_replaces_the_defaults_and_explicit_options_still_win(monkeypatch: pytest.MonkeyPatch) -> None:
    full = parse([], monkeypatch)
    assert (full.hosts, full.rounds, full.smoke, full.enforce) == (10_000, 3, False, True)
    smoke = parse(["--smoke", "--rounds", "2"], monkeypatch)
    assert (smoke.hosts, smoke.rounds, smoke.smoke) == (300, 2, True)
    assert parse(["--no-enforce"], monkeypatch).enforce is False
