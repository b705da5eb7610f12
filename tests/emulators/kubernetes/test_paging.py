"""Chunked LIST (limit/continue) and deletecollection, as kube-apiserver 1.32 answers them."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KubeApi, Kubectl

SECRETS = "/api/v1/namespaces/default/secrets"


def _secrets(kube: KubernetesEmulator, count: int, **labels: str) -> None:
    for index in range(count):
        kube.create({"apiVersion": "v1", "kind": "Secret",
                     "metadata": {"name": f"s{index}", "namespace": "default", "labels": dict(labels)}})


async def test_pages_carry_a_continue_token_and_a_consistent_snapshot(kube_emulator: KubernetesEmulator,
                                                                       kube_api: KubeApi) -> None:
    _secrets(kube_emulator, 5)
    first = (await kube_api.get(f"{SECRETS}?limit=2")).body
    assert [i["metadata"]["name"] for i in first["items"]] == ["s0", "s1"]
    assert first["metadata"]["remainingItemCount"] == 3
    token = json.loads(base64.urlsafe_b64decode(first["metadata"]["continue"] + "=="))
    assert token == {"v": "meta.k8s.io/v1", "rv": int(first["metadata"]["resourceVersion"]), "start": "s1\x00"}
    kube_emulator.delete("v1", "secrets", "default", "s3")  # after the first page: not seen by the later ones
    second = (await kube_api.get(f"{SECRETS}?limit=2&continue={first['metadata']['continue']}")).body
    third = (await kube_api.get(f"{SECRETS}?limit=2&continue={second['metadata']['continue']}")).body
    assert [i["metadata"]["name"] for i in second["items"] + third["items"]] == ["s2", "s3", "s4"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert "continue" not in third["metadata"] and "remainingItemCount" not in third["metadata"]


async def test_bad_and_expired_continue_tokens(kube_emulator: KubernetesEmulator, kube_api: KubeApi) -> None:
    _secrets(kube_emulator, 3)
    bad = await kube_api.get(f"{SECRETS}?limit=1&continue=not-a-token")
    assert (bad.status, bad.body["reason"]) == (400, "BadRequest")
    assert bad.body["message"].startswith("invalid continue token: continue key is not valid")
    first = (await kube_api.get(f"{SECRETS}?limit=1")).body
    with_rv = await kube_api.get(f"{SECRETS}?limit=1&resourceVersion=5&continue={first['metadata']['continue']}")
    assert with_rv.body["message"] == "specifying resource version is not allowed when using continue"
    kube_emulator.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "new", "namespace": "default"}})
    kube_emulator.expire_watch_history()  # etcd compaction
    expired = await kube_api.get(f"{SECRETS}?limit=1&continue={first['metadata']['continue']}")
    assert (expired.status, expired.body["reason"]) == (410, "Expired")
    assert expired.body["message"].startswith("The provided continue parameter is too old to display a consistent")
    rest = (await kube_api.get(f"{SECRETS}?continue={expired.body['metadata']['continue']}")).body
    assert [i["metadata"]["name"] for i in rest["items"]] == ["s1", "s2"]  # the inconsistent remainder


async def test_selected_pages_have_no_remaining_count(kube_emulator: KubernetesEmulator, kube_api: KubeApi) -> None:
    _secrets(kube_emulator, 4, app="x")
    reply = (await kube_api.get(f"{SECRETS}?limit=1&labelSelector=app%3Dx")).body
    assert "remainingItemCount" not in reply["metadata"] and reply["metadata"]["continue"]
    everything = (await kube_api.get(f"{SECRETS}?limit=1&resourceVersion=0")).body  # the watch cache ignores limit
    assert len(everything["items"]) == 4 and "continue" not in everything["metadata"]


async def test_python_client_pages_and_deletes_a_collection(kube_emulator: KubernetesEmulator,
                                                            tmp_path: Path) -> None:
    from kubernetes import client, config

    _secrets(kube_emulator, 5)
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        kube_emulator.create({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": name, "namespace": "default", "labels": {"app": app}}})
    path = kube_emulator.write_kubeconfig(tmp_path / "kubeconfig")

    def run() -> tuple[list[str], Any]:
        api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(path), context="tokensync-sandbox")
        with api_client:
            core = client.CoreV1Api(api_client)
            names: list[str] = []
            token = None
            while True:
                page = core.list_namespaced_secret("default", limit=2, _continue=token)
                names += [s.metadata.name for s in page.items]
                token = page.metadata._continue
                if not token:
                    return names, core.delete_collection_namespaced_config_map("default", label_selector="app=x")

    names, deleted = await asyncio.to_thread(run)
    assert names == ["s0", "s1", "s2", "s3", "s4"]
    assert deleted.kind == "ConfigMapList"  # the client decodes the list as a V1Status
    assert [c["metadata"]["name"] for c in kube_emulator.list("v1", "configmaps", "default")] == ["c"]


async def test_deletecollection_answers_the_deleted_list(kube_emulator: KubernetesEmulator, kube_api: KubeApi) -> None:
    _secrets(kube_emulator, 2, app="x")
    kube_emulator.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "kept", "namespace": "default"}})
    dry = await kube_api.delete(f"{SECRETS}?labelSelector=app%3Dx&dryRun=All")
    assert dry.status == 200 and len(kube_emulator.list("v1", "secrets", "default")) == 3
    reply = await kube_api.delete(f"{SECRETS}?labelSelector=app%3Dx", {"propagationPolicy": "Foreground"})
    assert (reply.status, reply.body["kind"]) == (200, "SecretList")
    assert [i["metadata"]["name"] for i in reply.body["items"]] == ["s0", "s1"]
    assert [s["metadata"]["name"] for s in kube_emulator.list("v1", "secrets", "default")] == ["kept"]


async def test_kubectl_chunked_get_lists_everything(kube_emulator: KubernetesEmulator, kubectl: Kubectl) -> None:
    _secrets(kube_emulator, 5)
    result = await kubectl("get", "secrets", "--chunk-size=2", "-o", "name")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"secret/s{i}" for i in range(5)]
    table = await kubectl("get", "secrets", "--chunk-size=2", "--no-headers")
    assert [line.split()[0] for line in table.stdout.splitlines()] == [f"s{i}" for i in range(5)]
    pages = [q for m, q in kube_emulator.requests if m == "GET" and q.startswith(SECRETS)]
    assert any("continue=" in q for q in pages)
