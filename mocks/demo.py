"""``make demo``: the whole bridge on embedded mocks, and a way to play with it.

Starts three processes on loopback: the fake Kubernetes API server seeded from
``config/demo/`` (the KIC Service, three nodes, Ingresses and VirtualServers, one of another
class and one invalid host), the mock ADC with its DNS responder, and ``adcbridge run``
against both. When the bridge reports ready it prints the ADC's pools, virtual servers and
domains with the DNS answers, the Events the bridge wrote, and the kubectl lines to change
the cluster; then it prints the ADC again after every change until Ctrl-C, which stops
everything (SIGTERM, then SIGKILL after 10 s).

``--adc bigip`` (``make demo ADC=bigip``) runs the BIG-IP emulator instead of the mock ADC:
the demo first makes over its REST API what an operator makes before installing the bridge
(the bridge's partition; the BIG-IP DNS datacenter and the GTM server that stands for the unit),
trusts the emulator's certificate (made here, as an operator installs one), runs the bridge with
the ``bigip`` dialect publishing names on BIG-IP DNS (``dns.targets: [adc]``, ``adc.gtm_server``,
the bridge's DNS check asking the emulator's DNS listener) and prints the unit's nodes, pools,
members, virtual servers and wide IPs with what its DNS listener answers (``mocks/bigip/show.py``).
``--adc acos`` (``make demo ADC=acos``) runs the A10 Thunder emulator: the demo makes the bridge's
partition over aXAPI (and saves it), trusts the emulator's certificate, and, since ACOS publishes no
names, starts a BIND 9 on loopback (``mocks/bind.py``, zone ``example.com`` open to updates signed with
a fresh TSIG key); the bridge runs with the ``acos`` dialect and ``dns.targets: [rfc2136]``, and the demo
prints the unit's servers, service groups with members and virtual servers with their ports
(``mocks/acos/show.py``), then the zone as BIND transfers it, with BIND's answers.
Each appliance is a class below (``APPLIANCES``): what to start, what an operator prepares, the bridge's settings
and how to print the appliance.

Fixed ports by default (ADC 8443, DNS 8053 (BIND's, with ACOS), API server 6443, bridge 9102) so the printed
lines stay the same; ``--any-ports`` takes free ones (tests). ``--once`` prints and stops.
It drives the bridge as a process and reads the mocks over HTTP(S) and DNS; it imports
nothing of ``adcbridge``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from mocks.acos import show as acos_show
from mocks.adc import show
from mocks.bigip import show as bigip_show
from mocks.bigip.certificates import self_signed
from mocks.bind import TsigKey, soa_serial, zone_records

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "config" / "demo"
USERNAME, PASSWORD = "admin", "demo-password"
VIP = "192.0.2.10"
PARTITION = "k8s"  # the bridge's partition on the BIG-IP, made by the operator
DATACENTER, GTM_SERVER = "dc1", "bigip1"  # BIG-IP DNS: made by the operator in /Common
UNIT_ADDRESS = "10.1.0.1"  # the unit's self IP, as the operator gives it to its GTM server
READY_SECONDS = 60.0


@dataclass
class Ports:
    adc: int = 8443
    dns: int = 8053
    kube: int = 6443
    bridge: int = 9102


@dataclass
class Started:
    name: str
    process: subprocess.Popen[str]
    log: Path


class Demo:
    def __init__(self, work: Path, ports: Ports, appliance: type[Appliance] | None = None) -> None:
        self.work, self.ports = work, ports
        self.appliance = (appliance or ReferenceAdc)(self)
        self.started: list[Started] = []
        self.prepared: list[str] = []
        self.adc_url = self.dns = self.kube_url = self.bridge_url = ""

    def start(self, name: str, args: list[str], *, env: dict[str, str] | None = None) -> Started:
        log = self.work / f"{name}.log"
        out: IO[str] = log.open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", *args], stdout=out, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
        )
        started = Started(name, process, log)
        self.started.append(started)
        return started

    def stop(self) -> None:
        for started in reversed(self.started):
            if started.process.poll() is None:
                started.process.send_signal(signal.SIGTERM)
        for started in reversed(self.started):
            try:
                started.process.wait(10)
            except subprocess.TimeoutExpired:
                started.process.kill()
                started.process.wait()

    # ------------------------------------------------------------------ the three processes (the appliance's below)

    def start_adc(self) -> None:
        self.adc_url, self.dns = self.appliance.start()
        self.prepared = self.appliance.prepare()

    def start_kube(self) -> None:
        kubeconfig = self.work / "kubeconfig"
        started = self.start(
            "fake-kube",
            [
                *("mocks.kube", "--listen", f"127.0.0.1:{self.ports.kube}", "--seed", str(SEED)),
                *("--kubeconfig-out", str(kubeconfig), "--bookmark-interval", "30"),
            ],
        )
        line = wait_for_line(started, lambda text: "listening on" in text)
        self.kube_url = line.rsplit(" ", 1)[-1].strip()

    def start_bridge(self) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("ADCBRIDGE_")}
        env |= {
            "ADCBRIDGE_ADC__URL": self.adc_url,
            "ADCBRIDGE_ADC__USERNAME": USERNAME,
            "ADCBRIDGE_ADC__PASSWORD": PASSWORD,
            "ADCBRIDGE_OWNER_ID": "demo.njet",
            "ADCBRIDGE_VIP__ADDRESSES": json.dumps([VIP]),
            "ADCBRIDGE_KUBE__KUBECONFIG": str(self.work / "kubeconfig"),
            "ADCBRIDGE_LEADER__IDENTITY": "demo-bridge",
            "ADCBRIDGE_SERVER__LISTEN": f"127.0.0.1:{self.ports.bridge}",
            "ADCBRIDGE_RECONCILE__RESYNC_SECONDS": "15",
            "ADCBRIDGE_NODES__DRAIN_GRACE_SECONDS": "20",
        }
        env |= self.appliance.bridge_env()
        started = self.start("bridge", ["adcbridge", "run"], env=env)
        line = wait_for_line(started, lambda text: "serving /healthz" in text)
        port = re.search(r"on port (\d+)", line)
        self.bridge_url = f"http://127.0.0.1:{port.group(1) if port else self.ports.bridge}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.bridge_url}/readyz", timeout=2):
                    pass  # ready: a standby would be too, so also ask whether it leads
                with urllib.request.urlopen(f"{self.bridge_url}/metrics", timeout=2) as metrics:
                    if b"\nadcbridge_leader 1.0" in metrics.read():
                        return
            time.sleep(0.2)
        raise DemoError(f"the bridge was not ready within {READY_SECONDS:.0f} s; see {self.work / 'bridge.log'}")

    def check_alive(self) -> None:
        for started in self.started:
            if started.process.poll() is not None:
                raise DemoError(f"{started.name} exited ({started.process.returncode}); its log:\n{tail(started.log)}")

    # ------------------------------------------------------------------ what the user sees

    def dns_server(self) -> tuple[str, int]:
        """The appliance's DNS listener, as dnspython takes it."""
        dns_host, _, dns_port = self.dns.rpartition(":")
        return dns_host.strip("[]"), int(dns_port)

    def left_out(self) -> str:
        """What the appliance's DNS answers for the names the bridge must not publish."""
        lines = ["== Names the bridge left out (another class; an invalid host) =="]
        for name in ("intranet.example.com", "old_site.example.com"):
            lines.append(f"{name}  {show.resolve(name, 'A', self.dns_server())}")
        return "\n".join(lines)

    def dig_line(self) -> str:
        dns_host, dns_port = self.dns_server()
        return f"dig @{dns_host} -p {dns_port} blog.example.com A +short    # dig: Debian's bind9-dnsutils"

    def events(self) -> str:
        with urllib.request.urlopen(f"{self.kube_url}/api/v1/events", timeout=5) as response:
            items = json.load(response)["items"]
        rows = [("OBJECT", "REASON", "MESSAGE")]
        for event in items:
            involved = event["involvedObject"]
            where = f"{involved['kind']} {involved.get('namespace', '')}/{involved['name']}".replace(" /", " ")
            rows.append((where, event["reason"], event["message"]))
        return show.table(rows) if len(rows) > 1 else "(none)"

    def guide(self) -> str:
        kubeconfig = self.work / "kubeconfig"
        lines = "".join(f"  {line}\n" for line in self.appliance.guide_lines())
        return f"""
== Change the cluster and watch the {self.appliance.title} follow ==
  export KUBECONFIG={kubeconfig}
  kubectl get ingress -A
  kubectl apply -f {self.write_example()}   # a new name: blog.example.com
  kubectl delete ingress shop -n shop   # withdrawn
  kubectl cordon node-c                 # drains: disabled at once, removed after 20 s
  kubectl get events -A                 # what the bridge reported (rejected hosts, conflicts)
{lines}  curl -s {self.bridge_url}/readyz ; curl -s {self.bridge_url}/metrics | grep ^adcbridge_
  logs: {self.work}/bridge.log (and {self.appliance.name}.log, fake-kube.log)
The {self.appliance.title} is printed again after each change. Stop everything with Ctrl-C.
"""

    def write_example(self) -> Path:
        """An Ingress to add (``kubectl create ingress`` sends protobuf, which the fake does not speak)."""
        path = self.work / "blog-ingress.yaml"
        path.write_text(BLOG_INGRESS)
        return path


