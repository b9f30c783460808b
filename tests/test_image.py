"""The production image, built by ``make image``, run the way the Helm chart runs it.

tests/test_dockerfile.py reads the Dockerfile; only a container engine can show that the image it
makes starts on a read-only root filesystem as uid 10001 with every capability dropped, reads the
settings and the Secret's files where the chart mounts them, serves its probes, converges a
cluster onto an ADC and stops cleanly on SIGTERM within Kubernetes' default grace period. Here
podman (configured by config/image/containers.conf alone) runs it. The flags come from the chart as
rendered: its container's securityContext, args, env, volumeMounts and volumes; the pod's files
(the ConfigMap, the projected Secret, the service account) are laid out kubelet-style and
bind-mounted read-only; the emptyDir at /tmp is a 16 MiB tmpfs, the only writable place. Host
networking lets the container reach the fake API server (HTTPS, seeded with the demo cluster) and
the mock ADC, both on loopback, port 0, started by the test.

``make test`` builds the image first (``make image``) and installs podman where it is missing. A
machine where podman cannot run fails these tests; nothing skips.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import secrets
import time
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import PASSWORD, USERNAME
from tests.helm_chart import Obj, Rendered, render
from tests.live import until
from tests.processes import fake_kube_process, mock_adc_process
from tests.secret_volumes import publish

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
IMAGE = os.environ.get("ADCBRIDGE_TEST_IMAGE", f"localhost/adcbridge:{VERSION}")
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "config" / "image" / "containers.conf")}
BUDGET_BYTES = 250 * 2**20
GRACE_SECONDS = 30.0  # the chart's terminationGracePeriodSeconds, Kubernetes' default
POD_NAME = "adcbridge-6d8f7b-q7x2m"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

# The demo cluster (config/demo) as the mock ADC must hold it: mocks/demo.py's table.
SEED = ROOT / "config" / "demo"
VIP = "192.0.2.10"
DEMO_DOMAINS = {f"{host}.example.com" for host in ("api", "legacy", "pay", "secure", "shop", "static", "vs")}
DEMO_MEMBERS = {(f"10.0.0.1{node}", port) for node in (1, 2, 3) for port in (30080, 30443)}  # the KIC's nodePorts


# ------------------------------------------------------------------ podman


async def podman(*args: str, seconds: float = 60.0) -> tuple[int, str, str]:
    """``podman ARGS`` with the repository's containers.conf: exit code, stdout, stderr."""
    try:
        process = await asyncio.create_subprocess_exec(
            "podman", *args, env=PODMAN_ENV, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except FileNotFoundError:
        pytest.fail("podman is missing: make test installs it (make podman), and these tests need it")
    try:
        out, err = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"podman {' '.join(args[:2])} did not finish within {seconds} s") from None
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


async def image_config() -> Obj:
    code, out, err = await podman("image", "inspect", IMAGE)
    assert code == 0, f"{IMAGE} is not in podman's storage: run make image (make test does). {err}"
    (inspected,) = json.loads(out)
    result: Obj = inspected
    return result


# ------------------------------------------------------------------ the locks


def pinned(lock: Path) -> dict[str, Version]:
    """A pip-compile lock's pins by canonical name; each must carry at least one sha256."""
    pins: dict[str, Version] = {}
    text = re.sub(r"(?m)^\s*#.*\n", "", lock.read_text())  # comments: the header, "# via ..."
    for entry in re.split(r"\n(?=\S)", text.strip()):
        requirement, *hashes = entry.replace("\\\n", " ").split()
        name, _, version = requirement.partition("==")
        assert version, f"{lock.name}: {requirement} is not pinned"
        assert hashes, f"{lock.name}: {requirement} has no hash"
        assert all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", word) for word in hashes), entry
        pins[canonicalize_name(name)] = Version(version)
    return pins


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.txt", PYPROJECT["project"]["dependencies"]),
        ("build-requirements.txt", ["pip", *PYPROJECT["build-system"]["requires"]]),
    ],
)
def test_the_locks_pin_with_hashes_what_pyproject_asks(lock: str, requirements: list[str]) -> None:
    """A dependency added to pyproject.toml without make lock would be missing from the image."""
    pins = pinned(ROOT / "config" / "image" / lock)
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in config/image/{lock}: run make lock"
        assert requirement.specifier.contains(pins[name]), (
            f"config/image/{lock} pins {name} {pins[name]}: run make lock"
        )


