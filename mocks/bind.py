"""A real BIND 9 (``named``) on loopback, with zones that accept dynamic updates (RFC 2136).

The tests of the bridge's RFC 2136 side run it (``tests/bind_server.py`` adds their fixtures), and so
does ``make demo ADC=acos``: an appliance that publishes no names sends them to a standard DNS server.

``BindServer`` writes a ``named.conf``, zone files and a TSIG key into a private temporary
directory, runs ``named -g`` (foreground, logging to a file there) on 127.0.0.1 and a free
port, waits until it answers an SOA query, and stops it with SIGTERM (SIGKILL if it lingers)
on the way out. Nothing outside the temporary directory is read or written on purpose: no
``/etc/bind`` configuration, keys or trust anchors, no ``/var/cache/bind``, no rndc
(``controls { };``), no pid file or session key in ``/run``. Zone files are writable, so
dynamic updates land in journals next to them.

``python -m mocks.bind --zone example.com --secret-file F`` runs one until SIGINT or SIGTERM: it writes
the TSIG secret (base64) to ``F`` (never to stdout) and prints one JSON line once named answers,
``{"event": "listening", "server": "127.0.0.1:PORT", "zones": [...], "key_name": ..., "algorithm": ...}``.

Needs Debian's ``bind9`` package (``make bind9``). Must not: listen anywhere but 127.0.0.1, leave
``named`` running, or depend on the system's BIND configuration (named may run as root: it stays
root, since ``-u`` is not given).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.zone

HOST = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 5
ALGORITHMS = ("hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")
_SECRET_BYTES = {"hmac-sha1": 20, "hmac-sha224": 28, "hmac-sha256": 32, "hmac-sha384": 48, "hmac-sha512": 64}
# named's words when its listen socket is taken: it then exits, and we retry on another port.
_PORT_TAKEN = ("unable to listen on any configured interfaces", "address in use")


def named_path() -> str | None:
    """Where ``named`` is: ``/usr/sbin`` is not on a normal user's PATH on Debian."""
    return shutil.which("named") or shutil.which("named", path="/usr/sbin:/usr/local/sbin")


def confined_by_apparmor() -> bool:
    """Debian's AppArmor profile for /usr/sbin/named, when enforced, forbids reading our
    named.conf and writing zones outside /etc/bind and /var/{lib,cache}/bind. The profile
    attaches by path, so a copy of the binary elsewhere runs unconfined. (Readable by root.)"""
    try:
        profiles = Path("/sys/kernel/security/apparmor/profiles").read_text()
    except OSError:
        return False
    return any(line.startswith("named ") and "(enforce)" in line for line in profiles.splitlines())


@dataclass(frozen=True)
class TsigKey:
    """A TSIG key as both sides need it: named.conf's ``key`` statement and dnspython's ``Key``."""

    name: str
    secret: str  # base64
    algorithm: str = "hmac-sha256"

    @classmethod
    def random(cls, name: str = "adcbridge-test-key", *, algorithm: str = "hmac-sha256") -> TsigKey:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unsupported TSIG algorithm {algorithm!r}; choose one of {ALGORITHMS}")
        return cls(name, base64.b64encode(secrets.token_bytes(_SECRET_BYTES[algorithm])).decode(), algorithm)

    @property
    def tsig_key(self) -> dns.tsig.Key:
        return dns.tsig.Key(self.name, self.secret, self.algorithm)

    @property
    def keyring(self) -> dict[dns.name.Name, dns.tsig.Key]:
        key = self.tsig_key
        return {key.name: key}

    def conf(self) -> str:
        return f'key "{self.name}" {{ algorithm {self.algorithm}; secret "{self.secret}"; }};\n'


@dataclass(frozen=True)
class ZoneSpec:
    """A primary zone. ``records`` are zone-file lines relative to the origin, added after the
    SOA, the NS ``ns.<zone>`` and its A record (127.0.0.1) that every zone gets."""

    name: str
    allow_update: bool = True
    allow_transfer: bool = True
    records: Sequence[str] = ()

    @property
    def origin(self) -> str:
        return self.name.rstrip(".") + "."

    def zone_file(self) -> str:
        origin = self.origin
        head = [
            f"$ORIGIN {origin}",
            "$TTL 300",
            f"@ IN SOA ns.{origin} hostmaster.{origin} 1 3600 600 86400 300",
            f"@ IN NS ns.{origin}",
            "ns IN A 127.0.0.1",
        ]
        return "\n".join([*head, *self.records, ""])

    def conf(self, path: Path, key: TsigKey) -> str:
        update = f'key "{key.name}";' if self.allow_update else "none;"
        transfer = f'key "{key.name}";' if self.allow_transfer else "none;"
        return (
            f'zone "{self.origin}" {{ type primary; file "{path}"; '
            f"allow-update {{ {update} }}; allow-transfer {{ {transfer} }}; }};\n"
        )


