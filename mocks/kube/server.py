"""``FakeKube``: one fake Kubernetes API server that starts and stops as a unit.

The same class serves the command line (``adcbridge-fake-kube``) and the pytest fixture (on
port 0, in the test's own event loop). Besides the HTTP API it offers tests two kinds of
direct access: the controls (compaction, dropped watches, outages, the request log) and
object helpers (``create``, ``replace``, ``patch``, ``delete``, ``get``, ``list``) that run the
exact code path of an HTTP write — validation, resourceVersion, watch events — so a test
that changes the cluster "from the side" is seen by clients exactly like kubectl would be.
The helpers act as the cluster itself, never as a user: RBAC does not apply to them.

Optional TLS (``tls=(cert, key)``) and authorization (``authorize=True``: bearer tokens and
RBAC, see ``guarding.py``) let a test run a client as it would run in a pod: over HTTPS, with
a service account's token (``issue_token``), against rules read from the stored RBAC objects.

``stop()`` must not hang on open watches: it finishes every stream, gives them a moment to
end, cuts the rest, and only then shuts aiohttp down.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import ssl
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from mocks.kube import api, controls, guarding
from mocks.kube.cluster import MERGE
from mocks.kube.errors import KubeError
from mocks.kube.identities import TOKEN
from mocks.kube.resources import Resource
from mocks.kube.seeding import SeedError, describe, in_load_order, read_seed_dir
from mocks.kube.state import KubeState, RequestRecord

Obj = dict[str, Any]


def build_app(state: KubeState) -> web.Application:
    middlewares = [api.log_middleware, api.error_middleware, api.outage_middleware, guarding.guard_middleware]
    app = web.Application(middlewares=middlewares)
    app[api.STATE_KEY] = state
    api.add_routes(app)
    controls.add_routes(app)
    return app


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for a PEM certificate (chain) and key; raises ``OSError``/``ssl.SSLError``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class FakeKube:
    """Start with ``await start()`` (or ``async with``); ``url`` then says where it listens."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bookmark_interval: float = 1.0,
        watch_timeout_cap: float | None = None,
        watch_queue_limit: int = 1000,
        history_limit: int = 10_000,
        access_log: bool = False,
        tls: tuple[Path, Path] | None = None,
        authorize: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.tls = tls
        self.state = KubeState(
            bookmark_interval=bookmark_interval,
            watch_timeout_cap=watch_timeout_cap,
            watch_queue_limit=watch_queue_limit,
            history_limit=history_limit,
            authorize=authorize,
        )
        self._access_log = logging.getLogger("mocks.kube.access") if access_log else None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._runner = web.AppRunner(build_app(self.state), access_log=self._access_log, shutdown_timeout=1.0)
        await self._runner.setup()
        context = tls_context(*self.tls) if self.tls is not None else None
        await web.TCPSite(self._runner, self.host, self.port, ssl_context=context).start()
        host, port = self._runner.addresses[0][:2]
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.url = f"{'https' if context is not None else 'http'}://{address}"
        self.state.server_address = address

    async def stop(self) -> None:
        self.state.watchers.finish_all("shutdown")
        await self.state.watchers.settle(0.5)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeKube:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # Kubeconfig --------------------------------------------------------------------------

    def kubeconfig(self, *, token: str = TOKEN, ca_file: Path | None = None) -> Obj:
        """A kubeconfig for this server, as ``token`` (default: the admin token). Over TLS the
        cluster carries ``certificate-authority-data``: the PEM of ``ca_file``, by default the
        server's own certificate file (right for a self-signed certificate)."""
        cluster: Obj = {"server": self.url}
        authority = ca_file or (self.tls[0] if self.tls is not None else None)
        if authority is not None:
            cluster["certificate-authority-data"] = base64.b64encode(authority.read_bytes()).decode()
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake-kube", "cluster": cluster}],
            "users": [{"name": "fake-user", "user": {"token": token}}],
            "contexts": [{"name": "fake-kube", "context": {"cluster": "fake-kube", "user": "fake-user"}}],
            "current-context": "fake-kube",
            "preferences": {},
        }

    def write_kubeconfig(self, path: Path, *, token: str = TOKEN, ca_file: Path | None = None) -> Path:
        """Write atomically (temporary file, rename): a reader never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            yaml.safe_dump(self.kubeconfig(token=token, ca_file=ca_file), out, sort_keys=False)
        os.replace(temporary, path)
        return path

    # Controls ----------------------------------------------------------------------------

    def compact(self, *, end_watches: bool = False) -> None:
        """Forget the watch history; with ``end_watches`` open watches get a 410 ERROR event."""
        self.state.compact(end_watches=end_watches)

    def drop_watches(self) -> int:
        """Cut every open watch connection, as a network failure would; returns how many."""
        return self.state.drop_watches()

    def outage(self, status: int | None, *, resources: Iterable[str] = (), verbs: Iterable[str] = ()) -> None:
        """Answer API requests with ``status`` (a Status body) until ``outage(None)``: every one, or
        only those of ``resources`` (``nodes``, ``ingresses.networking.k8s.io``) and ``verbs``."""
        self.state.set_outage(status, resources=resources, verbs=verbs)

    @property
    def authorize(self) -> bool:
        """Whether requests need a known token and RBAC permission (may change at run time)."""
        return self.state.authorize

    @authorize.setter
    def authorize(self, on: bool) -> None:
        self.state.authorize = on

    def issue_token(self, namespace: str, service_account: str) -> str:
        """A bearer token for ``system:serviceaccount:<namespace>:<service_account>``. It is
        accepted while the ServiceAccount object exists and until ``revoke_token``."""
        return self.state.tokens.issue(namespace, service_account)

    def revoke_token(self, token: str) -> bool:
        """Forget a token (later requests with it are 401); ``False`` if it was not known."""
        return self.state.tokens.revoke(token)

    @property
    def open_watches(self) -> int:
        return len(self.state.watchers)

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self.state.requests)

    def request_count(self, verb: str, path: str | None = None) -> int:
        return sum(1 for r in self.state.requests if r.verb == verb and (path is None or r.path == path))

    def clear_requests(self) -> None:
        self.state.requests.clear()

    @property
    def bookmark_interval(self) -> float:
        return self.state.bookmark_interval

    @bookmark_interval.setter
    def bookmark_interval(self, seconds: float) -> None:
        self.state.bookmark_interval = seconds

    @property
    def watch_timeout_cap(self) -> float | None:
        return self.state.watch_timeout_cap

    @watch_timeout_cap.setter
    def watch_timeout_cap(self, seconds: float | None) -> None:
        self.state.watch_timeout_cap = seconds

    @property
    def resource_version(self) -> int:
        return self.state.store.rv

    # Objects: the same code path as HTTP writes ---------------------------------------------

    def resource(self, api_version: str, kind: str) -> Resource:
        found = self.state.registry.by_kind(api_version, kind)
        if found is None:
            raise LookupError(f"no resource serves {kind} in {api_version} (is its CRD created?)")
        return found

    def _namespace(self, resource: Resource, namespace: str | None) -> str | None:
        return (namespace or "default") if resource.namespaced else None

    def create(self, obj: Obj) -> Obj:
        resource = self.resource(obj["apiVersion"], obj["kind"])
        namespace = (obj.get("metadata") or {}).get("namespace")
        return self.state.cluster.create(resource, self._namespace(resource, namespace), obj)

    def replace(self, obj: Obj, *, status: bool = False) -> Obj:
        resource = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        namespace = self._namespace(resource, meta.get("namespace"))
        return self.state.cluster.replace(resource, namespace, meta["name"], obj, status=status)

    def apply(self, obj: Obj) -> Obj:
        """Create, or replace unconditionally when the object exists (keeps tests short)."""
        meta = obj["metadata"]
        if self.get(obj["apiVersion"], obj["kind"], meta["name"], namespace=meta.get("namespace")) is None:
            return self.create(obj)
        return self.replace({**obj, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}})

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Any,
        *,
        namespace: str | None = None,
        content_type: str = MERGE,
        status: bool = False,
    ) -> Obj:
        resource = self.resource(api_version, kind)
        raw = json.dumps(patch).encode()
        ns = self._namespace(resource, namespace)
        return self.state.cluster.patch(resource, ns, name, raw, content_type, status=status)

    def delete(self, api_version: str, kind: str, name: str, *, namespace: str | None = None) -> Obj:
        resource = self.resource(api_version, kind)
        return self.state.cluster.delete(resource, self._namespace(resource, namespace), name)

    def get(self, api_version: str, kind: str, name: str, *, namespace: str | None = None) -> Obj | None:
        resource = self.resource(api_version, kind)
        try:
            return self.state.cluster.read(resource, self._namespace(resource, namespace), name)
        except KubeError as error:
            if error.code == 404:
                return None
            raise

    def list_objects(self, api_version: str, kind: str, *, namespace: str | None = None) -> list[Obj]:
        resource = self.resource(api_version, kind)
        return copy.deepcopy(self.state.cluster.list(resource, namespace if resource.namespaced else None))

    def load(self, pairs: list[tuple[str, Obj]]) -> int:
        """Create ``(origin, object)`` pairs, CRDs first; a refused object raises ``SeedError``."""
        for origin, obj in in_load_order(pairs):
            try:
                self.create(obj)
            except (KubeError, LookupError, KeyError, TypeError) as exc:
                raise SeedError(f"{origin}: {describe(obj)}: {exc}") from exc
        return len(pairs)

    def load_dir(self, directory: Path) -> int:
        return self.load(read_seed_dir(directory))