# ------------------------------------------------------------------ what the image holds

INSPECT = r"""
import importlib.metadata, importlib.util, json, os, shutil, sys, sysconfig
stdlib = sysconfig.get_path("stdlib")
checked = []
for name in ("asyncio/base_events.py", "json/decoder.py", "ssl.py"):
    source = os.path.join(stdlib, name)
    with open(importlib.util.cache_from_source(source), "rb") as pyc, open(source, "rb") as py:
        header = pyc.read(16)
        checked.append(header[8:16] == importlib.util.source_hash(py.read()) and header[4:8] == b"\x03\0\0\0")
dist = importlib.metadata.distribution("adcbridge")
print(json.dumps({
    "modules": {m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]},
    "commands": sorted(c for c in ("pip", "pip3", "gcc", "cc", "pytest", "sh", "bash") if shutil.which(c)),
    "bin": sorted(os.listdir(os.path.join(sys.prefix, "bin"))),
    "scripts": sorted(e.name for e in dist.entry_points if e.group == "console_scripts"),
    "files": sorted(os.path.relpath(dist.locate_file(f), sys.prefix) for f in dist.files),
    "stdlib_byte_code_fits": checked,
    "uid": os.getuid(),
    "writable": [path for path in (sys.prefix, "/opt/pycache", stdlib) if os.access(path, os.W_OK)],
}))
"""
NOT_IN_THE_IMAGE = ("pip", "setuptools", "wheel", "pytest", "hypothesis", "mypy", "ruff", "respx", "mocks")


async def test_the_image_holds_the_service_and_nothing_else() -> None:
    config = await image_config()
    assert config["Size"] < BUDGET_BYTES, f"{config['Size'] / 2**20:.0f} MiB: over the budget of 250 MiB"
    assert config["Config"]["User"] == "10001:10001", "the image must run as 10001:10001 without the chart's help"
    assert config["Config"]["Entrypoint"] == ["/opt/adcbridge/bin/adcbridge", "run"]
    code, out, err = await podman(
        *("run", "--rm", "--pull=never", "--network=none", "--cap-drop=ALL"),  # writable: see "writable"
        *("--entrypoint", "/opt/adcbridge/bin/python", IMAGE, "-c", INSPECT, *NOT_IN_THE_IMAGE, "adcbridge"),
    )
    assert code == 0, out + err
    found = json.loads(out)
    assert found["modules"] == {**dict.fromkeys(NOT_IN_THE_IMAGE, False), "adcbridge": True}
    assert found["commands"] == [], "no pip, compiler, test runner or shell on the PATH"
    assert found["scripts"] == ["adcbridge"]
    assert [name for name in found["bin"] if name.startswith(("adcbridge-", "pip", "pytest"))] == []
    site = "lib/python3.11/site-packages/"
    others = [name for name in found["files"] if not name.startswith((f"{site}adcbridge/", f"{site}adcbridge-"))]
    assert others == ["bin/adcbridge"], "the distribution installs the service's package and command only"
    assert found["stdlib_byte_code_fits"] == [True, True, True], "the build stage compiled another standard library"
    assert found["uid"] == 10001
    assert found["writable"] == [], "the service's user can change its own code, even on a writable root"


# ------------------------------------------------------------------ the pod, as the chart describes it