BLOG_INGRESS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: blog
  namespace: web
spec:
  ingressClassName: njet
  rules:
    - host: blog.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: blog
                port:
                  number: 80
"""


class DemoError(RuntimeError):
    pass


def wait_for_line(started: Started, wanted: Any, seconds: float = 30.0) -> str:
    """The first line of the process's log that ``wanted`` accepts (the process must not exit)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in started.log.read_text().splitlines():
            if wanted(line):
                return line
        if started.process.poll() is not None:
            raise DemoError(f"{started.name} exited ({started.process.returncode}):\n{tail(started.log)}")
        time.sleep(0.05)
    raise DemoError(f"{started.name} did not start within {seconds:.0f} s:\n{tail(started.log)}")


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text().splitlines()[-lines:])


@contextlib.contextmanager
def interrupts_as_exit() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, so ``kill`` also stops the children."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------- the appliances


class Appliance:
    """One appliance the demo can run: its process, what an operator prepares on it, the bridge's
    settings for it, and how to print it. Subclasses fill these in."""

    name = ""  # its process and log
    label = ""  # "starting the <label>, ..."
    title = ""  # "== The <title> ..."

    def __init__(self, demo: Demo) -> None:
        self.demo = demo

    def start(self) -> tuple[str, str]:
        """Start the appliance; its API's URL and its DNS listener (``host:port``)."""
        raise NotImplementedError

    def prepare(self) -> list[str]:
        """What an operator makes on the appliance before installing the bridge; one line per step."""
        return []

    def bridge_env(self) -> dict[str, str]:
        """The bridge's settings that depend on the appliance."""
        return {}

    def heading(self) -> str:
        return f"The {self.title} ({self.demo.adc_url})"

    def report(self) -> str:
        raise NotImplementedError

    def names(self) -> str:
        """What the demo says about the names it publishes, or leaves out."""
        raise NotImplementedError

    def guide_lines(self) -> list[str]:
        return []

    def follow(self) -> None:
        raise NotImplementedError


