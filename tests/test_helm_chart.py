"""The Helm chart: every mode and option that matters renders, lints, and validates strictly.

Each combination is rendered by Helm's own library (values schema included), linted, and every
object is validated with kubernetes-validate in strict mode (unknown fields refused) against the
newest Kubernetes it knows and the oldest the chart supports. The prometheus-operator kinds are
not built in: they are checked against the part of their CRD schema the chart uses. Beyond
the schema, the tests hold the chart to its promises: the settings file is one the bridge
accepts, credentials are files and never in the environment; a credential given as a value is
nowhere in the rendering, in any obvious encoding, but base64 in the data of the chart Secret it
is mounted from, which holds exactly the keys the mounts take; the container is locked down, and
sidecar mode prints a block the KIC chart can take as it is.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from adcbridge.app import validate
from adcbridge.config import KIC_PORTS, load_settings
from tests.helm_chart import CANARY_PASSWORD, CHART, MINIMAL, ROOT, Obj, Rendered, example, merged, render

NEWEST = kubernetes_validate.utils.latest_version()
OLDEST = "1.25"  # Chart.yaml kubeVersion
PORT_NAME = "http-adcbridge"
TSIG_CANARY = base64.b64encode(b"tsig-canary-7d1e").decode()  # a TSIG secret is base64 text itself
CREDENTIALS = {"adc-password": CANARY_PASSWORD, "rfc2136-tsig-secret": TSIG_CANARY}  # mounted file -> value

COMBINATIONS: dict[str, Obj] = {
    "defaults": {},
    "existing secrets, CA from a Secret, mutual TLS, two namespaces, status, monitoring": {
        "adc": {
            "credentials": {"existingSecret": "adc-login", "username": "", "password": ""},
            "caBundle": {"secretName": "adc-ca"},
            "clientCertificateSecret": "adc-client",
        },
        "watch": {"namespaces": ["shop", "blog"], "labelSelector": "expose=adc"},
        "writeStatus": True,
        "replicas": 3,
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
        "prometheusRule": {"enabled": True, "labels": {"release": "prom"}},
        "grafanaDashboard": {"enabled": True, "annotations": {"grafana_folder": "Ingress"}},
        "image": {"digest": "sha256:" + "ab" * 32},
        "imagePullSecrets": [{"name": "registry"}],
        "extraEnv": [{"name": "TZ", "value": "UTC"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}],
        "priorityClassName": "system-cluster-critical",
    },
    "one replica, no leader election, no events, dry run, upsert-only, CA from a ConfigMap": {
        "replicas": 1,
        "leaderElection": {"enabled": False},
        "events": False,
        "dryRun": True,
        "policy": "upsert-only",
        "adc": {"caBundle": {"configMapName": "adc-ca", "key": "bundle.pem"}},
    },
    "RFC 2136 and the ADC, TSIG secret from values, KIC in another namespace": {
        "dns": {"targets": ["adc", "rfc2136"], "verifyServers": ["10.0.0.53:53"], "verifyDeadline": 30},
        "rfc2136": {
            "server": "10.0.0.53:53",
            "zones": ["example.com"],
            "tsigKeyName": "adcbridge",
            "tsigSecret": {"value": TSIG_CANARY},
        },
        "kic": {"namespace": "njet-ingress", "ports": ["http", 443]},
        "ownerId": "cluster-a.njet",
    },
    "RFC 2136 only, every secret existing": {
        "adc": {"credentials": {"existingSecret": "adc-login", "username": "", "password": ""}},
        "dns": {"targets": ["rfc2136"]},
        "rfc2136": {
            "server": "ns1.example.com:53",
            "zones": ["example.com", "example.org"],
            "tsigKeyName": "adcbridge",
            "tsigSecret": {"existingSecret": "tsig"},
        },
    },
    "settings passthrough, rbac and service account supplied": {
        "settings": {
            "reconcile": {"resync_seconds": 30},
            "kube": {"namespaces": ["team-a"]},
            "limits": {"max_deletes": 50},
        },
        "rbac": {"create": False},
        "serviceAccount": {"create": False, "name": "adcbridge-preexisting"},
        "metrics": {"port": 9200, "address": "::"},
    },
    "BIG-IP in a partition of its own, a SNAT pool, SLB objects only": {
        "adc": {"dialect": "bigip", "partition": "k8s", "snat": "/Common/snat-k8s"},
        "dns": {"targets": []},
    },
    "BIG-IP publishing to BIG-IP DNS through the operator's GTM server": {
        "adc": {"dialect": "bigip", "partition": "k8s", "gtmServer": "/Common/bigip1"},
        "dns": {"targets": ["adc"], "verifyServers": ["192.0.2.53:53"]},
    },
    "BIG-IP HA pair, synced to its device group": {
        "adc": {
            "dialect": "bigip",
            "partition": "k8s",
            "url": ["https://bigip-a.example.net", "https://bigip-b.example.net:8443"],
            "configSyncGroup": "k8s-pair",
        },
        "dns": {"targets": []},
    },
    "ACOS HA pair in a partition of its own, SLB objects only": {
        "adc": {
            "dialect": "acos",
            "partition": "k8s",
            "url": ["https://thunder-a.example.net", "https://thunder-b.example.net"],
            "snat": "natpool-k8s",
        },
        "dns": {"targets": []},
    },
    "sidecar": {
        "mode": "sidecar",
        "kic": {"serviceAccountName": "njet-ingress", "podLabels": {"app": "njet-ingress"}},
        "metrics": {"podMonitor": {"enabled": True}},
        "prometheusRule": {"enabled": True, "alerts": {"AdcbridgeNoSuccessfulCycle": {"threshold": 1800}}},
        "grafanaDashboard": {"enabled": True, "namespace": "monitoring"},
    },
    "sidecar, namespaced, status, client certificate": {
        "mode": "sidecar",
        "kic": {"serviceAccountName": "njet-ingress"},
        "watch": {"namespaces": ["shop"]},
        "writeStatus": True,
        "adc": {"clientCertificateSecret": "adc-client", "verifyTls": True},
    },
}


def combination(name: str) -> Rendered:
    return render(merged(MINIMAL, COMBINATIONS[name]))


@pytest.fixture(scope="module", params=sorted(COMBINATIONS))
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return combination(request.param)


# ------------------------------------------------------------------ validity


@pytest.mark.parametrize("version", [NEWEST, OLDEST])
def test_every_object_is_valid_kubernetes_in_strict_mode(rendered: Rendered, version: str) -> None:
    for obj in rendered.objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            validate_monitor(obj)
        else:
            kubernetes_validate.validate(obj, version, strict=True)


def test_the_strict_validation_refuses_an_unknown_field() -> None:
    deployment = combination("defaults").one("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFilesystem"] = (
        True  # belongs in securityContext
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, NEWEST, strict=True)


@pytest.mark.parametrize("name", sorted(COMBINATIONS))
def test_lint_finds_nothing(name: str) -> None:
    report = helm.lint(CHART, merged(MINIMAL, COMBINATIONS[name]), strict=True, kube_version=f"v{NEWEST}.0")
    problems = [message for message in report["messages"] if message["severity"] >= 2]
    assert (problems, report["errors"]) == ([], [])


def test_the_settings_file_is_one_the_bridge_accepts(rendered: Rendered, tmp_path: Path, clean_env: None) -> None:
    config = tmp_path / "adcbridge.yaml"
    config.write_text(yaml.safe_dump(rendered.settings()))
    settings = load_settings(config)
    validate(settings)  # and the dialect it names can honour them
    assert settings.secrets_dir == Path("/var/run/secrets/adcbridge")
    port = int(settings.server.listen.rpartition(":")[2])
    (container_port,) = rendered.container()["ports"]
    assert (container_port["name"], container_port["containerPort"]) == (PORT_NAME, port)
    assert port not in KIC_PORTS


def test_the_units_of_an_ha_pair_and_the_sync_group_reach_the_settings_file() -> None:
    adc = combination("BIG-IP HA pair, synced to its device group").settings()["adc"]
    assert adc["url"] == ["https://bigip-a.example.net", "https://bigip-b.example.net:8443"]
    assert adc["config_sync_group"] == "k8s-pair"
    assert "config_sync_group" not in render(MINIMAL).settings()["adc"]  # unset: the file stays as it was


def test_the_dns_check_deadline_reaches_the_settings_file_when_set() -> None:
    dns = combination("RFC 2136 and the ADC, TSIG secret from values, KIC in another namespace").settings()["dns"]
    assert dns["verify_deadline"] == 30
    assert "verify_deadline" not in render(MINIMAL).settings()["dns"]  # unset: the bridge's default


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in [key for key in os.environ if key.startswith("ADCBRIDGE_") or key == "KUBECONFIG"]:
        monkeypatch.delenv(key)


# ------------------------------------------------------------------ credentials and lockdown


def test_credentials_are_files_never_environment_or_configmap(rendered: Rendered) -> None:
    container = rendered.container()
    assert all("valueFrom" not in env or "secretKeyRef" not in env["valueFrom"] for env in container["env"])
    assert "envFrom" not in container
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    assert mounts["adcbridge-secrets"]["mountPath"] == rendered.settings()["secrets_dir"]
    # subPath mounts are never updated by the kubelet: a rotated Secret would not reach the bridge.
    assert all("subPath" not in mount for mount in container["volumeMounts"])
    volumes = {volume["name"]: volume for volume in rendered.volumes()}
    assert set(mounts) == set(volumes)
    sources = volumes["adcbridge-secrets"]["projected"]["sources"]
    paths = {item["path"] for source in sources for item in source["secret"]["items"]}
    assert {"adc-username", "adc-password"} <= paths


def encodings(secret: str) -> set[str]:
    """The secret as text, base64 (standard and URL-safe, at each alignment inside a longer
    blob), base32 and hex: the obvious ways a copy of it could hide in a rendering."""
    raw = secret.encode()
    found = {secret, base64.b32encode(raw).decode().rstrip("="), raw.hex(), raw.hex().upper()}
    for offset in range(3):  # the whole 3-byte groups of the secret, wherever it starts in a blob
        aligned = raw[offset:][: (len(raw) - offset) // 3 * 3]
        found |= {base64.b64encode(aligned).decode(), base64.urlsafe_b64encode(aligned).decode()}
    return found


def leaves(value: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every key and scalar of a rendered object, as text, with where it is."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, str(key)), str(key)
            yield from leaves(inner, (*path, str(key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from leaves(inner, (*path, str(index)))
    else:
        yield path, str(value)


def mounted_from(rendered: Rendered) -> dict[str, tuple[str, str]]:
    """For each file of the secrets volume, the Secret and key it is projected from."""
    sources = next(v for v in rendered.volumes() if v["name"] == "adcbridge-secrets")["projected"]["sources"]
    return {item["path"]: (s["secret"]["name"], item["key"]) for s in sources for item in s["secret"]["items"]}


def test_a_credential_is_only_in_the_chart_secret_it_is_mounted_from(rendered: Rendered) -> None:
    secrets = {secret["metadata"]["name"]: secret for secret in rendered.of_kind("Secret")}
    for file, value in CREDENTIALS.items():
        hidden = encodings(value)
        places = {
            (obj["kind"], obj["metadata"]["name"], *path)
            for obj in rendered.objects
            for path, text in leaves(obj)
            if any(copy in text for copy in hidden)
        }
        places |= {("NOTES.txt",)} if any(copy in rendered.notes for copy in hidden) else set()
        name, key = mounted_from(rendered).get(file, ("", ""))
        if name in secrets:  # the chart stores it: base64 in data, where the mount takes it, and nowhere else
            assert places == {("Secret", name, "data", key)}, file
            assert base64.b64decode(secrets[name]["data"][key], validate=True).decode() == value
        else:  # an existing Secret holds it, or it is not used at all
            assert places == set(), file


def test_the_encodings_find_a_secret_inside_a_longer_base64_blob() -> None:
    copies = encodings(CANARY_PASSWORD)
    for prefix in (b"", b"a", b"ab"):
        blob = base64.b64encode(prefix + CANARY_PASSWORD.encode() + b"\n").decode()
        assert any(copy in blob for copy in copies), prefix
    other = base64.b64encode(b"password: not-the-canary").decode()
    assert not any(copy in other for copy in copies)


def test_the_chart_secret_holds_exactly_what_the_mounts_ask_for(rendered: Rendered) -> None:
    secrets = {secret["metadata"]["name"]: secret for secret in rendered.of_kind("Secret")}
    asked: dict[str, set[str]] = {name: set() for name in secrets}
    for name, key in mounted_from(rendered).values():
        asked.setdefault(name, set()).add(key)
    for name, secret in secrets.items():
        assert set(secret) == {"apiVersion", "kind", "metadata", "type", "data"}, name  # no stringData
        assert set(secret["data"]) == asked[name], name
        assert all(value for value in secret["data"].values()), "an empty credential was stored"


def test_the_container_is_locked_down(rendered: Rendered) -> None:
    context = rendered.container()["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] > 0
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    mounts = {mount["mountPath"] for mount in rendered.container()["volumeMounts"]}
    assert "/tmp" in mounts  # the only writable path
    for deployment in rendered.of_kind("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_probes_use_the_named_port(rendered: Rendered) -> None:
    container = rendered.container()
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": PORT_NAME}
    if rendered.of_kind("Deployment"):
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": PORT_NAME}
    else:
        # An unready sidecar would make the KIC's own pod unready: an ADC outage must not do that.
        assert "readinessProbe" not in container


# ------------------------------------------------------------------ modes


def test_standalone_runs_several_replicas_with_leader_election_and_a_disruption_budget() -> None:
    result = combination("defaults")
    deployment = result.one("Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert result.settings()["leader"]["enabled"] is True
    assert result.one("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    identity = next(env for env in result.container()["env"] if env["name"] == "ADCBRIDGE_LEADER__IDENTITY")
    assert identity["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"] == result.one("ServiceAccount")["metadata"]["name"]
    )
    assert result.container()["args"] == ["--config", "/etc/adcbridge/config/adcbridge.yaml"]
    assert result.settings()["owner_id"] == "adc.edge"


def test_a_settings_change_rolls_the_pods_and_a_credential_change_does_not() -> None:
    def checksum(values: Obj) -> str:
        annotations = render(merged(MINIMAL, values)).one("Deployment")["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["checksum/settings"])

    base = checksum({})
    assert checksum({"policy": "upsert-only"}) != base
    assert checksum({"adc": {"credentials": {"password": "rotated"}}}) == base


def test_one_replica_needs_no_disruption_budget() -> None:
    assert (
        combination("one replica, no leader election, no events, dry run, upsert-only, CA from a ConfigMap").of_kind(
            "PodDisruptionBudget"
        )
        == []
    )


def test_sidecar_mode_renders_no_workload_and_prints_a_block_the_kic_chart_takes() -> None:
    result = combination("sidecar")
    kinds = {obj["kind"] for obj in result.objects}
    assert kinds.isdisjoint({"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"})
    assert {"ConfigMap", "Secret", "ClusterRole", "Role", "RoleBinding", "PodMonitor"} <= kinds
    for binding in result.of_kind("RoleBinding") + result.of_kind("ClusterRoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "njet-ingress", "namespace": "adc"}]
    values = result.sidecar_values()["controller"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kic", "annotations": values["pod"]["annotations"]},
        "spec": {
            "containers": [{"name": "njet-ingress", "image": "opennjet/kic"}, *values["extraContainers"]],
            "volumes": values["volumes"],
        },
    }
    kubernetes_validate.validate(pod, NEWEST, strict=True)


def test_the_sidecar_container_is_the_standalone_container_but_for_readiness() -> None:
    sidecar = render(merged(MINIMAL, COMBINATIONS["sidecar"])).container()
    standalone = render(merged(MINIMAL, {"kic": {"podLabels": {"app": "njet-ingress"}}})).container()
    standalone.pop("readinessProbe")
    assert sidecar == standalone


def test_the_example_kic_values_are_what_the_chart_prints() -> None:
    printed = render(example("sidecar-values.yaml"), release="adcbridge", namespace="njet-ingress").sidecar_values()
    assert printed == example("kic-sidecar-values.yaml")


def test_the_examples_render() -> None:
    standalone = render(example("standalone-values.yaml"), release="adcbridge", namespace="adcbridge")
    assert standalone.settings()["kic"]["namespace"] == "njet-ingress"
    services = {
        (role["metadata"]["namespace"], rule["resources"][0])
        for role in standalone.of_kind("Role")
        for rule in role["rules"]
    }
    assert ("njet-ingress", "services") in services  # the KIC's namespace, not the release's


# ------------------------------------------------------------------ refused values


REFUSED = [
    ({"adc": {"url": ""}}, "/adc/url"),
    ({"adc": {"url": "https://adc.example.net/api"}}, "/adc/url"),
    ({"adc": {"credentials": {"username": "", "password": ""}}}, "/adc/credentials"),
    ({"adc": {"caBundle": {"secretName": "a", "configMapName": "b"}}}, "/adc/caBundle"),
    ({"vip": {"addresses": []}}, "/vip/addresses"),
    ({"vip": {"addresses": ["192.0.2.300"]}}, "/vip/addresses/0"),
    ({"mode": "daemonset"}, "/mode"),
    ({"policy": "delete-everything"}, "/policy"),
    ({"replicas": 0}, "/replicas"),
    ({"replicas": 2, "leaderElection": {"enabled": False}}, "/leaderElection/enabled"),
    ({"metrics": {"port": 8080}}, "/metrics/port"),
    ({"metrics": {"port": 12003}}, "/metrics/port"),
    ({"mode": "sidecar"}, "/kic/serviceAccountName"),
    (
        {"mode": "sidecar", "kic": {"serviceAccountName": "kic"}, "metrics": {"podMonitor": {"enabled": True}}},
        "/kic/podLabels",
    ),
    ({"dns": {"targets": ["rfc2136"]}}, "/rfc2136/server"),
    ({"dns": {"targets": ["adc", "adc"]}}, "/dns/targets"),
    ({"dns": {"verifyDeadline": 0}}, "/dns/verifyDeadline"),
    ({"settings": {"adc": {"password": "x"}}}, "/settings/adc/password"),
    ({"settings": {"secrets_dir": "/tmp"}}, "/settings/secrets_dir"),
    ({"ownerId": "Cluster A"}, "/ownerId"),
    ({"watch": {"namespaces": ["Not_A_Namespace"]}}, "/watch/namespaces/0"),
    ({"image": {"digest": "latest"}}, "/image/digest"),
    ({"extraEnv": [{"name": "ADCBRIDGE_LEADER__IDENTITY", "value": "x"}]}, "/extraEnv/0/name"),
    (
        {"extraEnv": [{"name": "TZ", "value": "UTC"}, {"name": "ADCBRIDGE_ADC__PASSWORD", "value": "x"}]},
        "/extraEnv/1/name",
    ),
    ({"adc": {"verifyTLS": False}}, "'verifyTLS' not allowed"),
    ({"adc": {"dialect": "bigip"}}, "/adc/partition"),
    ({"adc": {"dialect": "bigip", "partition": "k8s"}, "dns": {"verifyServers": ["192.0.2.53:53"]}}, "/adc/gtmServer"),
    ({"adc": {"dialect": "bigip", "partition": "k8s", "gtmServer": "/Common/bigip1"}}, "/dns/verifyServers"),
    ({"adc": {"gtmServer": "bigip1"}}, "/adc/gtmServer"),
    ({"adc": {"dialect": "f5"}}, "/adc/dialect"),
    ({"adc": {"url": ["https://a.example.net", "https://b.example.net"]}}, "/adc/url"),  # reference: one URL
    ({"adc": {"dialect": "bigip", "partition": "k8s", "url": []}}, "/adc/url"),
    ({"adc": {"dialect": "bigip", "partition": "k8s", "url": ["https://a/path"]}}, "/adc/url"),
    ({"adc": {"configSyncGroup": "g"}}, "/adc/configSyncGroup"),
    ({"adc": {"dialect": "acos"}, "dns": {"targets": []}}, "/adc/partition"),
    (
        {"adc": {"dialect": "acos", "partition": "k8s"}},
        "/dns/targets",
    ),  # the default [adc]: an ACOS unit publishes none
    (
        {"adc": {"dialect": "acos", "partition": "k8s", "configSyncGroup": "g"}, "dns": {"targets": []}},
        "/adc/configSyncGroup",
    ),
    ({"prometheusRule": {"alerts": {"AdcbridgeNoLeader": {"for": "five minutes"}}}}, "/prometheusRule/alerts"),
    ({"prometheusRule": {"alerts": {"AdcbridgeNoLeadr": {"for": "5m"}}}}, "/prometheusRule/alerts"),
    ({"grafanaDashboard": {"labels": {"grafana_dashboard": 1}}}, "/grafanaDashboard/labels"),
]


@pytest.mark.parametrize(("values", "named"), REFUSED, ids=[named for _, named in REFUSED])
def test_bad_values_are_refused_naming_the_field(values: Obj, named: str) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        render(merged(MINIMAL, values))
    assert named in str(refused.value)


TEMPLATE_REFUSED = [
    ({"mode": "sidecar", "kic": {"serviceAccountName": "kic", "namespace": "elsewhere"}}, "kic.namespace"),
    ({"leaderElection": {"renewDeadlineSeconds": 20}}, "leaderElection"),
    (
        {"prometheusRule": {"enabled": True, "alerts": {"AdcbridgeNoLeader": {"threshold": 2}}}},
        "prometheusRule.alerts.AdcbridgeNoLeader.threshold",
    ),
]


@pytest.mark.parametrize(("values", "named"), TEMPLATE_REFUSED, ids=[named for _, named in TEMPLATE_REFUSED])
def test_rules_beyond_the_schema_are_refused_naming_the_value(values: Obj, named: str) -> None:
    with pytest.raises(helm.HelmError) as refused:
        render(merged(MINIMAL, values))
    assert named in str(refused.value)


def test_an_owner_id_too_long_by_default_asks_for_one() -> None:
    with pytest.raises(helm.HelmError, match="ownerId"):
        render(MINIMAL, release="r" * 50, namespace="n" * 20)


# ------------------------------------------------------------------ the README


def test_the_readme_install_commands_use_values_the_chart_has() -> None:
    installs = [block.replace("\\\n", " ") for block in _readme_install_blocks() if "helm install" in block]
    assert len(installs) == 2, "one install per mode"
    for block in installs:
        words = next(line for line in block.splitlines() if "helm install" in line).split()
        values: Obj = {}
        for expression in [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--set"]:
            values = merged(values, helm.parse_set_string(expression))
        namespace = words[words.index("-n") + 1]
        result = render(merged(MINIMAL, values), release=words[2], namespace=namespace)
        assert result.settings()["adc"]["url"] == "https://adc.example.net:8443"


def test_the_readme_shows_the_kic_values_the_chart_prints() -> None:
    (shown,) = [block for block in _readme_install_blocks(language="yaml") if "extraContainers" in block]
    assert yaml.safe_load(shown) == example("kic-sidecar-values.yaml")


def _readme_install_blocks(language: str = "") -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
    fences = section.split("```")
    return [fence.removeprefix(language + "\n") for fence in fences[1::2] if fence.startswith(language + "\n")]


# ------------------------------------------------------------------ prometheus-operator kinds

_DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
_ENDPOINT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["port"],
    "properties": {
        "port": {"type": "string"},
        "path": {"type": "string"},
        "interval": _DURATION,
        "scrapeTimeout": _DURATION,
    },
}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "namespace"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}, "labels": _LABELS},
}


def _monitor_schema(kind: str, endpoints: str) -> dict[str, Any]:
    """The fields of prometheus-operator's monitoring.coreos.com/v1 CRD that the chart renders."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["selector", endpoints],
                "properties": {
                    "selector": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"matchLabels": {**_LABELS, "minProperties": 1}},
                        "required": ["matchLabels"],
                    },
                    "namespaceSelector": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
                    },
                    endpoints: {"type": "array", "minItems": 1, "items": _ENDPOINT},
                },
            },
        },
    }