def chart_values(adc_url: str) -> Obj:
    return {
        "adc": {"url": adc_url, "credentials": {"username": USERNAME, "password": PASSWORD}},
        "vip": {"addresses": [VIP]},
        "kic": {"namespace": "njet-ingress"},
        "dns": {"verify": False},
        # Host networking: listen on loopback, on a port the kernel picks (read from the log).
        "extraEnv": [{"name": "ADCBRIDGE_SERVER__LISTEN", "value": "127.0.0.1:0"}],
    }


def security_flags(container: Obj) -> list[str]:
    """The container's securityContext as podman flags: what the chart asks, no more, no less."""
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] > 0
    return [
        *("--read-only", "--read-only-tmpfs=false"),
        *("--user", f"{context['runAsUser']}:{context['runAsGroup']}"),
        "--cap-drop=ALL",
        *("--security-opt", "no-new-privileges"),
    ]


def mounts(rendered: Rendered, pod: Path, token: str, authority: trustme.CA) -> list[str]:
    """Lay out every volume the container mounts under ``pod`` (kubelet-style) and return the
    podman flags that mount them where the chart does: read-only, the emptyDir as a tmpfs."""
    container = rendered.container()
    volumes = {volume["name"]: volume for volume in rendered.volumes()}
    config_maps = {obj["metadata"]["name"]: obj for obj in rendered.of_kind("ConfigMap")}
    secrets_ = {obj["metadata"]["name"]: obj for obj in rendered.of_kind("Secret")}
    flags = []
    for mount in container["volumeMounts"]:
        volume, path = volumes[mount["name"]], mount["mountPath"]
        if "emptyDir" in volume:
            assert "readOnly" not in mount
            size = volume["emptyDir"]["sizeLimit"]
            assert size.endswith("Mi"), size
            flags += ["--tmpfs", f"{path}:size={size.removesuffix('Mi')}m"]
            continue
        assert mount["readOnly"] is True
        if "configMap" in volume:
            data = config_maps[volume["configMap"]["name"]]["data"]
            files = {name: text.encode() for name, text in data.items()}
        else:
            files = {
                item["path"]: base64.b64decode(secrets_[source["secret"]["name"]]["data"][item["key"]])
                for source in volume["projected"]["sources"]
                for item in source["secret"]["items"]
            }
        flags += ["--volume", f"{publish_at(pod, path, files)}:{path}:ro"]
    namespace = rendered.one("ConfigMap")["metadata"]["namespace"]
    account = {"token": token.encode(), "ca.crt": authority.cert_pem.bytes(), "namespace": namespace.encode()}
    return [*flags, "--volume", f"{publish_at(pod, SERVICE_ACCOUNT_DIR, account)}:{SERVICE_ACCOUNT_DIR}:ro"]


def publish_at(pod: Path, container_path: str, files: dict[str, bytes]) -> Path:
    directory = pod / container_path.lstrip("/")
    publish(directory, files)
    return directory


