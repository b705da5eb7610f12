"""LIST with selectors, all-namespace and cluster-scoped access, DELETE with finalizers, namespaces."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import WIDGETS, KubeApi, widget

SECRETS = "/api/v1/namespaces/default/secrets"


async def _labelled(kube_api: KubeApi) -> None:
    for name, labels in [("a", {"app": "x", "tier": "web"}), ("b", {"app": "y"}), ("c", {})]:
        await kube_api.post(SECRETS, {"metadata": {"name": name, "labels": labels}})


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=x", ["a"]), ("app==x", ["a"]), ("app!=x", ["b", "c"]), ("app in (x,y)", ["a", "b"]),
    ("app notin (x)", ["b", "c"]), ("tier", ["a"]), ("!tier", ["b", "c"]), ("app,!tier", ["b"]),
])
async def test_list_filters_by_label_selector(kube_api: KubeApi, selector: str, expected: list[str]) -> None:
    """"Labels and Selectors": equality- and set-based requirements, comma meaning AND."""
    await _labelled(kube_api)
    reply = await kube_api.get(f"{SECRETS}?labelSelector={selector}")
    assert [i["metadata"]["name"] for i in reply.body["items"]] == expected


async def test_list_filters_by_field_selector(kube_api: KubeApi) -> None:
    """"Field Selectors": metadata.name and metadata.namespace are supported for every kind."""
    await _labelled(kube_api)
    reply = await kube_api.get(f"{SECRETS}?fieldSelector=metadata.name=b")
    assert [i["metadata"]["name"] for i in reply.body["items"]] == ["b"]
    reply = await kube_api.get("/api/v1/secrets?fieldSelector=metadata.namespace!=default")
    assert reply.body["items"] == []


async def test_list_all_namespaces(kube_api: KubeApi) -> None:
    """/apis/<g>/<v>/<plural> lists a namespaced kind across all namespaces."""
    await kube_api.post(WIDGETS, widget("w1"))
    await kube_api.post("/apis/example.com/v1/namespaces/kube-system/widgets", widget("w2"))
    reply = await kube_api.get("/apis/example.com/v1/widgets")
    assert reply.body["kind"] == "WidgetList"
    assert sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in reply.body["items"]) == [
        ("default", "w1"), ("kube-system", "w2")]


async def test_namespaces_are_objects(kube_api: KubeApi) -> None:
    """GET /api/v1/namespaces lists default and kube-system; namespaces are cluster-scoped."""
    names = [i["metadata"]["name"] for i in (await kube_api.get("/api/v1/namespaces")).body["items"]]
    assert {"default", "kube-system"} <= set(names)
    created = await kube_api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})
    assert created.status == 201 and created.body["status"]["phase"] == "Active"


async def test_create_in_missing_namespace_is_404(kube_api: KubeApi) -> None:
    reply = await kube_api.post("/api/v1/namespaces/ghost/secrets", {"metadata": {"name": "a"}})
    assert reply.status == 404
    assert reply.body["message"] == 'namespaces "ghost" not found'


async def test_deleting_a_namespace_deletes_its_objects(kube_api: KubeApi) -> None:
    await kube_api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})
    await kube_api.post("/api/v1/namespaces/team/secrets", {"metadata": {"name": "a"}})
    await kube_api.delete("/api/v1/namespaces/team")
    assert (await kube_api.get("/api/v1/namespaces/team/secrets/a")).status == 404


async def test_delete_without_finalizers_removes(kube_api: KubeApi) -> None:
    """DELETE answers 200 with a Success Status and the object is gone."""
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    reply = await kube_api.delete(f"{SECRETS}/a")
    assert reply.status == 200 and reply.body["status"] == "Success"
    assert (await kube_api.get(f"{SECRETS}/a")).status == 404


async def test_delete_with_finalizers_waits_for_them(kube_api: KubeApi) -> None:
    """Conventions / "Finalizers": DELETE sets deletionTimestamp and keeps the object until its
    finalizers are removed; then it is gone."""
    await kube_api.post(WIDGETS, {**widget("w1"), "metadata": {"name": "w1", "finalizers": ["example.com/x"]}})
    reply = await kube_api.delete(f"{WIDGETS}/w1")
    assert reply.status == 200 and reply.body["metadata"]["deletionTimestamp"]
    assert (await kube_api.get(f"{WIDGETS}/w1")).status == 200
    await kube_api.patch(f"{WIDGETS}/w1", {"metadata": {"finalizers": None}})
    assert (await kube_api.get(f"{WIDGETS}/w1")).status == 404


async def test_delete_precondition_mismatch_is_409(kube_api: KubeApi) -> None:
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    reply = await kube_api.delete(f"{SECRETS}/a", {"preconditions": {"uid": "not-it"}})
    assert reply.status == 409


async def test_cluster_scoped_custom_resource_definitions(kube_api: KubeApi) -> None:
    reply = await kube_api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
    assert reply.status == 200 and "namespace" not in reply.body["metadata"]


async def test_lease_and_events_are_served(kube_api: KubeApi) -> None:
    """Kinds tokensync touches besides Secrets: Lease, core and events.k8s.io Events, ConfigMap."""
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/apis/coordination.k8s.io/v1/namespaces/default/leases", {"spec": {"holderIdentity": "me"}}),
        ("/api/v1/namespaces/default/events", {"reason": "Synced", "involvedObject": {"kind": "Secret"}}),
        ("/apis/events.k8s.io/v1/namespaces/default/events",
         # (its own name: both groups' Events live in one store, as on a cluster)
         {"metadata": {"name": "y"}, "reason": "Synced", "eventTime": "2026-01-01T00:00:00.000000Z"}),
        ("/api/v1/namespaces/default/configmaps", {"data": {"k": "v"}}),
        ("/api/v1/namespaces/default/serviceaccounts", {}),
    ]
    for path, body in cases:
        reply = await kube_api.post(path, {"metadata": {"name": "x"}} | body)
        assert reply.status == 201, (path, reply.body)


async def test_events_filter_by_involved_object(kube_api: KubeApi) -> None:
    """kubectl describe lists an object's Events with fieldSelector involvedObject.uid=..."""
    events = "/api/v1/namespaces/default/events"
    await kube_api.post(events, {"metadata": {"name": "e1"}, "involvedObject": {"uid": "u1"}, "reason": "A"})
    await kube_api.post(events, {"metadata": {"name": "e2"}, "involvedObject": {"uid": "u2"}, "reason": "B"})
    reply = await kube_api.get(f"{events}?fieldSelector=involvedObject.uid=u1,involvedObject.kind!=Pod")
    assert [e["reason"] for e in reply.body["items"]] == ["A"]
