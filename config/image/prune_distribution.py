"""Remove top-level packages, and the console scripts that run them, from an installed distribution.

Why: one wheel holds the service (``adcbridge``) and the emulators the tests and the demo run
(``mocks``), with their console scripts, because a developer installs both with one
``pip install -e .``. The production image must hold the service only. pip cannot install part
of a wheel, so the image's build stage installs the whole wheel and then runs this script, which
deletes the files of the named packages and the scripts whose entry point lives in them, and
rewrites the distribution's RECORD, entry_points.txt and top_level.txt to match: what remains is
an honest installation of the rest (``pip show``, ``pip uninstall`` and image scanners read those
files), not a tree with holes in it.

    VENV/bin/python prune_distribution.py DISTRIBUTION PACKAGE...

Run by the environment's own interpreter, which knows where its site-packages is (Debian's
python3 would name /usr/local's scheme instead). Standard library only.
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import io
import shutil
import sys
import sysconfig
from pathlib import Path


def site_packages() -> Path:
    """The purelib directory of the virtual environment running this script."""
    if sys.prefix == sys.base_prefix:
        raise SystemExit(f"prune_distribution: {sys.executable} is not the interpreter of a virtual environment")
    return Path(sysconfig.get_path("purelib"))


def dist_info(site: Path, distribution: str) -> Path:
    normalized = distribution.replace("-", "_").lower()
    found = [path for path in site.glob("*.dist-info") if path.name.split("-")[0].lower() == normalized]
    if len(found) != 1:
        raise SystemExit(f"prune_distribution: {distribution}: {len(found)} .dist-info directories in {site}")
    return found[0]


def in_packages(module: str, packages: set[str]) -> bool:
    return module.split(".", maxsplit=1)[0] in packages


def pruned_entry_points(text: str, packages: set[str]) -> tuple[str, set[str]]:
    """entry_points.txt without the entry points into ``packages``, and the console scripts dropped."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    parser.read_string(text)
    dropped: set[str] = set()
    for section in parser.sections():
        for name, target in list(parser.items(section)):
            if in_packages(target.split(":")[0].strip(), packages):
                parser.remove_option(section, name)
                if section in {"console_scripts", "gui_scripts"}:
                    dropped.add(name)
        if not parser.items(section):
            parser.remove_section(section)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue(), dropped


def is_pruned(record_path: str, packages: set[str], scripts: set[str]) -> bool:
    """Whether a RECORD path (relative to site-packages) belongs to a pruned package or script."""
    parts = Path(record_path).parts
    if parts and parts[0] in packages:
        return True
    return len(parts) >= 2 and parts[-2] == "bin" and parts[-1] in scripts


def prune(site: Path, distribution: str, packages: set[str]) -> list[Path]:
    info = dist_info(site, distribution)
    entry_points_file = info / "entry_points.txt"
    scripts: set[str] = set()
    if entry_points_file.exists():
        text, scripts = pruned_entry_points(entry_points_file.read_text(), packages)
        entry_points_file.write_text(text)
    top_level = info / "top_level.txt"
    if top_level.exists():
        kept = [line for line in top_level.read_text().splitlines() if line.strip() not in packages]
        top_level.write_text("".join(f"{line}\n" for line in kept))
    record = info / "RECORD"
    rows = list(csv.reader(io.StringIO(record.read_text())))
    removed = [site / row[0] for row in rows if is_pruned(row[0], packages, scripts)]
    for path in removed:
        path.resolve().unlink(missing_ok=True)
    for package in packages:
        shutil.rmtree(site / package, ignore_errors=True)  # and their __pycache__, never in RECORD
    rewritten = {entry_points_file, top_level}
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        record_row(site, row[0]) if site / row[0] in rewritten else row
        for row in rows
        if not is_pruned(row[0], packages, scripts)
    )
    record.write_text(out.getvalue())
    return removed


def record_row(site: Path, record_path: str) -> list[str]:
    """A RECORD row for a file as it is now: sha256 in url-safe base64 without padding, and size."""
    data = (site / record_path).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [record_path, f"sha256={digest}", str(len(data))]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    distribution, *packages = argv
    removed = prune(site_packages(), distribution, set(packages))
    if not removed:
        print(f"prune_distribution: nothing of {packages} in {distribution}", file=sys.stderr)
        return 1
    print(f"prune_distribution: removed {len(removed)} files of {', '.join(sorted(packages))} from {distribution}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