_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["alert", "expr"],
    "properties": {
        "alert": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"},
        "expr": {"type": "string", "minLength": 1},
        "for": _DURATION,
        "labels": _LABELS,
        "annotations": _LABELS,
    },
}
_PROMETHEUS_RULE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "rules"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": _DURATION,
                            "rules": {"type": "array", "minItems": 1, "items": _RULE},
                        },
                    },
                }
            },
        },
    },
}
MONITOR_SCHEMAS = {
    "ServiceMonitor": _monitor_schema("ServiceMonitor", "endpoints"),
    "PodMonitor": _monitor_schema("PodMonitor", "podMetricsEndpoints"),
    "PrometheusRule": _PROMETHEUS_RULE,
}


def validate_monitor(obj: Obj) -> None:
    jsonschema.validate(obj, MONITOR_SCHEMAS[obj["kind"]])


def test_monitors_point_at_the_named_port() -> None:
    service = combination("existing secrets, CA from a Secret, mutual TLS, two namespaces, status, monitoring")
    (port,) = service.one("Service")["spec"]["ports"]
    assert port["targetPort"] == PORT_NAME
    assert service.one("ServiceMonitor")["spec"]["endpoints"][0]["port"] == port["name"]
    assert service.one("ServiceMonitor")["metadata"]["labels"]["release"] == "prom"
    pod = combination("sidecar").one("PodMonitor")
    assert pod["spec"]["podMetricsEndpoints"][0]["port"] == PORT_NAME
    assert pod["spec"]["selector"]["matchLabels"] == {"app": "njet-ingress"}
