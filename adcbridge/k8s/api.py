"""The Kubernetes API as plain JSON: the one module of the bridge that imports kubernetes_asyncio.

kubernetes_asyncio does what we should not write ourselves: kubeconfig contexts, exec and
token-file credentials with refresh, in-cluster service accounts, client certificates, TLS
and the connection pool. What it returns we do not use: objects stay plain dicts, because
``objects.py`` reads dicts (the snapshot file shares its rules), because typed models refuse
a whole list when one object lacks a field they require, and because turning 10,000
Ingresses into models and back costs more than the rest of the cycle. Requests go through
``ApiClient.call_api`` with ``_preload_content=False``, so we read the body ourselves.

Every failure leaves this module as a ``KubeError`` (see ``errors.py``): 410 as
``KubeExpired`` (list again), 404 as ``KubeNotFound``, 409 as ``KubeConflict``, 429/5xx
and transport failures as ``KubeUnavailable``, other 4xx as ``KubeRejected``. A watch
stream's ERROR event is translated the same way. Bodies in messages are cut short; the
bearer token never appears.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from kubernetes_asyncio import client as kube_client
from kubernetes_asyncio import config as kube_config

from adcbridge.config import KubeSettings
from adcbridge.errors import (
    ConfigError,
    KubeConflict,
    KubeError,
    KubeExpired,
    KubeNotConfigured,
    KubeNotFound,
    KubeRejected,
    KubeUnavailable,
    excerpt,
)

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"
DEFAULT_KUBECONFIG = Path("~/.kube/config")
# Where Kubernetes mounts a pod's service account token and the API server's CA (a module
# constant, so that tests can point the in-cluster path at files of their own).
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# A watch that stays silent this long beyond its own server-side timeout is a dead connection.
WATCH_GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class Resource:
    """One kind of object on the API server, and where it lives."""

    kind: str
    api_version: str  # "v1", "networking.k8s.io/v1"
    plural: str
    namespaced: bool

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """The collection (all namespaces when ``namespace`` is empty), an object, or its subresource."""
        root = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        parts = [root]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name:
            parts.append(quote(name, safe=""))
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


async def configuration(settings: KubeSettings) -> kube_client.Configuration:
    """Client configuration: the kubeconfig if set, else in-cluster, else ``~/.kube/config``."""
    configured = kube_client.Configuration()
    context = settings.context or None
    try:
        if settings.kubeconfig is not None:
            await _load_kubeconfig(settings.kubeconfig, context, configured)
            return configured
        try:
            kube_config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configured,
                token_filename=str(SERVICE_ACCOUNT_DIR / "token"),
                cert_filename=str(SERVICE_ACCOUNT_DIR / "ca.crt"),
            )
            return configured
        except kube_config.ConfigException:
            pass
        default = DEFAULT_KUBECONFIG.expanduser()  # noqa: ASYNC240 - once, at start-up
        if not default.is_file():
            raise KubeNotConfigured(
                "invalid setting kube.kubeconfig (ADCBRIDGE_KUBE__KUBECONFIG): not set, no $KUBECONFIG, "
                f"not in a pod, and no {DEFAULT_KUBECONFIG}: nothing says how to reach the Kubernetes API "
                "(or use --snapshot FILE)"
            )
        await _load_kubeconfig(default, context, configured)
    except kube_config.ConfigException as exc:
        raise ConfigError(
            f"invalid setting kube.kubeconfig (ADCBRIDGE_KUBE__KUBECONFIG): {excerpt(str(exc))}"
        ) from None
    return configured


async def _load_kubeconfig(path: Path, context: str | None, configured: kube_client.Configuration) -> None:
    if not path.is_file():  # noqa: ASYNC240 - once, at start-up
        raise ConfigError(f"invalid setting kube.kubeconfig (ADCBRIDGE_KUBE__KUBECONFIG): {path} is not a file")
    await kube_config.load_kube_config(
        config_file=str(path), context=context, client_configuration=configured, persist_config=False
    )


class KubeApi:
    """JSON in, JSON out, our errors out; one connection pool for the process."""

    def __init__(self, configured: kube_client.Configuration, *, request_timeout: float) -> None:
        self._client = kube_client.ApiClient(configured)
        self._timeout = request_timeout

    @classmethod
    async def connect(cls, settings: KubeSettings) -> KubeApi:
        return cls(await configuration(settings), request_timeout=settings.request_timeout)

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> KubeApi:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ calls

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> JsonObject:
        return await self._json("GET", path, params=params)

    async def create(self, path: str, body: JsonObject) -> JsonObject:
        return await self._json("POST", path, body=body)

    async def replace(self, path: str, body: JsonObject) -> JsonObject:
        return await self._json("PUT", path, body=body)

    async def merge_patch(self, path: str, body: JsonObject) -> JsonObject:
        return await self._json("PATCH", path, body=body, content_type=MERGE_PATCH)

    async def watch(
        self, path: str, params: Mapping[str, str], *, seconds: int, opened: Callable[[], None] = lambda: None
    ) -> AsyncIterator[JsonObject]:
        """The events of one watch request, until the server ends it (after ``seconds``).

        ``opened`` is called once the server has accepted the watch, before any event."""
        query = {**params, "watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": str(seconds)}
        timeout = aiohttp.ClientTimeout(sock_connect=self._timeout, sock_read=seconds + WATCH_GRACE_SECONDS)
        async with self._response("GET", path, params=query, limits=timeout) as response:
            await _raise_for_status(response, f"watch {path}")
            opened()
            while True:
                line = await _read_line(response, path)
                if not line:
                    return
                if line.strip():
                    yield _event(line, path)

    # ------------------------------------------------------------------ plumbing

    async def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: JsonObject | None = None,
        content_type: str = "application/json",
    ) -> JsonObject:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with self._response(
            method, path, params=params, body=body, content_type=content_type, limits=timeout
        ) as r:
            await _raise_for_status(r, f"{method} {path}")
            try:
                data = json.loads(await r.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise KubeUnavailable(f"{method} {path}: {_describe(exc)}") from exc
            except ValueError as exc:
                raise KubeUnavailable(f"{method} {path}: the answer is not JSON") from exc
        if not isinstance(data, dict):
            raise KubeUnavailable(f"{method} {path}: the answer is not a JSON object")
        return data

    @contextlib.asynccontextmanager
    async def _response(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: JsonObject | None = None,
        content_type: str = "application/json",
        limits: aiohttp.ClientTimeout,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        try:
            response = await self._client.call_api(
                path,
                method,
                query_params=list((params or {}).items()),
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=limits,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeUnavailable(f"{method} {path}: {_describe(exc)}") from exc
        try:
            yield response
        finally:
            response.release()


async def _read_line(response: aiohttp.ClientResponse, path: str) -> bytes:
    try:
        return await response.content.readline()
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise KubeUnavailable(f"watch {path}: the stream broke: {_describe(exc)}") from exc


def _event(line: bytes, path: str) -> JsonObject:
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise KubeUnavailable(
            f"watch {path}: a line that is not JSON: {excerpt(line.decode(errors='replace'))}"
        ) from exc
    if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
        raise KubeUnavailable(f"watch {path}: an event without an object")
    if event.get("type") == "ERROR":
        raise _status_error(event["object"], f"watch {path}")
    return event


async def _raise_for_status(response: aiohttp.ClientResponse, what: str) -> None:
    if 200 <= response.status < 300:
        return
    try:
        status = json.loads(await response.read())
    except (aiohttp.ClientError, TimeoutError, ValueError):
        status = {}
    if not isinstance(status, dict) or status.get("kind") != "Status":
        status = {"code": response.status, "message": response.reason or ""}
    status.setdefault("code", response.status)
    raise _status_error(status, what)


def _status_error(status: JsonObject, what: str) -> KubeError:
    code = status.get("code")
    code = code if isinstance(code, int) else 0
    reason = status.get("reason") or ""
    message = f"{what}: {code} {reason}: {excerpt(str(status.get('message', '')))}".rstrip(": ")
    if code == 410:
        return KubeExpired(message, status=code)
    if code == 404:
        return KubeNotFound(message, status=code)
    if code == 409:
        return KubeConflict(message, status=code)
    if code == 429 or code >= 500 or code == 0:
        return KubeUnavailable(message, status=code)
    return KubeRejected(message, status=code)


def section(obj: JsonObject, key: str) -> JsonObject:
    """``obj[key]`` when it is a mapping, else an empty one (answers are read defensively)."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {excerpt(str(exc))}" if str(exc) else type(exc).__name__
