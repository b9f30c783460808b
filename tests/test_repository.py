"""The repository stands alone: its documents point only at what a clone holds, and tell the truth.

Someone who picks the project up has the repository and nothing else: no issue tracker, no design
notes kept beside it. So every tracked text file is searched for paths that leave the repository,
for Markdown documents that do not exist in it, and for references to numbered issues; every
relative link of every Markdown file must resolve; and the commands the README shows must exist
(each ``make`` target, each ``adcbridge`` subcommand and its options).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath

import pytest

from adcbridge.cli import parser

ROOT = Path(__file__).resolve().parent.parent
TEXT_SUFFIXES = {".md", ".py", ".toml", ".yaml", ".yml"}

# ``../`` that does not continue a path (``/metrics/../x`` is a URL path, not a file reference).
PARENT_REFERENCE = re.compile(r"(?<![\w/.])((?:\.\./)+[\w./-]*)")
MARKDOWN_NAME = re.compile(r"(?<![\w/.-])([\w./-]*[\w-]\.md)\b")
ISSUE_REFERENCE = re.compile(r"\b(?:issue|ticket)s?\s*#?\s*\d+|\bthe issue\b", re.IGNORECASE)
ABSOLUTE_WORKPLACE = re.compile(r"(?<![\w.])/work/")
MARKDOWN_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


@cache
def tracked() -> tuple[PurePosixPath, ...]:
    git = shutil.which("git")
    assert git, "git is needed to list the tracked files"
    out = subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return tuple(PurePosixPath(name) for name in out.decode().split("\0") if name)


def text_files() -> list[PurePosixPath]:
    return [path for path in tracked() if path.suffix in TEXT_SUFFIXES and (ROOT / path).is_file()]


def markdown_files() -> list[PurePosixPath]:
    return [path for path in tracked() if path.suffix == ".md"]


def read(path: PurePosixPath) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


def inside(path: PurePosixPath, reference: str) -> bool:
    """Does ``reference``, read relative to ``path``'s folder, stay inside the repository?"""
    resolved = (ROOT / path.parent / reference).resolve()
    return resolved == ROOT or ROOT in resolved.parents


def resolves(path: PurePosixPath, reference: str) -> bool:
    """Does ``reference``, read relative to ``path``'s folder, name something in the repository?"""
    return inside(path, reference) and (ROOT / path.parent / reference).exists()


def offending(path: PurePosixPath, text: str) -> list[str]:
    """The references in ``text`` (the contents of ``path``) to what a clone of the repository lacks."""
    names = {PurePosixPath(p).name for p in tracked()}
    found = [f"path outside the repository, or missing: {m}" for m in PARENT_REFERENCE.findall(text)
             if not resolves(path, m)]  # fmt: skip
    found += [
        f"absolute workplace path near: {text[m.start() : m.end() + 30]!r}" for m in ABSOLUTE_WORKPLACE.finditer(text)
    ]
    found += [f"Markdown document not in the repository: {m}" for m in MARKDOWN_NAME.findall(text)
              if PurePosixPath(m).name not in names]  # fmt: skip
    found += [f"issue reference: {m.group(0)!r}" for m in ISSUE_REFERENCE.finditer(text)]
    return found


def test_the_search_sees_every_kind_of_text_file() -> None:
    suffixes = {path.suffix for path in text_files()}
    assert suffixes >= {".md", ".py", ".toml", ".yaml"}, suffixes
    assert len(text_files()) > 100


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("layers in `../shared/ARCHITECTURE.md`", "path outside"),
        ("See ARCHITECTURE.md for the layers", "Markdown document not in"),
        ("see [the guide](../../DEVELOPERS.md)", "path outside"),
        ("read /work/shared/research/notes.txt", "absolute workplace"),
        ("The fault matrix answers issue 7.", "issue reference"),
        ("Targets (from the issue): 60 s", "issue reference"),
        ("fixed in Issue #12", "issue reference"),
    ],
)
def test_the_search_finds_what_leaves_the_repository(text: str, reason: str) -> None:
    found = offending(PurePosixPath("adcbridge/README.md"), text)
    assert any(reason in finding for finding in found), found


@pytest.mark.parametrize(
    "text",
    [
        "the design is in [adcbridge/README.md](adcbridge/README.md)",
        "see `tests/README.md` and mocks/adc/README.md",
        'others += ["/metrics/../settings"]',
        "`make test` passes; the issuer of the certificate",
    ],
)
def test_the_search_accepts_what_stays_inside(text: str) -> None:
    assert offending(PurePosixPath("README.md"), text) == []


