"""The ``adcbridge`` command line.

Only ``--version`` works so far: the engine (``run``, ``plan``, ``check``) arrives with the
core engine issue. Until then every other invocation says so and exits with code 2, so a
script cannot mistake the placeholder for a working bridge.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from adcbridge import __version__


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="adcbridge", description=__doc__.splitlines()[0] if __doc__ else None)
    cli.add_argument("--version", action="version", version=f"adcbridge {__version__}")
    cli.add_argument("command", nargs="?", help="not implemented yet")
    args = cli.parse_args(argv)
    print(f"adcbridge {__version__}: command {args.command or '(none)'!r} is not implemented yet", file=sys.stderr)
    return 2
