"""TLS, bearer tokens and RBAC in the fake API server, over real HTTP(S).

The fake must refuse exactly what a real API server would refuse to a service account, so that a
Helm chart's rules can be checked by running the bridge against it: these tests pin the decisions
(namespace scope, resourceNames, subresources, group subjects, discovery), the wire form of 401
and 403, the request log that a chart test reads, and that nothing changes with authorization off.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import yaml
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from mocks.kube import FakeKube
from mocks.kube import manifests as k
from mocks.kube.cli import main as fake_kube_main
from mocks.kube.controls import is_loopback
from tests.kubectl import run_kubectl

NET = "networking.k8s.io"
INGRESSES = "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"
ALL_INGRESSES = "/apis/networking.k8s.io/v1/ingresses"
CLASSES = "/apis/networking.k8s.io/v1/ingressclasses"
SA_USER = "system:serviceaccount:shop:bridge"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeKube]:
    """Authorization on; namespaces shop and other, ServiceAccount shop/bridge, one Ingress in each."""
    async with FakeKube(authorize=True) as server:
        for ns in ("shop", "other"):
            server.create(k.namespace(ns))
            server.create(k.ingress("web", ns, f"{ns}.example.com"))
        server.create(k.service_account("bridge", "shop"))
        yield server


def caller(fake: FakeKube, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.AsyncClient(base_url=fake.url, headers=headers, timeout=5)


def bridge(fake: FakeKube) -> httpx.AsyncClient:
    return caller(fake, fake.issue_token("shop", "bridge"))


def grant(fake: FakeKube, *rules: k.Obj, ns: str = "shop", name: str = "bridge") -> None:
    """A Role in ``ns`` with ``rules``, bound to ServiceAccount shop/bridge."""
    fake.create(k.role(name, ns, rules))
    fake.create(k.role_binding(name, ns, name, [k.account_subject("bridge", "shop")]))


def forbidden_text(verb: str, resource: str, group: str, where: str) -> str:
    return f'User "{SA_USER}" cannot {verb} resource "{resource}" in API group "{group}" {where}'


async def statuses(http: httpx.AsyncClient, *paths: str) -> list[int]:
    return [(await http.get(path)).status_code for path in paths]


# TLS -----------------------------------------------------------------------------------------


def issue_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """(certificate chain, key, CA) for 127.0.0.1 from a fresh test CA."""
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key, ca = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    issued.private_key_and_cert_chain_pem.write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    return cert, key, ca


async def typed_client(kubeconfig: Path) -> client.ApiClient:
    configuration = client.Configuration()
    await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return client.ApiClient(configuration)


async def test_https_with_a_test_ca_and_a_service_account_kubeconfig(tmp_path: Path) -> None:
    cert, key, ca = issue_certificate(tmp_path)
    async with FakeKube(tls=(cert, key), authorize=True) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        fake.create(k.namespace("shop"))
        fake.create(k.service_account("bridge", "shop"))
        grant(fake, k.rule([NET], ["ingresses"], ["list"]))
        cluster = fake.kubeconfig(ca_file=ca)["clusters"][0]["cluster"]
        assert cluster["server"] == fake.url
        assert base64.b64decode(cluster["certificate-authority-data"]) == ca.read_bytes()
        default = fake.kubeconfig()["clusters"][0]["cluster"]  # without a CA: the (self-signed) server cert
        assert base64.b64decode(default["certificate-authority-data"]) == cert.read_bytes()

        async with await typed_client(fake.write_kubeconfig(tmp_path / "admin", ca_file=ca)) as api:
            names = [n.metadata.name for n in (await client.CoreV1Api(api).list_namespace()).items]
            assert names == ["default", "kube-system", "shop"]
        token = fake.issue_token("shop", "bridge")
        async with await typed_client(fake.write_kubeconfig(tmp_path / "sa", token=token, ca_file=ca)) as api:
            net = client.NetworkingV1Api(api)
            assert (await net.list_namespaced_ingress("shop")).items == []
            with pytest.raises(ApiException) as refused:
                await net.list_ingress_for_all_namespaces()
            assert refused.value.status == 403

        async with httpx.AsyncClient(base_url=fake.url, verify=ssl.create_default_context(cafile=str(ca))) as http:
            assert (await http.get("/version")).status_code == 401
        async with httpx.AsyncClient(base_url=fake.url) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get("/version")


async def test_the_command_line_serves_https_with_authorization(tmp_path: Path) -> None:
    cert, key, ca = issue_certificate(tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    args = ("--listen", "127.0.0.1:0", "--kubeconfig-out", str(kubeconfig), "--authorize")
    tls = ("--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca", str(ca))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mocks.kube", *args, *tls, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert line.startswith("fake-kube listening on https://127.0.0.1:")
        url = line.split()[-1]
        async with await typed_client(kubeconfig) as api:  # the admin token, the CA from --tls-ca
            core = client.CoreV1Api(api)
            await core.create_namespace(k.namespace("shop"))
            await core.create_namespaced_service_account("shop", k.service_account("bridge", "shop"))
        async with httpx.AsyncClient(base_url=url, verify=ssl.create_default_context(cafile=str(ca))) as http:
            issued = await http.post("/_fake/tokens", json={"namespace": "shop", "name": "bridge"})
            token = issued.json()["token"]
            refused = await http.get("/api/v1/namespaces", headers={"Authorization": f"Bearer {token}"})
            assert (refused.status_code, refused.json()["reason"]) == (403, "Forbidden")
            assert (await http.get("/_fake/settings")).json()["authorize"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
        assert process.stderr is not None
        await process.stderr.read()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tls-cert", "cert.pem"), "--tls-key is required"),
        (("--tls-key", "key.pem"), "--tls-cert is required"),
        (("--tls-ca", "ca.pem"), "--tls-ca needs --tls-cert"),
        (("--tls-cert", "missing-cert.pem", "--tls-key", "missing-key.pem"), "--tls-cert/--tls-key: cannot load"),
    ],
)
def test_bad_tls_arguments_exit_2_naming_the_flag(
    args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        fake_kube_main(["--listen", "127.0.0.1:0", *args])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


# Authentication ------------------------------------------------------------------------------

UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


async def test_missing_unknown_revoked_and_orphaned_tokens_are_401(fake: FakeKube) -> None:
    for token in (None, "nope", fake.issue_token("shop", "ghost")):  # ghost: no such ServiceAccount
        async with caller(fake, token) as http:
            answer = await http.get("/version")
            assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED)
    token = fake.issue_token("shop", "bridge")
    async with caller(fake, token) as http:
        assert (await http.get("/version")).status_code == 200
        assert fake.revoke_token(token) is True
        assert (await http.get("/version")).status_code == 401
    token = fake.issue_token("shop", "bridge")
    async with caller(fake, token) as http:
        fake.delete("v1", "ServiceAccount", "bridge", namespace="shop")  # a real bound token dies with it
        assert (await http.get("/version")).status_code == 401
    assert [(r.status, r.user, r.allowed) for r in fake.requests][-1] == (401, "", False)


async def test_tokens_control_issues_and_revokes(fake: FakeKube) -> None:
    async with caller(fake, None) as control:
        token = (await control.post("/_fake/tokens", json={"namespace": "shop", "name": "bridge"})).json()["token"]
        assert (await control.post("/_fake/tokens", json={"namespace": "shop"})).status_code == 400
        async with caller(fake, token) as http:
            assert (await http.get("/api")).status_code == 200
            revoked = await control.request("DELETE", "/_fake/tokens", json={"token": token})
            assert revoked.json() == {"revoked": True}
            assert (await http.get("/api")).status_code == 401


async def test_the_admin_token_may_do_anything(fake: FakeKube) -> None:
    async with caller(fake, "fake-kube-token") as admin:
        paths = (ALL_INGRESSES, "/api/v1/nodes", "/apis/rbac.authorization.k8s.io/v1/roles", "/metrics")
        assert await statuses(admin, *paths) == [200, 200, 200, 404]
        assert (await admin.delete("/api/v1/namespaces/other")).status_code == 200
    assert {(r.user, r.allowed) for r in fake.requests} == {("system:admin", True)}


# Authorization -------------------------------------------------------------------------------


async def test_a_role_allows_in_its_namespace_only(fake: FakeKube) -> None:
    grant(fake, k.rule([NET], ["ingresses"], ["get", "list"]))
    async with bridge(fake) as http:
        assert await statuses(http, INGRESSES.format(ns="shop"), INGRESSES.format(ns="shop") + "/web") == [200, 200]
        elsewhere = await http.get(INGRESSES.format(ns="other"))
        assert elsewhere.status_code == 403
        assert elsewhere.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "ingresses.networking.k8s.io is forbidden: "
            + forbidden_text("list", "ingresses", NET, 'in the namespace "other"'),
            "reason": "Forbidden",
            "details": {"group": NET, "kind": "ingresses"},
            "code": 403,
        }
        everywhere = (await http.get(ALL_INGRESSES)).json()
        assert everywhere["message"].endswith('in API group "networking.k8s.io" at the cluster scope')
        named = (await http.get(INGRESSES.format(ns="other") + "/web")).json()
        assert named["message"].startswith('ingresses.networking.k8s.io "web" is forbidden: ')
        assert named["details"] == {"name": "web", "group": NET, "kind": "ingresses"}
        created = await http.post(INGRESSES.format(ns="shop"), json=k.ingress("new", "shop", "new.example.com"))
        assert created.status_code == 403


async def test_a_cluster_role_is_namespace_limited_through_a_role_binding(fake: FakeKube) -> None:
    fake.create(k.cluster_role("reader", [k.rule([NET], ["ingresses"], ["list"]), k.rule([""], ["nodes"], ["list"])]))
    bridge_account = [k.account_subject("bridge", "shop")]
    fake.create(k.role_binding("reader", "shop", "reader", bridge_account, role_kind="ClusterRole"))
    async with bridge(fake) as http:
        assert await statuses(http, INGRESSES.format(ns="shop"), INGRESSES.format(ns="other")) == [200, 403]
        nodes = await http.get("/api/v1/nodes")
        cluster_scope = forbidden_text("list", "nodes", "", "at the cluster scope")
        assert nodes.json()["message"] == f"nodes is forbidden: {cluster_scope}"
        fake.create(k.cluster_role_binding("reader", "reader", bridge_account))
        paths = (INGRESSES.format(ns="other"), ALL_INGRESSES, "/api/v1/nodes")
        assert await statuses(http, *paths) == [200, 200, 200]


def ingress_class(name: str) -> k.Obj:
    return {"apiVersion": f"{NET}/v1", "kind": "IngressClass", "metadata": {"name": name}, "spec": {"controller": "x"}}


async def test_resource_names_allow_get_and_a_list_or_watch_of_that_name_only(fake: FakeKube) -> None:
    for name in ("njet", "nginx"):
        fake.create(ingress_class(name))
    fake.create(k.cluster_role("classes", [k.rule([NET], ["ingressclasses"], ["get", "list", "watch"], ["njet"])]))
    fake.create(k.cluster_role_binding("classes", "classes", [k.account_subject("bridge", "shop")]))
    async with bridge(fake) as http:
        assert (await http.get(f"{CLASSES}/njet")).status_code == 200
        other = await http.get(f"{CLASSES}/nginx")
        assert other.json()["message"].startswith('ingressclasses.networking.k8s.io "nginx" is forbidden: ')
        one = await http.get(CLASSES, params={"fieldSelector": "metadata.name=njet"})
        assert [item["metadata"]["name"] for item in one.json()["items"]] == ["njet"]
        assert (await http.get(CLASSES, params={"fieldSelector": "metadata.name==njet"})).status_code == 200
        refused = [{}, {"fieldSelector": "metadata.name!=njet"}, {"fieldSelector": "metadata.name=nginx"}]
        assert [(await http.get(CLASSES, params=params)).status_code for params in refused] == [403, 403, 403]
        assert (await http.post(CLASSES, json=ingress_class("njet2"))).status_code == 403
        watch = {"watch": "true", "fieldSelector": "metadata.name=njet"}
        async with http.stream("GET", CLASSES, params=watch) as stream:
            assert stream.status_code == 200
            first = await anext(stream.aiter_lines())
            assert json.loads(first)["object"]["metadata"]["name"] == "njet"
        assert (await http.get(CLASSES, params={"watch": "true"})).status_code == 403
    assert [(r.verb, r.name, r.allowed) for r in fake.requests if r.resource == "ingressclasses"][-2:] == [
        ("watch", "njet", True),
        ("watch", "", False),
    ]


async def test_subresource_rules_are_separate_from_their_resource(fake: FakeKube) -> None:
    fake.create(k.service_account("status-writer", "shop"))
    fake.create(k.role("status", "shop", [k.rule([NET], ["ingresses/status"], ["patch"])]))
    fake.create(k.role("main", "shop", [k.rule([NET], ["ingresses"], ["patch"])]))
    fake.create(k.role_binding("status", "shop", "status", [k.account_subject("status-writer", "shop")]))
    fake.create(k.role_binding("main", "shop", "main", [k.account_subject("bridge", "shop")]))
    web = INGRESSES.format(ns="shop") + "/web"
    status = json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}})
    label = json.dumps({"metadata": {"labels": {"a": "b"}}})
    async with caller(fake, fake.issue_token("shop", "status-writer")) as http:
        assert (await http.patch(web + "/status", content=status, headers=MERGE)).status_code == 200
        assert (await http.patch(web, content=label, headers=MERGE)).status_code == 403
    async with bridge(fake) as http:
        assert (await http.patch(web, content=label, headers=MERGE)).status_code == 200
        refused = await http.patch(web + "/status", content=status, headers=MERGE)
        assert refused.json()["message"] == 'ingresses.networking.k8s.io "web" is forbidden: ' + forbidden_text(
            "patch", "ingresses/status", NET, 'in the namespace "shop"'
        )
        fake.create(k.role("any-status", "shop", [k.rule([NET], ["*/status"], ["patch"])]))
        fake.create(k.role_binding("any-status", "shop", "any-status", [k.account_subject("bridge", "shop")]))
        assert (await http.patch(web + "/status", content=status, headers=MERGE)).status_code == 200
    assert [(r.resource, r.subresource, r.allowed) for r in fake.requests if r.verb == "patch"][-2:] == [
        ("ingresses", "status", False),
        ("ingresses", "status", True),
    ]


async def test_group_and_user_subjects(fake: FakeKube) -> None:
    fake.create(k.service_account("stranger", "other"))
    fake.create(k.role("readers", "shop", [k.rule([NET], ["ingresses"], ["list"])]))
    fake.create(k.role_binding("readers", "shop", "readers", [k.group_subject("system:serviceaccounts:shop")]))
    async with bridge(fake) as http:
        assert (await http.get(INGRESSES.format(ns="shop"))).status_code == 200
    async with caller(fake, fake.issue_token("other", "stranger")) as http:
        assert (await http.get(INGRESSES.format(ns="shop"))).status_code == 403
        user = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:serviceaccount:other:stranger"}
        fake.create(k.role_binding("by-name", "shop", "readers", [user]))
        assert (await http.get(INGRESSES.format(ns="shop"))).status_code == 200


async def test_discovery_and_version_are_open_to_every_authenticated_user(fake: FakeKube) -> None:
    async with bridge(fake) as http:  # bound to nothing
        paths = ("/version", "/api", "/api/v1", "/apis", f"/apis/{NET}", f"/apis/{NET}/v1", "/openapi/v3")
        assert await statuses(http, *paths) == [200] * len(paths)
        assert (await http.get(f"/openapi/v3/apis/{NET}/v1")).status_code == 200
        other = await http.get("/metrics")
        assert (other.status_code, other.json()["message"], other.json()["details"]) == (
            403,
            f'forbidden: User "{SA_USER}" cannot get path "/metrics"',
            {},
        )
        assert (await http.post("/api", json={})).json()["message"].endswith('cannot post path "/api"')
    assert fake.requests[0].reason == (
        'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" '
        'to Group "system:authenticated"'
    )


async def test_non_resource_rules_unnamespaced_subjects_and_uninstalled_kinds(fake: FakeKube) -> None:
    virtual_servers = "/apis/k8s.njet.org/v1/namespaces/shop/virtualservers"
    async with bridge(fake) as http:
        assert await statuses(http, "/metrics", virtual_servers) == [403, 403]  # decided before any lookup
        fake.create({**k.cluster_role("metrics", []), "rules": [{"nonResourceURLs": ["/met*"], "verbs": ["get"]}]})
        fake.create(k.cluster_role_binding("metrics", "metrics", [k.account_subject("bridge", "shop")]))
        fake.create(k.role("vs", "shop", [k.rule(["k8s.njet.org"], ["virtualservers"], ["list"])]))
        fake.create(k.role_binding("vs", "shop", "vs", [{"kind": "ServiceAccount", "name": "bridge"}]))
        assert await statuses(http, "/metrics", virtual_servers) == [404, 404]  # allowed, then not found


@pytest.mark.parametrize(
    ("remote", "allowed"), [("127.0.0.1", True), ("::1", True), ("10.1.2.3", False), ("nonsense", False), (None, False)]
)
def test_the_token_control_answers_loopback_peers_only(remote: str | None, allowed: bool) -> None:
    assert is_loopback(remote) is allowed


async def test_a_binding_to_a_missing_role_grants_nothing_and_says_so(fake: FakeKube) -> None:
    fake.create(k.role_binding("ghost", "shop", "ghost", [k.account_subject("bridge", "shop")]))
    async with bridge(fake) as http:
        refused = (await http.get(INGRESSES.format(ns="shop"))).json()
        assert refused["message"].endswith(': RBAC: role.rbac.authorization.k8s.io "ghost" not found')
        fake.create(k.role("ghost", "shop", [k.rule([NET], ["*"], ["*"])]))
        assert (await http.get(INGRESSES.format(ns="shop"))).status_code == 200


async def test_rbac_changes_take_effect_at_once(fake: FakeKube) -> None:
    path = INGRESSES.format(ns="shop")
    async with bridge(fake) as http:
        assert (await http.get(path)).status_code == 403
        grant(fake, k.rule([NET], ["ingresses"], ["list"]))
        assert (await http.get(path)).status_code == 200
        fake.patch(k.RBAC, "Role", "bridge", {"rules": [k.rule([NET], ["ingresses"], ["get"])]}, namespace="shop")
        assert (await http.get(path)).status_code == 403
        fake.patch(k.RBAC, "Role", "bridge", {"rules": [k.rule([NET], ["ingresses"], ["list"])]}, namespace="shop")
        assert (await http.get(path)).status_code == 200
        fake.delete(k.RBAC, "RoleBinding", "bridge", namespace="shop")
        assert (await http.get(path)).status_code == 403
        async with caller(fake, None) as control:
            assert (await control.put("/_fake/settings", json={"authorize": False})).json()["authorize"] is False
            assert (await http.get(path)).status_code == 200
            assert (await control.put("/_fake/settings", json={"authorize": "yes"})).status_code == 400
        fake.authorize = True
        assert (await http.get(path)).status_code == 403


# The request log -----------------------------------------------------------------------------


async def test_the_log_records_user_decision_grant_and_attributes(fake: FakeKube) -> None:
    grant(fake, k.rule([""], ["services"], ["get"]), k.rule([NET], ["ingresses"], ["list", "watch"]))
    async with bridge(fake) as http:
        await http.get(INGRESSES.format(ns="shop"))
        await http.get(ALL_INGRESSES, params={"fieldSelector": "metadata.name=web"})
    async with caller(fake, None) as control:
        log = (await control.get("/_fake/requests")).json()["requests"]
    assert log == [
        {
            "method": "GET",
            "path": INGRESSES.format(ns="shop"),
            "query": {},
            "verb": "list",
            "status": 200,
            "user": SA_USER,
            "allowed": True,
            "reason": 'RBAC: allowed by RoleBinding "bridge/shop" of Role "bridge" to ServiceAccount "bridge/shop"',
            "grant": {
                "binding_kind": "RoleBinding",
                "binding_namespace": "shop",
                "binding": "bridge",
                "role_kind": "Role",
                "role": "bridge",
                "rule": 1,
            },
            "api_group": NET,
            "resource": "ingresses",
            "subresource": "",
            "namespace": "shop",
            "name": "",
        },
        {
            "method": "GET",
            "path": ALL_INGRESSES,
            "query": {"fieldSelector": "metadata.name=web"},
            "verb": "list",
            "status": 403,
            "user": SA_USER,
            "allowed": False,
            "reason": "",
            "grant": None,
            "api_group": NET,
            "resource": "ingresses",
            "subresource": "",
            "namespace": "",
            "name": "web",
        },
    ]
    assert [r.path for r in fake.requests if r.allowed is False] == [ALL_INGRESSES]


@pytest.mark.parametrize(
    ("method", "path", "params", "expected"),
    [
        ("GET", "/api/v1/namespaces/shop", {}, ("get", "", "namespaces", "", "shop", "shop")),
        ("GET", "/api/v1/namespaces/shop/status", {}, ("get", "", "namespaces", "status", "shop", "shop")),
        ("GET", "/api/v1/namespaces", {"watch": "True"}, ("watch", "", "namespaces", "", "", "")),
        ("DELETE", "/api/v1/namespaces/shop/configmaps", {}, ("deletecollection", "", "configmaps", "", "shop", "")),
        ("PUT", "/apis/k8s.njet.org/v1/namespaces/shop/virtualservers/vs/status", {},
         ("update", "k8s.njet.org", "virtualservers", "status", "shop", "vs")),
        ("GET", "/apis/networking.k8s.io/v1", {}, ("discovery", "", "", "", "", "")),
    ],
)  # fmt: skip
async def test_attributes_are_read_from_the_url_even_with_authorization_off(
    fake_kube: FakeKube, method: str, path: str, params: dict[str, str], expected: tuple[str, ...]
) -> None:
    async with caller(fake_kube, None) as http:
        if params.get("watch"):
            params = {**params, "timeoutSeconds": "0"}
        await http.request(method, path, params=params)
    r = fake_kube.requests[-1]
    assert (r.verb, r.api_group, r.resource, r.subresource, r.namespace, r.name) == expected
    assert (r.user, r.allowed, r.grant) == ("", None, None)


async def test_with_authorization_off_any_token_or_none_is_served(fake_kube: FakeKube) -> None:
    fake_kube.create(k.ingress("web", "default", "a.example.com"))
    for token in (None, "anything", "fake-kube-token"):
        async with caller(fake_kube, token) as http:
            assert await statuses(http, ALL_INGRESSES, "/api/v1/nodes", "/version") == [200, 200, 200]
    assert {(r.user, r.allowed) for r in fake_kube.requests} == {("", None)}


# RBAC objects through the typed client and kubectl -------------------------------------------


async def status_of(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as caught:
        await call
    return caught.value.status, json.loads(caught.value.body or "{}")


async def test_rbac_objects_round_trip_through_kubernetes_asyncio(kube_api: client.ApiClient) -> None:
    core, rbac = client.CoreV1Api(kube_api), client.RbacAuthorizationV1Api(kube_api)
    await core.create_namespaced_service_account("default", k.service_account("bridge", "default"))
    await rbac.create_cluster_role(k.cluster_role("system:bridge", [k.rule([NET], ["ingresses"], ["list"])]))
    subjects = [{"kind": "ServiceAccount", "name": "bridge"}, {"kind": "Group", "name": "admins"}]
    binding = k.role_binding("bridge", "default", "system:bridge", subjects, role_kind="ClusterRole")
    del binding["roleRef"]["apiGroup"]
    created = await rbac.create_namespaced_role_binding("default", binding)
    assert created.role_ref.api_group == "rbac.authorization.k8s.io"  # defaulted, as on a real server
    assert [s.api_group for s in created.subjects] == ["", "rbac.authorization.k8s.io"]
    read = await rbac.read_cluster_role("system:bridge")
    assert read.rules[0].resources == ["ingresses"]
    assert (await core.list_namespaced_service_account("default")).items[0].metadata.name == "bridge"

    changed = {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "other"}}
    code, body = await status_of(rbac.patch_namespaced_role_binding("bridge", "default", changed))
    assert (code, body["details"]["causes"][0]["field"]) == (422, "roleRef")
    invalid = [
        (k.role("r", "default", [{"resources": ["pods"], "verbs": ["get"]}]), "rules[0].apiGroups"),
        (k.role("r", "default", [{"nonResourceURLs": ["/x"], "verbs": ["get"]}]), "rules[0].nonResourceURLs"),
        (k.role("r", "default", [k.rule([""], ["pods"], [])]), "rules[0].verbs"),
    ]
    for role, field in invalid:
        code, body = await status_of(rbac.create_namespaced_role("default", role))
        assert (code, body["details"]["causes"][0]["field"]) == (422, field)
    unplaced = k.cluster_role_binding("x", "system:bridge", [{"kind": "ServiceAccount", "name": "bridge"}])
    code, body = await status_of(rbac.create_cluster_role_binding(unplaced))
    assert (code, body["details"]["causes"][0]["field"]) == (422, "subjects[0].namespace")


async def test_kubectl_applies_rbac_and_reports_a_denial_over_https(tmp_path: Path) -> None:
    cert, key, ca = issue_certificate(tmp_path)

    async def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
        return await run_kubectl(kubeconfig, *args, home=tmp_path, stdin=stdin)

    async with FakeKube(tls=(cert, key), authorize=True) as fake:
        chart = [
            k.namespace("shop"),
            k.service_account("bridge", "shop"),
            k.role("bridge", "shop", [k.rule([NET], ["ingresses"], ["get", "list", "watch"])]),
            k.role_binding("bridge", "shop", "bridge", [k.account_subject("bridge", "shop")]),
        ]
        admin = fake.write_kubeconfig(tmp_path / "admin", ca_file=ca)
        code, text = await kubectl(admin, "apply", "-f", "-", stdin=yaml.safe_dump_all(chart))
        assert code == 0, text
        account = fake.write_kubeconfig(tmp_path / "sa", token=fake.issue_token("shop", "bridge"), ca_file=ca)
        code, text = await kubectl(account, "get", "ingresses", "-n", "shop")
        assert (code, text.strip()) == (0, "No resources found in shop namespace.")
        code, text = await kubectl(account, "get", "ingresses", "-A")
        assert code == 1
        assert "Error from server (Forbidden): ingresses.networking.k8s.io is forbidden: " in text
        assert forbidden_text("list", "ingresses", NET, "at the cluster scope") in text