def environment(container: Obj, kube_url: str) -> list[str]:
    """The container's env (the downward API's pod name resolved) and what the kubelet adds."""
    host, _, port = kube_url.removeprefix("https://").rpartition(":")
    values = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
    for variable in container["env"]:
        if "value" in variable:
            values[variable["name"]] = variable["value"]
        else:
            assert variable["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}, variable
            values[variable["name"]] = POD_NAME
    return [flag for name, value in values.items() for flag in ("--env", f"{name}={value}")]


# ------------------------------------------------------------------ the running container


class Container:
    def __init__(self, name: str) -> None:
        self.name = name

    async def logs(self) -> str:
        _, out, err = await podman("logs", self.name)
        return out + err

    async def running(self) -> bool:
        code, out, _ = await podman("inspect", "--format", "{{.State.Running}}", self.name)
        return code == 0 and out.strip() == "true"

    async def port(self) -> int:
        found: list[int] = []

        async def announced() -> bool:
            logs = await self.logs()
            if match := re.search(r"serving /healthz, /readyz and /metrics on port (\d+)", logs):
                found.append(int(match.group(1)))
                return True
            if not await self.running():
                raise AssertionError(f"the container stopped before it served its probes:\n{logs[-4000:]}")
            return False

        await until(announced, seconds=30, what="the bridge serving its probes")
        return found[0]


@asynccontextmanager
async def container_running(*flags: str, args: list[str]) -> AsyncIterator[Container]:
    """``podman run --detach``; the container is removed on the way out, whatever happened."""
    container = Container(f"adcbridge-test-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        code, out, err = await podman("run", "--detach", "--pull=never", "--name", container.name, *flags, IMAGE, *args)
        assert code == 0, f"podman run failed ({code}): {out}{err}"
        yield container
    finally:
        await podman("rm", "--force", "--time", "0", container.name)


async def adc_state(adc_url: str) -> Obj:
    async with httpx.AsyncClient(base_url=adc_url, timeout=5) as client:
        response = await client.get("/_mock/state")
        response.raise_for_status()
        state: Obj = response.json()["data"]
        return state


def published(state: Obj) -> tuple[set[str], set[tuple[str, int]]]:
    """The domains on the ADC, and the members of its pools as (node address, port)."""
    objects: dict[str, list[Any]] = state["objects"]
    domains = {domain["name"] for domain in objects.get("dns/domain", []) if domain["addresses"] == [VIP]}
    nodes = {node["name"]: node["ip"] for node in objects.get("slb/node", [])}
    members = {(nodes[m["node"]], m["port"]) for pool in state["rservers"].values() for m in pool if m["enable"]}
    return domains, members


async def test_the_image_runs_as_the_chart_runs_it_and_stops_on_sigterm(tmp_path: Path) -> None:
    await image_config()
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key = tmp_path / "apiserver.crt", tmp_path / "apiserver.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    async with (
        mock_adc_process("--username", USERNAME, "--password", PASSWORD) as adc,
        fake_kube_process("--seed", str(SEED), "--tls-cert", str(cert), "--tls-key", str(key)) as kube,
    ):
        rendered = render(chart_values(adc.url), release="adcbridge", namespace="njet-ingress")
        container = rendered.container()
        flags = [
            "--network=host",
            *security_flags(container),
            *mounts(rendered, tmp_path / "pod", secrets.token_urlsafe(24), authority),
            *environment(container, kube.url),
        ]
        async with container_running(*flags, args=container["args"]) as running:
            bridge = f"http://127.0.0.1:{await running.port()}"
            async with httpx.AsyncClient(base_url=bridge, timeout=5) as client:

                async def ready() -> bool:
                    return (await client.get("/readyz")).status_code == 200

                seen: list[tuple[set[str], set[tuple[str, int]]]] = []

                async def converged() -> bool:
                    seen.append(published(await adc_state(adc.url)))
                    return seen[-1] == (DEMO_DOMAINS, DEMO_MEMBERS)

                await until(ready, seconds=30, what="/readyz answering 200")
                try:
                    await until(converged, seconds=30, what="the demo cluster on the mock ADC")
                except AssertionError as exc:
                    raise AssertionError(f"{exc}: it holds {seen[-1]}\n{(await running.logs())[-6000:]}") from None
                assert (await client.get("/healthz")).status_code == 200
                metrics = await client.get("/metrics")
                assert metrics.status_code == 200
                assert "\nadcbridge_leader 1.0\n" in metrics.text
            code, _, err = await podman("kill", "--signal", "TERM", running.name)
            assert code == 0, err
            signalled = time.monotonic()
            code, out, err = await podman("wait", running.name, seconds=GRACE_SECONDS + 5)
            took = time.monotonic() - signalled
            logs = await running.logs()
            assert PASSWORD not in logs  # before any assertion that shows them
            assert code == 0, err
            assert out.strip() == "0", f"exit code {out.strip()} after SIGTERM:\n{logs[-4000:]}"
            assert took < GRACE_SECONDS, f"{took:.1f} s from SIGTERM to exit"
            assert "Traceback" not in logs, logs[-4000:]
