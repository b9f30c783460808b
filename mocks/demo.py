"""``make demo``: the whole bridge on embedded mocks, and a way to play with it.

Starts three processes on loopback: the fake Kubernetes API server seeded from
``config/demo/`` (the KIC Service, three nodes, Ingresses and VirtualServers, one of another
class and one invalid host), the mock ADC with its DNS responder, and ``adcbridge run``
against both. When the bridge reports ready it prints the ADC's pools, virtual servers and
domains with the DNS answers, the Events the bridge wrote, and the kubectl lines to change
the cluster; then it prints the ADC again after every change until Ctrl-C, which stops
everything (SIGTERM, then SIGKILL after 10 s).

Fixed ports by default (ADC 8443, DNS 8053, API server 6443, bridge 9102) so the printed
lines stay the same; ``--any-ports`` takes free ones (tests). ``--once`` prints and stops.
It drives the bridge as a process and reads the mocks over HTTP and DNS; it imports
nothing of ``adcbridge``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mocks.adc import show

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "config" / "demo"
USERNAME, PASSWORD = "admin", "demo-password"
VIP = "192.0.2.10"
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
    def __init__(self, work: Path, ports: Ports) -> None:
        self.work, self.ports = work, ports
        self.started: list[Started] = []
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

    # ------------------------------------------------------------------ the three processes

    def start_adc(self) -> None:
        started = self.start(
            "mock-adc",
            [
                *(
                    "mocks.adc",
                    "--listen",
                    f"127.0.0.1:{self.ports.adc}",
                    "--dns-listen",
                    f"127.0.0.1:{self.ports.dns}",
                ),
                *("--username", USERNAME, "--password", PASSWORD),
            ],
        )
        line = json.loads(wait_for_line(started, lambda text: '"listening"' in text))
        self.adc_url, self.dns = line["url"], line["dns"]

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
            "ADCBRIDGE_DNS__VERIFY_SERVERS": json.dumps([self.dns]),  # check what the mock's DNS answers
        }
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
        dns_host, _, dns_port = self.dns.rpartition(":")
        return f"""
== Change the cluster and watch the ADC follow ==
  export KUBECONFIG={kubeconfig}
  kubectl get ingress -A
  kubectl apply -f {self.write_example()}   # a new name: blog.example.com
  kubectl delete ingress shop -n shop   # withdrawn
  kubectl cordon node-c                 # drains: disabled at once, removed after 20 s
  kubectl get events -A                 # what the bridge reported (rejected hosts, conflicts)
  dig @{dns_host} -p {dns_port} blog.example.com A +short    # dig: Debian's bind9-dnsutils
  curl -s {self.bridge_url}/readyz ; curl -s {self.bridge_url}/metrics | grep ^adcbridge_
  logs: {self.work}/bridge.log (and mock-adc.log, fake-kube.log)
The ADC is printed again after each change. Stop everything with Ctrl-C.
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


def run(demo: Demo, *, once: bool) -> int:
    print("starting the mock ADC, the fake Kubernetes API server and the bridge ...", flush=True)
    demo.start_adc()
    demo.start_kube()
    demo.start_bridge()
    demo.wait_ready()
    dns_host, _, dns_port = demo.dns.rpartition(":")
    dns_server = (dns_host.strip("[]"), int(dns_port))
    print(f"\n== The ADC ({demo.adc_url}), as the bridge set it up from config/demo/ ==")
    print(show.report(demo.adc_url, dns_server))
    print("\n== Names the bridge left out (another class; an invalid host) ==")
    for name in ("intranet.example.com", "old_site.example.com"):
        print(f"{name}  {show.resolve(name, 'A', dns_server)}")
    print("\n== Kubernetes Events written by the bridge ==")
    print(demo.events())
    if once:
        return 0
    print(demo.guide(), flush=True)
    show.follow(demo.adc_url, dns_server, 1.0)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mocks.demo", description="The bridge on embedded mocks.")
    parser.add_argument("--once", action="store_true", help="print the ADC once and stop everything")
    parser.add_argument("--any-ports", action="store_true", help="free ports instead of 8443/8053/6443/9102")
    args = parser.parse_args(argv)
    ports = Ports(0, 0, 0, 0) if args.any_ports else Ports()
    with tempfile.TemporaryDirectory(prefix="adcbridge-demo.") as work, interrupts_as_exit():
        demo = Demo(Path(work), ports)
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
