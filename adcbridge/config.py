"""Settings: parsed once, at the edge, into grouped and documented models.

Sources, strongest first: environment variables (``ADCBRIDGE_`` prefix, ``__`` between a
group and its field, e.g. ``ADCBRIDGE_ADC__URL``), then the optional YAML file given with
``--config``, then the defaults below. ``config/adcbridge.example.yaml`` documents every
field and is checked against this module by a test.

Each component receives only its own group. Credentials may instead live in files of a
secrets directory (a mounted Kubernetes Secret); reading those is I/O, so the driver does it
(at each login, which is how a rotated Secret is picked up). This module never reads the
environment or files itself outside ``load_settings``, and never puts a secret value into
an error message.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from adcbridge.errors import ConfigError, excerpt

ENV_PREFIX = "ADCBRIDGE_"
# Ports the KIC itself listens on; a sidecar shares its network namespace.
KIC_PORTS = frozenset({80, 443, 8080, 8081, 12001, 12002, 12003, 12004})
OWNER_ID = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
NAME_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")

Seconds = Annotated[float, Field(gt=0)]


def _valid_selector(value: str) -> str:
    parse_selector(value)
    return value


Selector = Annotated[str, AfterValidator(_valid_selector)]  # "a=b,c!=d,e,!f"


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+/?$", value):
        raise ValueError("must be http(s)://host[:port] with no path")
    return value.rstrip("/")


DIALECTS_WITHOUT_DNS = ("acos",)  # dns.targets is [] unless set: they cannot publish names themselves


class AdcSettings(Group):
    """How to reach and log in to the ADC's management API."""

    dialect: Literal["reference", "bigip", "acos"] = Field(
        "reference",
        description="The appliance's API: reference (the /adc/v3.0 API emulated by mocks/adc), bigip (F5 BIG-IP), "
        "acos (A10 Thunder, aXAPI v3)",
    )
    partition: str = Field(
        "", description="The partition the bridge writes in (BIG-IP, ACOS); the bridge never creates it"
    )
    allow_default_partition: bool = Field(
        False, description="Allow the appliance's default partition (BIG-IP: Common; ACOS: shared)"
    )
    snat: str = Field("automap", min_length=1, description="Source address translation: automap, none, or a SNAT pool")
    gtm_server: str = Field(
        "",
        description="BIG-IP DNS: the GTM server that stands for this unit, /Common/<name>; the operator makes it",
    )
    url: str | list[str] = Field(
        description="Base URL of the ADC, e.g. https://adc.example.net:8443; or a list of URLs, the units of an "
        "HA pair (only dialects that follow failover accept a list; in the environment, a JSON list)"
    )
    username: str = Field("", description="API user; or the file adc-username in secrets_dir")
    password: SecretStr = Field(SecretStr(""), description="API password; or the file adc-password in secrets_dir")
    ca_file: Path | None = Field(None, description="PEM bundle that signs the ADC's certificate")
    verify_tls: bool = Field(True, description="Verify the ADC's certificate (off only for labs)")
    client_cert: Path | None = Field(None, description="PEM client certificate, for appliances that ask for one")
    client_key: Path | None = Field(None, description="PEM key of client_cert")
    timeout: Seconds = Field(10.0, description="Per-request timeout")
    operation_deadline: Seconds = Field(60.0, description="Total time for one operation, retries included")
    concurrency: int = Field(8, ge=1, le=64, description="Concurrent writes within one dependency level")
    batch_size: int = Field(
        100, ge=1, le=1000, description="Operations per transaction (BIG-IP); the reference appliance has none"
    )
    page_size: int = Field(500, ge=1, le=500, description="Objects per list request (the appliance caps at 500)")
    save_config: bool = Field(True, description="Save the running configuration after each cycle that wrote")
    config_sync_group: str = Field(
        "", description="BIG-IP: the device group to sync to (config-sync to-group) after each save; empty: none"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            return _one_url(value)
        if not value:
            raise ValueError("names no unit")
        urls = [_one_url(url) for url in value]
        if len(set(urls)) != len(urls):
            raise ValueError("units repeat")
        return urls

    @property
    def urls(self) -> tuple[str, ...]:
        """The units ``url`` names: one, or each unit of an HA pair."""
        return (self.url,) if isinstance(self.url, str) else tuple(self.url)

    @model_validator(mode="after")
    def _key_with_cert(self) -> AdcSettings:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")
        return self


class KicSettings(Group):
    """Which KIC this bridge serves: its Service and its ingress class (the shard)."""

    namespace: str = Field("njet-ingress", min_length=1, description="Namespace of the KIC Service")
    service: str = Field("njet-ingress-controller", min_length=1, description="Name of the KIC Service (NodePort)")
    ingress_class: str = Field("njet", min_length=1, description="Ingress class this bridge serves")
    ports: list[int | str] = Field(
        default_factory=list, description="Service ports to expose, by name or number; empty = every TCP/UDP port"
    )


class VipSettings(Group):
    addresses: list[str] = Field(min_length=1, description="Virtual IPs on the ADC; one per family for dual stack")

    @field_validator("addresses")
    @classmethod
    def _unicast(cls, values: list[str]) -> list[str]:
        normalised = []
        for value in values:
            address = ipaddress.ip_address(value)
            if address.is_multicast or address.is_unspecified or address.is_link_local:
                raise ValueError(f"{value} is not a usable unicast address")
            normalised.append(str(address))
        if len(set(normalised)) != len(normalised):
            raise ValueError("addresses repeat")
        return normalised


class NodeSettings(Group):
    """Which cluster nodes become pool members."""

    address_type: Literal["InternalIP", "ExternalIP"] = Field("InternalIP", description="Node address to use")
    include_unschedulable: bool = Field(False, description="Keep cordoned nodes as members")
    label_selector: Selector = Field("", description="Equality-based selector, e.g. 'role=edge,!spot'")
    drain_grace_seconds: float = Field(300.0, ge=0, description="How long a leaving node stays as a disabled member")


class PoolSettings(Group):
    method: Literal["rr", "wrr", "lc", "ip-hash"] = Field("rr", description="Load-balancing method of our pools")
    healthcheck: str | None = Field(None, description="ADC health check for our pools (tcp, http, icmp, or a name)")


class DnsSettings(Group):
    """Where the hosts are published, and how the bridge checks that they resolve."""

    ttl: int = Field(300, ge=1, le=604800, description="TTL of our DNS records")
    targets: list[Literal["adc", "rfc2136"]] = Field(
        ["adc"],
        description="Where names are published: the ADC's DNS, an RFC 2136 server, both, or none (SLB objects "
        "only); [] by default with a dialect that has no DNS (acos)",
    )
    verify: bool = Field(
        True, description="After each cycle, ask the DNS servers whether the names changed since resolve"
    )
    verify_servers: list[str] = Field(
        [], description="host:port to ask; empty: the RFC 2136 server if a target, never the ADC"
    )
    verify_timeout: Seconds = Field(2.0, description="Per query (UDP, then TCP if truncated)")
    verify_concurrency: int = Field(64, ge=1, le=1024, description="Queries in flight at once")
    verify_deadline: Seconds = Field(60.0, description="Most seconds one check may take; the rest is asked next time")

    @field_validator("targets")
    @classmethod
    def _unique_targets(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("targets repeat")
        return values

    @field_validator("verify_servers")
    @classmethod
    def _servers(cls, values: list[str]) -> list[str]:
        for value in values:
            if split_host_port(value)[1] == 0:
                raise ValueError(f"{excerpt(value)!r}: port 0 is not a DNS server's port")
        return values


class Rfc2136Settings(Group):
    """Dynamic DNS updates (RFC 2136) signed with TSIG, to BIND, PowerDNS, Knot and the like."""

    server: str = Field("", description="host:port of the primary server; required when a target is rfc2136")
    zones: list[str] = Field([], description="Zones we may write in; a name goes to the longest zone it is in")
    tsig_key_name: str = Field("", description="TSIG key name, as the server knows it")
    tsig_secret: SecretStr = Field(SecretStr(""), description="TSIG secret (base64); or the file rfc2136-tsig-secret")
    tsig_algorithm: Literal["hmac-sha256", "hmac-sha1", "hmac-sha224", "hmac-sha384", "hmac-sha512"] = Field(
        "hmac-sha256", description="TSIG algorithm"
    )
    ttl: int = Field(300, ge=1, le=604800, description="TTL of the records we write")
    batch_size: int = Field(100, ge=1, le=1000, description="Names per UPDATE message")
    timeout: Seconds = Field(5.0, description="Per DNS message")
    observe: Literal["axfr", "query"] = Field(
        "axfr", description="Read the zones by transfer, or query only our names (when transfer is refused)"
    )

    @field_validator("server")
    @classmethod
    def _server(cls, value: str) -> str:
        if value:
            split_host_port(value)
        return value

    @field_validator("zones")
    @classmethod
    def _zones(cls, values: list[str]) -> list[str]:
        zones = [value.strip().lower().rstrip(".") for value in values]
        for zone in zones:
            if not zone or not all(DNS_LABEL.match(label) for label in zone.split(".")):
                raise ValueError(f"{excerpt(zone)!r} is not a zone name")
        if len(set(zones)) != len(zones):
            raise ValueError("zones repeat")
        return zones


class LimitSettings(Group):
    """The mass-deletion guard."""

    max_deletes: int = Field(1000, ge=0, description="More deletions than this in one cycle are held back")
    max_delete_percent: float = Field(50.0, ge=0, le=100, description="Held back beyond this share of our objects")


# Former names of reconcile fields, still read (with a warning at start): old -> new.
RENAMED_RECONCILE = {"debounce_seconds": "batch_window_seconds"}


def _named(field: str) -> str:
    """A reconcile field as the error and warning name it: ``reconcile.x (ADCBRIDGE_RECONCILE__X)``."""
    return f"reconcile.{field} ({ENV_PREFIX}RECONCILE__{field.upper()})"


class ReconcileSettings(Group):
    batch_window_seconds: float = Field(
        0.2,
        ge=0,
        description="A change after a quiet period starts a cycle at once; changes within this long after "
        "a cycle started wait for the window's end (or the cycle's) and share the next cycle",
    )
    resync_seconds: Seconds = Field(60.0, description="Re-read the ADC and repair drift at least this often")
    max_backoff_seconds: Seconds = Field(300.0, description="Longest wait after failing cycles")
    _renamed: tuple[tuple[str, str], ...] = PrivateAttr(default=())  # (old, new) names this file or env used

    @model_validator(mode="wrap")
    @classmethod
    def _old_names(cls, data: Any, handler: ModelWrapValidatorHandler[ReconcileSettings]) -> ReconcileSettings:
        """Accept the fields' former names, mapped to the new ones; both names at once is an error."""
        used: list[tuple[str, str]] = []
        if isinstance(data, dict):
            data = dict(data)
            for old, new in RENAMED_RECONCILE.items():
                if old not in data:
                    continue
                if new in data:
                    raise PydanticCustomError(
                        "renamed_setting",
                        "the former name of {new}, which is set too; set only the new name",
                        {"field": old, "new": _named(new)},
                    )
                data[new] = data.pop(old)
                used.append((old, new))
        settings = handler(data)
        settings._renamed = tuple(used)
        return settings


class ServerSettings(Group):
    listen: str = Field("0.0.0.0:9102", description="host:port of /healthz, /readyz and /metrics")

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        _host, port = split_host_port(value)
        if port in KIC_PORTS:
            raise ValueError(f"port {port} is used by the KIC itself")
        return value


class LogSettings(Group):
    format: Literal["text", "json"] = Field("text", description="text, or one JSON object per line")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Lowest level logged")


class KubeSettings(Group):
    """How the bridge reaches the Kubernetes API and what it watches there."""

    kubeconfig: Path | None = Field(
        None, description="kubeconfig file; unset: $KUBECONFIG, then the pod's service account, then ~/.kube/config"
    )
    context: str = Field("", description="kubeconfig context; empty: its current context")
    namespaces: list[str] = Field([], description="Namespaces whose Ingresses and VirtualServers count; empty: all")
    label_selector: Selector = Field("", description="Only Ingresses and VirtualServers with these labels count")
    page_size: int = Field(500, ge=1, le=5000, description="Objects per list request")
    watch_seconds: int = Field(300, ge=10, le=3600, description="Each watch is renewed after this (server timeout)")
    request_timeout: Seconds = Field(30.0, description="Timeout of one list or write request")
    max_backoff_seconds: Seconds = Field(30.0, description="Longest wait before re-listing after API errors")
    crd_retry_seconds: Seconds = Field(60.0, description="How often to look again for a missing VirtualServer CRD")
    events: bool = Field(True, description="Write Kubernetes Events about rejected hosts, conflicts, held-back deletes")
    write_status: bool = Field(False, description="Write the VIPs into status.loadBalancer of our Ingresses/VS")

    @field_validator("namespaces")
    @classmethod
    def _namespace_names(cls, values: list[str]) -> list[str]:
        for value in values:
            if not DNS_LABEL.match(value):
                raise ValueError(f"{excerpt(value)!r} is not a namespace name (RFC 1123 label)")
        return values


class LeaderSettings(Group):
    """Leader election over a coordination.k8s.io/v1 Lease: every replica watches, one writes."""

    enabled: bool = Field(True, description="Elect a leader (off: this process always writes)")
    lease_name: str = Field("", description="Lease name; empty: adcbridge-<ingress class>")
    lease_namespace: str = Field("", description="Lease namespace; empty: the KIC's namespace")
    identity: str = Field("", description="This replica's name (the pod name, from the downward API)")
    lease_duration_seconds: float = Field(15.0, ge=2, le=600, description="A silent leader is replaced after this")
    renew_deadline_seconds: float = Field(10.0, gt=1, description="A leader that cannot renew within this stops")
    retry_period_seconds: float = Field(2.0, gt=1, description="How often to try to acquire or renew")

    @model_validator(mode="after")
    def _ordered(self) -> LeaderSettings:
        if not self.retry_period_seconds < self.renew_deadline_seconds < self.lease_duration_seconds:
            raise ValueError("needs retry_period_seconds < renew_deadline_seconds < lease_duration_seconds")
        return self

    @field_validator("lease_name", "lease_namespace")
    @classmethod
    def _names(cls, value: str) -> str:
        if value and not DNS_LABEL.match(value):
            raise ValueError(f"{excerpt(value)!r} is not a valid name (RFC 1123 label)")
        return value


class Settings(BaseSettings):
    """All settings of one bridge (one ingress class = one shard = one owner id)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True, case_sensitive=False
    )

    owner_id: str = Field(description="Unique per bridge sharing an ADC, e.g. cluster-a.njet")
    name_prefix: str = Field("k8s-", description="Start of every ADC object name we create")
    policy: Literal["sync", "upsert-only", "create-only"] = Field("sync", description="What the bridge may change")
    dry_run: bool = Field(False, description="Plan and report, never write to the ADC")
    secrets_dir: Path | None = Field(None, description="Directory of credential files (a mounted Secret)")
    adc: AdcSettings
    kic: KicSettings = KicSettings()
    vip: VipSettings
    nodes: NodeSettings = NodeSettings()
    pool: PoolSettings = PoolSettings()
    dns: DnsSettings = DnsSettings()
    limits: LimitSettings = LimitSettings()
    reconcile: ReconcileSettings = ReconcileSettings()
    server: ServerSettings = ServerSettings()
    log: LogSettings = LogSettings()
    kube: KubeSettings = KubeSettings()
    leader: LeaderSettings = LeaderSettings()
    rfc2136: Rfc2136Settings = Rfc2136Settings()

    @model_validator(mode="before")
    @classmethod
    def _no_adc_dns_by_default(cls, data: Any) -> Any:
        """With a dialect that has no DNS capability, names go nowhere unless ``dns.targets`` says."""
        if not isinstance(data, dict):
            return data
        adc = data.get("adc")
        dialect = adc.get("dialect") if isinstance(adc, dict) else getattr(adc, "dialect", None)
        if dialect not in DIALECTS_WITHOUT_DNS:
            return data
        dns = data.get("dns")
        if dns is None:
            return {**data, "dns": {"targets": []}}
        if isinstance(dns, dict) and "targets" not in dns:
            return {**data, "dns": {**dns, "targets": []}}
        if isinstance(dns, DnsSettings) and "targets" not in dns.model_fields_set:
            return {**data, "dns": dns.model_copy(update={"targets": []})}
        return data

    @model_validator(mode="after")
    def _rfc2136_complete(self) -> Settings:
        if "rfc2136" in self.dns.targets:
            missing = [name for name in ("server", "zones", "tsig_key_name") if not getattr(self.rfc2136, name)]
            if missing:
                fields = ", ".join(f"rfc2136.{name} (ADCBRIDGE_RFC2136__{name.upper()})" for name in missing)
                raise ValueError(f"dns.targets includes rfc2136, so these are required: {fields}")
        return self

    @field_validator("owner_id")
    @classmethod
    def _owner(cls, value: str) -> str:
        if not OWNER_ID.match(value):
            raise ValueError("1-63 of a-z, 0-9, '.', '_', '-', starting and ending with a letter or digit")
        return value

    @field_validator("name_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not NAME_PREFIX.match(value):
            raise ValueError("1-32 of letters, digits, '.', '_', '-', starting with a letter or digit")
        return value


def renamed_settings(settings: Settings) -> list[str]:
    """One warning per former setting name the configuration used, naming the new one."""
    return [
        f"{_named(old)} is the former name of {_named(new)}; it still works, set the new name instead"
        for old, new in settings.reconcile._renamed
    ]


# Groups without defaults, and what they need at least (for the "missing" message).
GROUPS = {"adc": ["ADCBRIDGE_ADC__URL"], "vip": ["ADCBRIDGE_VIP__ADDRESSES"]}


def split_host_port(value: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port``; raises ValueError with a readable reason."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError("must be host:port with a port from 0 (any free port) to 65535")
    return host.strip("[]"), int(port)


Requirement = tuple[str, str, str]  # (key, operator "=" "!=" "exists" "!exists", value)


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """An equality-based label selector (``a=b,c!=d,e,!f``) as requirements."""
    requirements: list[Requirement] = []
    for raw in filter(None, (part.strip() for part in text.split(","))):
        match = re.fullmatch(r"(!?)\s*([^=!\s]+)\s*(?:(==|=|!=)\s*(\S*))?", raw)
        if not match or (match.group(1) and match.group(3)):
            raise ValueError(f"cannot parse {raw!r} (supported: key=value, key!=value, key, !key)")
        negated, key, operator, value = match.groups()
        if not LABEL_KEY.match(key) or (value is not None and not LABEL_VALUE.match(value)):
            raise ValueError(f"{raw!r} is not a valid label key or value")
        if operator is None:
            requirements.append((key, "!exists" if negated else "exists", ""))
        else:
            requirements.append((key, "!=" if operator == "!=" else "=", value))
    return tuple(requirements)


def load_settings(config_file: Path | None = None) -> Settings:
    """Settings from the environment and the optional YAML file, or ConfigError naming the field."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"--config: {config_file} is not a readable file")
    try:
        return _kubeconfig_from_environment(_sourced(environment=True, yaml_file=config_file)())
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc)) from None
    except SettingsError as exc:  # a variable holding a list or mapping that is not JSON
        raise ConfigError(_describe_unparsable(str(exc))) from None
    except (ValueError, yaml.YAMLError) as exc:  # a YAML file that does not parse
        raise ConfigError(f"invalid settings in {config_file}: {excerpt(str(exc))}") from None