@pytest.mark.parametrize("path", text_files(), ids=str)
def test_no_text_file_points_outside_the_repository_or_at_an_issue(path: PurePosixPath) -> None:
    if path == PurePosixPath("tests/test_repository.py"):
        # Its own examples of what is refused; the parametrized cases above check each one.
        return
    assert offending(path, read(path)) == []


def links(text: str) -> list[str]:
    without_code = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    without_code = re.sub(r"`[^`\n]*`", "", without_code)
    return [a or b for a, b in MARKDOWN_LINK.findall(without_code)]


def test_the_link_reader_finds_links_and_skips_code() -> None:
    text = "See [a](docs/a.md#part) and ![img](x.png).\n```\n[no](in/code.md)\n```\n`[nor](inline.md)`"
    assert links(text) == ["docs/a.md#part", "x.png"]


@pytest.mark.parametrize("path", markdown_files(), ids=str)
def test_every_relative_link_resolves_inside_the_repository(path: PurePosixPath) -> None:
    relative = [link for link in links(read(path)) if not re.match(r"[a-z][a-z0-9+.-]*:|#", link)]
    broken = [link for link in relative if not resolves(path, link.split("#")[0])]
    assert broken == []


def readme_code() -> str:
    """What the README shows as code: fenced blocks and inline spans, where commands are."""
    readme = read(PurePosixPath("README.md"))
    fenced = re.findall(r"```[^\n]*\n(.*?)```", readme, flags=re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", readme, flags=re.DOTALL))
    return "\n".join(fenced + inline)


@cache
def make_targets() -> frozenset[str]:
    make = shutil.which("make")
    assert make, "make is needed (the README's two commands are make targets)"
    database = subprocess.run(
        [make, "-qpRr", "-f", "Makefile"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    return frozenset(re.findall(r"^([A-Za-z0-9][\w.-]*):(?!=)", database, flags=re.MULTILINE))


def shown_make_targets(code: str) -> list[str]:
    commands = re.findall(r"(?:^|\s|\()make[ \t]+([^\n`;|&)]*)", code, flags=re.MULTILINE)
    return [word for command in commands for word in command.split() if "=" not in word and not word.startswith("-")]


def test_make_targets_are_read_from_make_itself() -> None:
    assert {"test", "demo", "bench", "clean"} <= make_targets()
    assert shown_make_targets("make demo\nmake test ADC=x\n(make lint)") == ["demo", "test", "lint"]


def test_every_make_target_the_readme_shows_exists() -> None:
    shown = shown_make_targets(readme_code())
    assert {"demo", "test"} <= set(shown), "the Quick start's two commands"
    assert sorted(set(shown) - make_targets()) == []


def subcommands() -> dict[str, set[str]]:
    """Each ``adcbridge`` subcommand and the options it takes, from the CLI's own parser."""
    actions = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {
        name: {option for action in sub._actions for option in action.option_strings}
        for action in actions
        for name, sub in action.choices.items()
    }


def shown_invocations(code: str) -> list[tuple[str, list[str]]]:
    """``adcbridge <subcommand> <options>`` where a line starts the command (not ``helm install adcbridge``)."""
    found = re.findall(r"(?:^|^\$ |\s--\s)adcbridge[ \t]+(\S+)([^\n#]*)", code, flags=re.MULTILINE)
    return [(command, re.findall(r"(?<![\w-])--[\w-]+", rest)) for command, rest in found]


def test_the_invocation_reader_sees_commands_not_release_names() -> None:
    code = "helm install adcbridge helm/adcbridge\nkubectl exec deploy/x -- adcbridge check --config f\n"
    code += "adcbridge plan [--json] [--snapshot=PATH]   # a--b"
    assert shown_invocations(code) == [("check", ["--config"]), ("plan", ["--json", "--snapshot"])]


def test_every_adcbridge_subcommand_and_option_the_readme_shows_exists() -> None:
    known = subcommands()
    shown = shown_invocations(readme_code())
    assert {command for command, _ in shown} >= {"check", "plan", "run"}
    wrong = [(command, options) for command, options in shown if command not in known]
    wrong += [(command, [o for o in options if o not in known[command]]) for command, options in shown
              if command in known and not set(options) <= known[command]]  # fmt: skip
    assert wrong == []
