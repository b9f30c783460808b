"""The fake API server as a process: seed directory, kubeconfig file, signals, exit codes."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import yaml
from kubernetes_asyncio import client, config

from mocks.kube import manifests as k

TIMEOUT = 20.0


async def start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mocks.kube", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def test_seeded_server_lists_its_objects_and_stops_on_sigterm(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    # The custom resource comes first in file order; the CRD must still be created before it.
    (seed / "a-objects.yaml").write_text(
        yaml.safe_dump_all(
            [
                k.virtual_server("vs1", "default", "vs.example.com"),
                {"apiVersion": "v1", "kind": "List", "items": [k.ingress("web", "default", "a.example.com")]},
            ]
        )
    )
    (seed / "b-crd.json").write_text(json.dumps(k.virtual_server_crd()))
    kubeconfig = tmp_path / "out" / "kubeconfig"
    process = await start("--listen", "127.0.0.1:0", "--seed", str(seed), "--kubeconfig-out", str(kubeconfig))
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), TIMEOUT)).decode()
        assert line.startswith("fake-kube listening on http://127.0.0.1:")
        assert kubeconfig.exists()
        configuration = client.Configuration()
        await config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
        assert configuration.host == line.split()[-1]
        async with client.ApiClient(configuration) as api:
            ingresses = await client.NetworkingV1Api(api).list_ingress_for_all_namespaces()
            custom = await client.CustomObjectsApi(api).list_cluster_custom_object(
                "k8s.njet.org", "v1", "virtualservers"
            )
        assert [i.metadata.name for i in ingresses.items] == ["web"]
        assert [v["metadata"]["name"] for v in custom["items"]] == ["vs1"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
        assert process.stderr is not None
        await process.stderr.read()


async def run_to_end(*args: str) -> tuple[int, str]:
    process = await start(*args)
    _, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_an_invalid_seed_exits_2_naming_file_and_object(tmp_path: Path) -> None:
    bad = k.ingress("web", "default", "a.example.com")
    del bad["spec"]["rules"][0]["http"]["paths"][0]["pathType"]
    (tmp_path / "ingresses.yaml").write_text(yaml.safe_dump(bad))
    code, err = await run_to_end("--listen", "127.0.0.1:0", "--seed", str(tmp_path))
    assert code == 2
    assert "ingresses.yaml" in err
    assert "Ingress default/web" in err
    assert "pathType: Required value" in err


async def test_custom_resources_without_their_crd_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    (tmp_path / "vs.yaml").write_text(yaml.safe_dump(k.virtual_server("vs1", "default", "vs.example.com")))
    code, err = await run_to_end("--listen", "127.0.0.1:0", "--seed", str(tmp_path))
    assert code == 2
    assert "vs.yaml" in err
    assert "VirtualServer default/vs1" in err
    code, err = await run_to_end("--listen", "nowhere")
    assert code == 2
    assert "--listen" in err
    code, err = await run_to_end("--listen", "127.0.0.1:0", "--seed", str(tmp_path / "missing"))
    assert code == 2
    assert "missing" in err
