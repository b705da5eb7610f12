"""Discovery and OpenAPI documents as kubectl and kopf read them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KubeApi


async def test_core_discovery(kube_api: KubeApi) -> None:
    assert (await kube_api.get("/api")).body["versions"] == ["v1"]
    resources = {r["name"]: r for r in (await kube_api.get("/api/v1")).body["resources"]}
    assert resources["namespaces"]["shortNames"] == ["ns"] and resources["namespaces"]["namespaced"] is False
    assert resources["secrets"]["verbs"] == ["create", "delete", "deletecollection", "get", "list", "patch",
                                                   "update", "watch"]
    # Subresources are listed without short names or categories, so kubectl never matches them by name.
    assert "shortNames" not in resources["namespaces/status"]


async def test_group_discovery_lists_crd_groups(kube_api: KubeApi) -> None:
    groups = {g["name"]: g for g in (await kube_api.get("/apis")).body["groups"]}
    assert groups["example.com"]["preferredVersion"]["version"] == "v1"
    assert {"apps", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"} <= set(groups)
    widgets = next(r for r in (await kube_api.get("/apis/example.com/v1")).body["resources"]
                   if r["name"] == "widgets")
    assert widgets["categories"] == ["gadgets"] and widgets["singularName"] == "widget"


async def test_version_endpoint(kube_api: KubeApi) -> None:
    assert (await kube_api.get("/version")).body["major"] == "1"


async def test_openapi_v3_declares_field_validation_for_patch(kube_api: KubeApi) -> None:
    """kubectl leaves validation to the server when PATCH declares the fieldValidation parameter."""
    root = (await kube_api.get("/openapi/v3")).body
    url = root["paths"]["apis/example.com/v1"]["serverRelativeURL"]
    document = (await kube_api.get(url)).body
    item = document["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]
    assert item["patch"]["x-kubernetes-group-version-kind"]["kind"] == "Widget"
    assert "fieldValidation" in [p["name"] for p in item["patch"]["parameters"]]


async def test_table_output_has_printer_columns(kube_api: KubeApi) -> None:
    from .conftest import WIDGETS, widget

    await kube_api.post(WIDGETS, widget("w1"))
    await kube_api.patch(f"{WIDGETS}/w1/status", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    reply = await kube_api.get(WIDGETS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
    # A CRD that declares columns gets exactly those, no Age (apiextensions: serveDefaultColumnsIfEmpty).
    assert [c["name"] for c in reply.body["columnDefinitions"]] == ["Name", "Size", "Ready"]
    assert reply.body["rows"][0]["cells"][:3] == ["w1", "small", "True"]


async def test_kubernetes_python_client_reads_the_written_kubeconfig(kube_emulator: KubernetesEmulator,
                                                                      tmp_path: Path) -> None:
    """The official client (in a thread, so the emulator keeps serving) accepts the kubeconfig."""
    from kubernetes import client, config

    path = kube_emulator.write_kubeconfig(tmp_path / "kubeconfig")

    def list_namespaces() -> list[str]:
        api_client = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(path), context="tokensync-sandbox")
        with api_client:
            return [str(n.metadata.name) for n in client.CoreV1Api(api_client).list_namespace().items
                    if n.metadata is not None]

    assert "default" in await asyncio.to_thread(list_namespaces)
