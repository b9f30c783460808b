"""A property test that fails on a developer's machine says how to replay the failure.

Outside CI, each session draws a Hypothesis seed (tests/conftest.py) and prints it in the header
and again after the failures; Hypothesis prints the failing example as a ``@reproduce_failure``
decorator. These tests run a property that fails in a child pytest with the project's conftest
and settings and no ``CI`` variable, then check that the printed seed replays the same examples
and that another session explores others.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FAILING_PROPERTY = """
import os
from hypothesis import given, settings, strategies as st


@settings(database=None)  # nothing saved: only the seed can bring the same examples back
@given(st.integers(0, 10**6))
def test_a_property_that_fails(number):
    with open(os.environ["DRAWN"], "a") as drawn:
        drawn.write(f"{number}\\n")
    assert number % 10 != 7
"""
SEED = re.compile(r"--hypothesis-seed=(\d+)")


@dataclass(frozen=True)
class Session:
    code: int
    output: str
    drawn: list[int]  # every example the property saw, in order

    @property
    def seed(self) -> str:
        seeds = set(SEED.findall(self.output))
        assert len(seeds) == 1, self.output
        return seeds.pop()

    def until_the_first_failure(self) -> list[int]:
        first = next(index for index, number in enumerate(self.drawn) if number % 10 == 7)
        return self.drawn[: first + 1]


def run_session(directory: Path, *args: str) -> Session:
    """``pytest`` on the failing property, as a developer runs it: the project's conftest, no CI."""
    drawn = directory / "drawn.txt"
    drawn.unlink(missing_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "CI" and not key.startswith("PYTEST_")}
    env |= {"PYTHONPATH": str(ROOT), "DRAWN": str(drawn)}
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(directory)]
    command += ["-p", "tests.conftest", "-p", "no:cacheprovider", *args, str(directory / "test_property.py")]
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=120, check=False)
    numbers = [int(line) for line in drawn.read_text().split()] if drawn.exists() else []
    return Session(done.returncode, done.stdout + done.stderr, numbers)


@pytest.mark.slow  # three pytest sessions, each importing the suite's conftest
def test_a_failing_property_prints_a_seed_that_replays_it(tmp_path: Path) -> None:
    (tmp_path / "test_property.py").write_text(FAILING_PROPERTY)
    first = run_session(tmp_path)
    assert first.code == 1, first.output
    assert "1 failed" in first.output
    hint = f"hypothesis seed {first.seed}: replay a failing property test with --hypothesis-seed={first.seed}"
    assert first.output.rindex(hint) > first.output.index("FAILURES"), first.output  # said again after them
    assert "@reproduce_failure(" in first.output  # Hypothesis' own replay of the shrunk example

    replay = run_session(tmp_path, f"--hypothesis-seed={first.seed}")
    assert replay.code == 1, replay.output
    assert replay.seed == first.seed
    assert replay.until_the_first_failure() == first.until_the_first_failure()

    other = run_session(tmp_path)  # a new session explores other examples
    assert other.seed != first.seed
    assert other.until_the_first_failure() != first.until_the_first_failure()
