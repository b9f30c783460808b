"""kubectl, run the way an operator runs it, against the fake API server.

The binary is the one ``ADCBRIDGE_TEST_KUBECTL`` names, else the ``kubectl`` on ``PATH``
(``make test`` installs Debian's ``kubernetes-client`` when there is none). The kubectl tests
pass with Debian's kubectl 1.20, which validates manifests itself against ``/openapi/v2``, and
with current ones, which leave that to the server; point the variable at each to check both.
A missing kubectl fails those tests, saying what to do: a skipped test would hide a fake API
server that kubectl can no longer talk to.

Each call gets its own ``HOME`` and ``--cache-dir`` (kubectl caches discovery on disk and would
not see a kind created later) and the caller's ``PATH`` (a kubectl may be a wrapper).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

KUBECTL_ENV = "ADCBRIDGE_TEST_KUBECTL"
TIMEOUT = 20.0


def kubectl_path() -> str:
    """The kubectl to run, or the test fails naming the way to get one."""
    chosen = os.environ.get(KUBECTL_ENV)
    if chosen:
        if not os.access(chosen, os.X_OK):
            pytest.fail(f"{KUBECTL_ENV}={chosen} is not an executable file", pytrace=False)
        return chosen
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail(
            "kubectl is not installed: run `make test` (it installs Debian's kubernetes-client), "
            f"or put kubectl on PATH, or set {KUBECTL_ENV} to a kubectl binary",
            pytrace=False,
        )
    return found


async def run_kubectl(
    kubeconfig: Path, *args: str, home: Path, stdin: str | None = None, seconds: float = TIMEOUT
) -> tuple[int, str]:
    """``kubectl --kubeconfig … args``: its exit code and its output (stdout, then stderr)."""
    process = await asyncio.create_subprocess_exec(
        kubectl_path(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(home / "kube-cache"), *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"HOME": str(home), "PATH": os.environ.get("PATH", os.defpath)},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), seconds)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()