DEFAULT_ZONES = (ZoneSpec("example.test"), ZoneSpec("other.test"))


@dataclass
class BindServer:
    """``async with BindServer(zones) as server``: a running named on ``server.host``:``server.port``.

    ``key`` is the key zones accept for updates and transfers (random, ``algorithm``);
    ``extra_keys`` are declared to named but allowed nothing (a "known but unauthorized" key).
    ``listen_port`` fixes the port (``make demo``); by default a free one is taken.
    """

    zones: Sequence[ZoneSpec] = DEFAULT_ZONES
    algorithm: str = "hmac-sha256"
    key: TsigKey | None = None
    extra_keys: Sequence[TsigKey] = ()
    listen_port: int = 0  # 0: a free one (retried when taken meanwhile); else this one, once
    host: str = field(default=HOST, init=False)
    port: int = field(default=0, init=False)
    directory: Path = field(default=Path(), init=False)
    start_seconds: float = field(default=0.0, init=False)
    _process: asyncio.subprocess.Process | None = field(default=None, init=False, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = TsigKey.random(algorithm=self.algorithm)
        self.algorithm = self.key.algorithm

    # --- the key, as dnspython wants it -------------------------------------------------

    @property
    def tsig(self) -> TsigKey:
        assert self.key is not None
        return self.key

    @property
    def key_name(self) -> str:
        return self.tsig.name

    @property
    def secret(self) -> str:
        return self.tsig.secret

    @property
    def tsig_key(self) -> dns.tsig.Key:
        return self.tsig.tsig_key

    @property
    def keyring(self) -> dict[dns.name.Name, dns.tsig.Key]:
        return self.tsig.keyring

    def wrong_key(self, *, same_name: bool = True) -> TsigKey:
        """A random key named like ours (named answers BADSIG) or, with ``same_name=False``,
        a name named does not know (BADKEY)."""
        name = self.key_name if same_name else "unknown-key"
        return TsigKey.random(name, algorithm=self.algorithm)

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> BindServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        executable = named_path()
        if executable is None:
            raise RuntimeError("named is not installed: install Debian's bind9 package (make bind9)")
        started = time.monotonic()
        self._tmp = tempfile.TemporaryDirectory(prefix="adcbridge-named-")
        self.directory = Path(self._tmp.name)
        try:
            if confined_by_apparmor():
                executable = str(shutil.copy2(executable, self.directory / "named"))
            if self.listen_port:
                self.port = self.listen_port
                self._write_config()
                if not await self._launch(executable):
                    raise RuntimeError(f"named could not listen on port {self.port}:\n{self.log()}")
            else:
                for _ in range(PORT_ATTEMPTS):
                    self.port = free_port()
                    self._write_config()
                    if await self._launch(executable):
                        break
                else:
                    raise RuntimeError(f"named found no free port in {PORT_ATTEMPTS} attempts:\n{self.log()}")
        except BaseException:
            await self.stop()
            raise
        self.start_seconds = time.monotonic() - started

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            tmp.cleanup()

    def log(self) -> str:
        """named's output so far (it logs to stderr with ``-g``; we send that to a file)."""
        path = self.directory / "named.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def zone_path(self, zone: str) -> Path:
        return self.directory / f"{zone.rstrip('.')}.zone"

    async def query(self, name: str, rdtype: str = "A") -> dns.message.Message:
        """An unsigned UDP query to this server."""
        return await dns.asyncquery.udp(dns.message.make_query(name, rdtype), self.host, port=self.port, timeout=2)

    # --- internals ------------------------------------------------------------------------

    def _write_config(self) -> None:
        d = self.directory
        conf = [
            "options {\n",
            f'  directory "{d}";\n',
            f'  pid-file "{d}/named.pid";\n',
            f'  session-keyfile "{d}/session.key";\n',
            f'  managed-keys-directory "{d}";\n',
            f'  bindkeys-file "{d}/bind.keys";\n',
            f"  listen-on port {self.port} {{ {HOST}; }};\n",
            "  listen-on-v6 { none; };\n",
            "  recursion no;\n",
            "  dnssec-validation no;\n",
            "  notify no;\n",
            "};\n",
            "controls { };\n",
            self.tsig.conf(),
            *(key.conf() for key in self.extra_keys),
        ]
        for zone in self.zones:
            path = self.zone_path(zone.name)
            if not path.exists():  # a retry on another port keeps the zones as written
                path.write_text(zone.zone_file())
            conf.append(zone.conf(path, self.tsig))
        (d / "bind.keys").write_text("")
        (d / "named.conf").write_text("".join(conf))

    async def _launch(self, executable: str) -> bool:
        """Start named and wait until it answers; False when its port was taken meanwhile."""
        with (self.directory / "named.log").open("wb") as log:  # the child keeps its own descriptor
            self._process = await asyncio.create_subprocess_exec(
                executable, "-g", "-4", "-n", "2", "-c", str(self.directory / "named.conf"),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                cwd=self.directory,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        attempt = 0
        while time.monotonic() < deadline:
            if self._process.returncode is not None:
                await self._process.wait()
                self._process = None
                if any(words in self.log() for words in _PORT_TAKEN):
                    return False
                raise RuntimeError(f"named exited at start:\n{self.log()}")
            if "not loaded due to errors" in self.log():
                raise RuntimeError(f"named could not load a zone:\n{self.log()}")
            # A query sent before named binds is lost silently: retry soon, then back off.
            if await self._answers(patience=min(0.02 * 2**attempt, 1.0)):
                return True
            attempt += 1
            await asyncio.sleep(0.01)
        raise RuntimeError(f"named did not answer within {START_TIMEOUT} s:\n{self.log()}")

    async def _answers(self, *, patience: float) -> bool:
        zone = self.zones[0].origin if self.zones else "."
        with contextlib.suppress(dns.exception.DNSException, OSError):
            response = await dns.asyncquery.udp(
                dns.message.make_query(zone, "SOA"), self.host, port=self.port, timeout=patience
            )
            return not self.zones or (response.rcode() == dns.rcode.NOERROR and bool(response.answer))
        return False


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now (named cannot take port 0)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def soa_serial(server: tuple[str, int], zone: str) -> int | None:
    """The zone's SOA serial as ``server`` answers it (it moves with every update); None unanswered."""
    try:
        reply = dns.query.udp(dns.message.make_query(zone, "SOA"), server[0], port=server[1], timeout=2)
    except (dns.exception.DNSException, OSError):
        return None
    serials = [int(item.serial) for rrset in reply.answer if rrset.rdtype == dns.rdatatype.SOA for item in rrset]
    return serials[0] if serials else None


def zone_records(server: tuple[str, int], zone: str, key: TsigKey) -> list[tuple[str, str, str]]:
    """``(name, type, data)`` of every record in ``zone`` but its SOA and NS, read by a zone transfer
    (AXFR, signed with ``key``) from ``server``: what the zone holds, whoever wrote it."""
    transferred = dns.zone.from_xfr(
        dns.query.xfr(server[0], zone, port=server[1], keyring=key.keyring, keyname=key.name, lifetime=10)
    )
    origin, rows = transferred.origin, []
    assert origin is not None  # a transferred zone has its origin
    for name, rdataset in transferred.iterate_rdatasets():
        if rdataset.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS):
            continue
        fqdn = name.derelativize(origin).to_text(omit_final_dot=True)
        for item in rdataset:
            rows.append((fqdn, dns.rdatatype.to_text(rdataset.rdtype), item.to_text()))
    return sorted(rows)


# ---------------------------------------------------------------------------- the command line


async def serve(zones: Sequence[str], port: int, key: TsigKey) -> None:
    """Run named with ``zones`` (updatable with ``key``) until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with BindServer([ZoneSpec(zone) for zone in zones], key=key, listen_port=port) as server:
        listening = {
            "event": "listening",
            "server": f"{server.host}:{server.port}",
            "zones": [zone.origin for zone in server.zones],
            "key_name": server.key_name,
            "algorithm": server.algorithm,
        }
        print(json.dumps(listening), flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m mocks.bind", description="BIND 9 on loopback, updatable by RFC 2136.")
    cli.add_argument("--zone", action="append", required=True, help="a zone to serve (repeatable)")
    cli.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: a free one)")
    cli.add_argument("--secret-file", type=Path, required=True, help="where to write the TSIG secret (base64)")
    args = cli.parse_args(argv)
    key = TsigKey.random("adcbridge-demo-key")
    try:
        args.secret_file.touch(mode=0o600)
        args.secret_file.write_text(key.secret)
        asyncio.run(serve(args.zone, args.port, key))
    except (RuntimeError, OSError) as exc:
        print(f"{cli.prog}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