class ReferenceAdc(Appliance):
    """The mock ADC (``/adc/v3.0``) with its DNS responder: the bridge publishes names there."""

    name, label, title = "mock-adc", "mock ADC", "ADC"

    def start(self) -> tuple[str, str]:
        started = self.demo.start(
            self.name,
            [
                *(
                    "mocks.adc",
                    "--listen",
                    f"127.0.0.1:{self.demo.ports.adc}",
                    "--dns-listen",
                    f"127.0.0.1:{self.demo.ports.dns}",
                ),
                *("--username", USERNAME, "--password", PASSWORD),
            ],
        )
        line = json.loads(wait_for_line(started, lambda text: '"listening"' in text))
        return line["url"], line["dns"]

    def bridge_env(self) -> dict[str, str]:
        return {"ADCBRIDGE_DNS__VERIFY_SERVERS": json.dumps([self.demo.dns])}  # check what the mock's DNS answers

    def report(self) -> str:
        return show.report(self.demo.adc_url, self.demo.dns_server())

    def names(self) -> str:
        return self.demo.left_out()

    def guide_lines(self) -> list[str]:
        return [self.demo.dig_line()]

    def follow(self) -> None:
        show.follow(self.demo.adc_url, self.demo.dns_server(), 1.0)


class BigipUnit(Appliance):
    """The BIG-IP emulator, with a certificate made here that the bridge verifies, and what an operator
    makes over the REST API before installing the bridge: its partition, and in ``/Common`` the BIG-IP
    DNS datacenter and the GTM server that stands for the unit (``adc.gtm_server``). The bridge
    publishes names as wide IPs and checks them against the emulator's DNS listener."""

    name, label, title = "mock-bigip", "BIG-IP emulator", "BIG-IP"
    OPERATOR_SETUP: ClassVar[tuple[tuple[str, str, dict[str, Any]], ...]] = (
        (
            "POST",
            "/mgmt/tm/auth/partition",
            {"name": PARTITION, "description": "adcbridge: the bridge's own partition"},
        ),
        ("POST", "/mgmt/tm/gtm/datacenter", {"name": DATACENTER, "partition": "Common"}),
        (
            "POST",
            "/mgmt/tm/gtm/server",
            {
                "name": GTM_SERVER,
                "partition": "Common",
                "datacenter": f"/Common/{DATACENTER}",
                "addresses": [UNIT_ADDRESS],
            },
        ),
    )

    @property
    def certificate(self) -> Path:
        return self.demo.work / "bigip.pem"

    def start(self) -> tuple[str, str]:
        key = self.demo.work / "bigip-key.pem"
        certificate_pem, key_pem = self_signed("127.0.0.1")
        self.certificate.write_bytes(certificate_pem)
        key.touch(mode=0o600)
        key.write_bytes(key_pem)
        started = self.demo.start(
            self.name,
            [
                *("mocks.bigip", "--listen", f"127.0.0.1:{self.demo.ports.adc}"),
                *("--dns-listen", f"127.0.0.1:{self.demo.ports.dns}"),
                *("--username", USERNAME, "--password", PASSWORD),
                *("--tls-cert", str(self.certificate), "--tls-key", str(key)),
            ],
        )
        line = json.loads(wait_for_line(started, lambda text: '"listening"' in text))
        return line["url"], line["dns"]

    def context(self) -> ssl.SSLContext:
        return bigip_show.trusting(self.certificate)

    def prepare(self) -> list[str]:
        done = []
        for method, path, body in self.OPERATOR_SETUP:
            self.rest(method, path, body)
            done.append(f"{method} {path} {json.dumps(body)}")
        return done

    def rest(self, method: str, path: str, body: dict[str, Any]) -> Any:
        """One iControl REST call as the administrator (Basic credentials, the certificate verified)."""
        credentials = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        request = urllib.request.Request(
            f"{self.demo.adc_url}{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Basic {credentials}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context()) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise DemoError(f"{method} {path}: HTTP {exc.code} {exc.read().decode(errors='replace')}") from None

    def bridge_env(self) -> dict[str, str]:
        return {
            "ADCBRIDGE_ADC__DIALECT": "bigip",
            "ADCBRIDGE_ADC__PARTITION": PARTITION,
            "ADCBRIDGE_ADC__CA_FILE": str(self.certificate),
            "ADCBRIDGE_ADC__GTM_SERVER": f"/Common/{GTM_SERVER}",
            "ADCBRIDGE_DNS__TARGETS": json.dumps(["adc"]),
            "ADCBRIDGE_DNS__VERIFY_SERVERS": json.dumps([self.demo.dns]),  # ask the emulator's DNS listener
        }

    def heading(self) -> str:
        return f"The BIG-IP ({self.demo.adc_url}; the bridge writes in partition /{PARTITION})"

    def report(self) -> str:
        return bigip_show.report(self.demo.adc_url, self.context(), self.demo.dns_server())

    def names(self) -> str:
        return self.demo.left_out()

    def guide_lines(self) -> list[str]:
        where = f"--url {self.demo.adc_url} --ca-file {self.certificate}"
        return [
            f"python -m mocks.bigip.show {where} --dns {self.demo.dns}   # the unit's objects",
            self.demo.dig_line(),
            f"curl -s --cacert {self.certificate} -u {USERNAME} {self.demo.adc_url}/mgmt/tm/ltm/virtual"
            "   # asks for the password",
        ]

    def follow(self) -> None:
        bigip_show.follow(self.demo.adc_url, self.context(), 1.0, self.demo.dns_server())


class AcosUnit(Appliance):
    """The A10 Thunder emulator (aXAPI v3), with a certificate made here that the bridge verifies, and
    what an operator makes over aXAPI before installing the bridge: its partition, saved. ACOS publishes
    no names (its GSLB is not the bridge's business), so the demo also runs a BIND 9 on loopback with the
    zone ``example.com`` open to dynamic updates signed with a fresh TSIG key (``mocks/bind.py``), and
    the bridge sends the names there by RFC 2136 (``dns.targets: [rfc2136]``); the secret reaches the
    bridge as a file in its ``secrets_dir``, as a mounted Secret would."""

    name, label, title = "mock-acos", "ACOS emulator and a BIND 9", "ACOS unit"
    ZONE = "example.com"
    OPERATOR_SETUP: ClassVar[tuple[tuple[str, dict[str, Any] | None], ...]] = (
        ("/axapi/v3/partition", {"partition": {"partition-name": PARTITION, "id": 7}}),
        ("/axapi/v3/write/memory", None),
    )

    def __init__(self, demo: Demo) -> None:
        super().__init__(demo)
        self.key_name = ""

    @property
    def certificate(self) -> Path:
        return self.demo.work / "acos.pem"

    @property
    def secrets(self) -> Path:
        return self.demo.work / "secrets"

    def start(self) -> tuple[str, str]:
        key = self.demo.work / "acos-key.pem"
        certificate_pem, key_pem = self_signed("127.0.0.1")
        self.certificate.write_bytes(certificate_pem)
        key.touch(mode=0o600)
        key.write_bytes(key_pem)
        started = self.demo.start(
            self.name,
            [
                *("mocks.acos", "--listen", f"127.0.0.1:{self.demo.ports.adc}"),
                *("--username", USERNAME, "--password", PASSWORD),
                *("--tls-cert", str(self.certificate), "--tls-key", str(key)),
            ],
        )
        url = json.loads(wait_for_line(started, lambda text: '"listening"' in text))["url"]
        self.secrets.mkdir(mode=0o700)
        bind = self.demo.start(
            "bind",
            [
                *("mocks.bind", "--zone", self.ZONE, "--port", str(self.demo.ports.dns)),
                *("--secret-file", str(self.secrets / "rfc2136-tsig-secret")),
            ],
        )
        listening = json.loads(wait_for_line(bind, lambda text: '"listening"' in text))
        self.key_name = listening["key_name"]
        return url, str(listening["server"])

    def context(self) -> ssl.SSLContext:
        return bigip_show.trusting(self.certificate)

    def prepare(self) -> list[str]:
        signature = self.axapi("/axapi/v3/auth", {"credentials": {"username": USERNAME, "password": PASSWORD}})
        token = str(signature["authresponse"]["signature"])
        done = ["POST /axapi/v3/auth (the administrator's session)"]
        try:
            for path, body in self.OPERATOR_SETUP:
                answer = self.axapi(path, body, token)
                done.append(f"POST {path}" + (f" {json.dumps(body)}" if body else "") + f"  -> {status(answer)}")
        finally:
            ended = self.axapi("/axapi/v3/logoff", None, token)
        done.append(f"POST /axapi/v3/logoff  -> {status(ended)}")
        return done

    def axapi(self, path: str, body: dict[str, Any] | None, signature: str = "") -> Any:
        """One aXAPI POST (in the session ``signature`` when given; the certificate verified)."""
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"A10 {signature}"} if signature else {})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.demo.adc_url}{path}", data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context()) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise DemoError(f"POST {path}: HTTP {exc.code} {exc.read().decode(errors='replace')}") from None

    def bridge_env(self) -> dict[str, str]:
        return {
            "ADCBRIDGE_ADC__DIALECT": "acos",
            "ADCBRIDGE_ADC__PARTITION": PARTITION,
            "ADCBRIDGE_ADC__CA_FILE": str(self.certificate),
            "ADCBRIDGE_DNS__TARGETS": json.dumps(["rfc2136"]),
            "ADCBRIDGE_RFC2136__SERVER": self.demo.dns,
            "ADCBRIDGE_RFC2136__ZONES": json.dumps([self.ZONE]),
            "ADCBRIDGE_RFC2136__TSIG_KEY_NAME": self.key_name,
            "ADCBRIDGE_SECRETS_DIR": str(self.secrets),  # holds rfc2136-tsig-secret
        }

    def heading(self) -> str:
        return f"The ACOS unit ({self.demo.adc_url}; the bridge writes in partition {PARTITION})"

    def report(self) -> str:
        return acos_show.report(self.demo.adc_url, self.context())

    def names(self) -> str:
        return f"{self.zone()}\n\n{self.demo.left_out()}"

    def zone(self) -> str:
        """The zone's records as BIND transfers them, with what BIND answers for each name."""
        key = TsigKey(self.key_name, (self.secrets / "rfc2136-tsig-secret").read_text().strip())
        rows = [("NAME", "TYPE", "RECORD", "BIND ANSWERS")]
        for name, rdtype, data in zone_records(self.demo.dns_server(), self.ZONE, key):
            answer = show.resolve(name, rdtype, self.demo.dns_server()) if rdtype in ("A", "AAAA") else "-"
            rows.append((name, rdtype, data, answer))
        return f"== The names in BIND ({self.demo.dns}, zone {self.ZONE}, written by the bridge by RFC 2136) ==\n" + (
            show.table(rows)
        )

    def guide_lines(self) -> list[str]:
        return [
            f"python -m mocks.acos.show --url {self.demo.adc_url} --ca-file {self.certificate}   # the unit's objects",
            self.demo.dig_line(),
            f"curl -s --cacert {self.certificate} {self.demo.adc_url}/_mock/state   # the unit's objects as JSON",
        ]

    def follow(self) -> None:
        """Print the unit and the zone again when either moves: a new name alone changes only the zone."""
        seen: tuple[int, int | None] | None = None
        while True:
            now = (acos_show.changes(self.demo.adc_url, self.context()), soa_serial(self.demo.dns_server(), self.ZONE))
            if now != seen:
                seen = now
                shown = f"{self.report()}\n\n{self.names()}"
                print(f"\n== the ACOS unit and BIND at {time.strftime('%H:%M:%S')} (change #{now[0]}) ==\n{shown}")
                sys.stdout.flush()
            time.sleep(1.0)


