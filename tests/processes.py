"""Running the emulators as real processes, the way the demo and the fault matrix do."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

START_TIMEOUT = 20.0


@dataclass
class RunningMock:
    process: asyncio.subprocess.Process
    url: str
    dns: tuple[str, int] | None


@asynccontextmanager
async def mock_adc_process(*args: str) -> AsyncIterator[RunningMock]:
    """Start ``python -m mocks.adc ARGS`` on port 0, yield its addresses, stop it with SIGTERM."""
    async with _appliance("mocks.adc", *args) as mock:
        yield mock


@asynccontextmanager
async def mock_bigip_process(*args: str) -> AsyncIterator[RunningMock]:
    """Start ``python -m mocks.bigip ARGS`` on port 0, yield its addresses, stop it with SIGTERM."""
    async with _appliance("mocks.bigip", *args) as mock:
        yield mock


@asynccontextmanager
async def mock_acos_process(*args: str) -> AsyncIterator[RunningMock]:
    """Start ``python -m mocks.acos ARGS`` on port 0 (it has no DNS listener), yield its URL, stop it
    with SIGTERM."""
    async with _listening("mocks.acos", "--listen", "127.0.0.1:0", *args) as mock:
        yield mock


@asynccontextmanager
async def _appliance(module: str, *args: str) -> AsyncIterator[RunningMock]:
    """An emulated appliance with a DNS listener, both on port 0."""
    async with _listening(module, "--listen", "127.0.0.1:0", "--dns-listen", "127.0.0.1:0", *args) as mock:
        yield mock


@asynccontextmanager
async def _listening(module: str, *args: str) -> AsyncIterator[RunningMock]:
    """An emulator that prints one JSON "listening" line with its URL and DNS address (or null)."""
    async with _emulator(module, *args) as process:
        line = await _first_line(process)
        if not line:
            raise RuntimeError(f"{module} did not start: {await _stderr(process)}")
        ready: dict[str, Any] = json.loads(line)
        host, _, port = (ready["dns"] or "").rpartition(":")
        dns = (host.strip("[]"), int(port)) if ready["dns"] else None
        yield RunningMock(process, ready["url"], dns)


@asynccontextmanager
async def _emulator(module: str, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """``python -m MODULE ARGS`` with pipes, stopped with SIGTERM (and waited for) on the way out."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), START_TIMEOUT)
        await _stderr(process)


async def _first_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)).decode()


async def _stderr(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    return (await process.stderr.read()).decode(errors="replace")


async def run_cli(*args: str, module: str = "mocks.adc") -> tuple[int, str]:
    """Run ``python -m MODULE ARGS`` to completion; returns the exit code and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, err.decode(errors="replace")


@dataclass
class RunningKube:
    process: asyncio.subprocess.Process
    url: str


@asynccontextmanager
async def fake_kube_process(*args: str) -> AsyncIterator[RunningKube]:
    """Start ``python -m mocks.kube --listen 127.0.0.1:0 ARGS``, yield its URL, stop it with SIGTERM."""
    async with _emulator("mocks.kube", "--listen", "127.0.0.1:0", *args) as process:
        line = await _first_line(process)
        if not line.startswith("fake-kube listening on "):
            raise RuntimeError(f"fake API server did not start: {line}{await _stderr(process)}")
        yield RunningKube(process, line.split()[-1])