def _kubeconfig_from_environment(settings: Settings) -> Settings:
    """``$KUBECONFIG`` (its first entry, as kubectl merges but we read one file) when the setting is unset."""
    entries = [entry for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep) if entry]
    if settings.kube.kubeconfig is not None or not entries:
        return settings
    kube = settings.kube.model_copy(update={"kubeconfig": Path(entries[0])})
    return settings.model_copy(update={"kube": kube})


def settings_from_values(**values: Any) -> Settings:
    """Settings from these values alone, ignoring the environment (tests, benchmarks)."""
    return _sourced(environment=False, yaml_file=None)(**values)


def _sourced(*, environment: bool, yaml_file: Path | None) -> type[Settings]:
    """A Settings class reading its arguments, then optionally the environment, then optionally a file."""

    class Sourced(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources = [init_settings, *([env_settings] if environment else [])]
            if yaml_file is not None:
                sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
            return tuple(sources)

    return Sourced


def _describe_unparsable(message: str) -> str:
    match = re.search(r'field "(\w+)"', message)
    group = match.group(1) if match else ""
    variables = sorted(key for key in os.environ if group and key.upper().startswith(f"{ENV_PREFIX}{group.upper()}"))
    # pydantic-settings names only the group; point at the variables that hold a list or mapping
    # that is not JSON, so the message names the field (tests/test_config_fuzz.py).
    suspects = [key for key in variables if _holds_json(key) and not _parses(os.environ[key])] or variables
    named = [f"{key[len(ENV_PREFIX) :].lower().replace('__', '.')} ({key})" for key in suspects]
    problem = "cannot parse the value (lists and mappings are JSON)"
    if not named:
        return f"invalid setting {group or 'settings'} ({ENV_PREFIX}{group.upper()}): {problem}"
    return "\n".join(f"invalid setting {name}: {problem}" for name in named)


def _holds_json(variable: str) -> bool:
    """Whether the field a variable sets is a list, a mapping or a group (read as JSON)."""
    model: type[BaseModel] | None = Settings
    annotation: Any = None
    for part in variable[len(ENV_PREFIX) :].lower().split("__"):
        info = model.model_fields.get(part) if model is not None else None
        if info is None:
            return False
        annotation = info.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model is not None or get_origin(annotation) in (list, dict)


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def describe_errors(exc: ValidationError) -> str:
    """One line per problem, naming the field and its environment variable, never the value."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        path = _field_path(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "renamed_setting":  # raised for the group; name the field
            path.append(str(error.get("ctx", {}).get("field", "")))
        if error["type"] == "missing" and len(path) == 1 and path[0] in GROUPS:
            message = "required; set " + ", ".join(GROUPS[path[0]])
        lines.append(invalid_setting(path, message))
    return "\n".join(lines)


def invalid_setting(path: list[str], message: str) -> str:
    """``invalid setting <dotted> (<VARIABLE>): <message>``: how every settings error names its field."""
    dotted = ".".join(path) or "settings"
    return f"invalid setting {dotted} ({ENV_PREFIX + '__'.join(path).upper()}): {message}"


def _field_path(loc: tuple[int | str, ...]) -> list[str]:
    """The field names in an error's location. Below a leaf field, pydantic adds list indexes and
    the tags of union members (``kic.ports.0.int``), which are no setting's name or variable."""
    path: list[str] = []
    model: type[BaseModel] | None = Settings
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        path.append(part)  # an unknown key is named too: it is what the user wrote
        info = model.model_fields.get(part)
        annotation = info.annotation if info is not None else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return path


def public_view(settings: Settings) -> dict[str, Any]:
    """The settings as plain data with secrets masked (for ``adcbridge check``)."""
    return settings.model_dump(mode="json")