def status(answer: Any) -> str:
    """The ``response.status`` of an aXAPI answer (``OK``), or ``?``."""
    response = answer.get("response") if isinstance(answer, dict) else None
    return str(response.get("status", "?")) if isinstance(response, dict) else "?"


APPLIANCES: dict[str, type[Appliance]] = {"reference": ReferenceAdc, "bigip": BigipUnit, "acos": AcosUnit}


# ---------------------------------------------------------------------------- the run


def run(demo: Demo, *, once: bool) -> int:
    appliance = demo.appliance
    print(f"starting the {appliance.label}, the fake Kubernetes API server and the bridge ...", flush=True)
    demo.start_adc()
    if demo.prepared:
        print(f"\n== Made on the {appliance.title} first, over its REST API, as an operator would ==")
        print("\n".join(demo.prepared))
    demo.start_kube()
    demo.start_bridge()
    demo.wait_ready()
    print(f"\n== {appliance.heading()}, as the bridge set it up from config/demo/ ==")
    print(appliance.report())
    print(f"\n{appliance.names()}")
    print("\n== Kubernetes Events written by the bridge ==")
    print(demo.events())
    if once:
        return 0
    print(demo.guide(), flush=True)
    appliance.follow()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mocks.demo", description="The bridge on embedded mocks.")
    parser.add_argument("--once", action="store_true", help="print the ADC once and stop everything")
    parser.add_argument("--any-ports", action="store_true", help="free ports instead of 8443/8053/6443/9102")
    parser.add_argument(
        "--adc",
        choices=sorted(APPLIANCES),
        default="reference",
        help="the appliance: the mock ADC, the BIG-IP or the A10 Thunder (ACOS)",
    )
    args = parser.parse_args(argv)
    ports = Ports(0, 0, 0, 0) if args.any_ports else Ports()
    with tempfile.TemporaryDirectory(prefix="adcbridge-demo.") as work, interrupts_as_exit():
        demo = Demo(Path(work), ports, APPLIANCES[args.adc])
        try:
            return run(demo, once=args.once)
        except KeyboardInterrupt:
            print("\nstopping ...")
            return 0
        except (DemoError, OSError, urllib.error.URLError) as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 1
        finally:
            demo.stop()


if __name__ == "__main__":
    sys.exit(main())
