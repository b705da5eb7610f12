"""PATCH content types: merge (RFC 7386), JSON patch (RFC 6902), strategic merge for built-in kinds."""

from __future__ import annotations

import pytest

from .conftest import WIDGETS, KubeApi, widget

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
SELECTOR = {"selector": {"matchLabels": {"app": "d"}}}  # apps/v1 workloads require a selector matching the template
LABELS = {"metadata": {"labels": {"app": "d"}}}


async def test_merge_patch_merges_maps_and_null_deletes(kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, widget("w1", tags=["a"], extra={"k": 1, "drop": 2}))
    reply = await kube_api.patch(f"{WIDGETS}/w1", {"spec": {"extra": {"drop": None, "new": 3}, "tags": ["b"]}})
    assert reply.status == 200
    assert reply.body["spec"]["extra"] == {"k": 1, "new": 3}
    assert reply.body["spec"]["tags"] == ["b"]


async def test_json_patch_applies_operations(kube_api: KubeApi) -> None:
    created = (await kube_api.post(WIDGETS, widget("w1"))).body
    rv = created["metadata"]["resourceVersion"]
    reply = await kube_api.patch(f"{WIDGETS}/w1", [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/size", "value": "large"},
        {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}},
    ], content_type=JSON_PATCH)
    assert reply.status == 200
    assert reply.body["spec"]["size"] == "large" and reply.body["metadata"]["labels"] == {"a": "b"}


async def test_failed_json_patch_test_is_422_invalid(kube_api: KubeApi) -> None:
    """kube-apiserver answers a failed ``test`` operation with 422 Invalid and a cause (kopf relies
    on it when it guards a patch with the resourceVersion); nothing is written."""
    await kube_api.post(WIDGETS, widget("w1"))
    reply = await kube_api.patch(f"{WIDGETS}/w1", [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "replace", "path": "/spec/size", "value": "large"},
    ], content_type=JSON_PATCH)
    assert reply.status == 422
    assert reply.body["reason"] == "Invalid" and reply.body["details"]["causes"]
    assert (await kube_api.get(f"{WIDGETS}/w1")).body["spec"]["size"] == "small"


async def test_strategic_merge_merges_containers_and_env_by_name(kube_api: KubeApi) -> None:
    """Strategic merge patch: lists with a patchMergeKey (containers, env, volumes: name) merge
    item by item instead of being replaced. Without $setElementOrder, items new to the list come
    before the live ones (apimachinery's mergeSortedSlice), as on a real server."""
    await kube_api.post(DEPLOYMENTS, {"metadata": {"name": "d"}, "spec": {**SELECTOR, "template": {**LABELS, "spec": {
        "containers": [{"name": "app", "image": "a:1", "env": [{"name": "A", "value": "1"}]},
                       {"name": "side", "image": "s:1"}],
        "volumes": [{"name": "v1", "emptyDir": {}}]}}}})
    reply = await kube_api.patch(f"{DEPLOYMENTS}/d", {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "a:2", "env": [{"name": "B", "value": "2"}]}],
        "volumes": [{"name": "v2", "emptyDir": {}}]}}}}, content_type=STRATEGIC)
    assert reply.status == 200
    pod = reply.body["spec"]["template"]["spec"]
    assert [(c["name"], c["image"]) for c in pod["containers"]] == [("app", "a:2"), ("side", "s:1")]
    assert pod["containers"][0]["env"] == [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]
    assert [v["name"] for v in pod["volumes"]] == ["v2", "v1"]


async def test_strategic_merge_delete_directive(kube_api: KubeApi) -> None:
    await kube_api.post(DEPLOYMENTS, {"metadata": {"name": "d"}, "spec": {**SELECTOR, "template": {**LABELS, "spec": {
        "containers": [{"name": "app", "image": "a:1"}, {"name": "side", "image": "s:1"}]}}}})
    reply = await kube_api.patch(f"{DEPLOYMENTS}/d", {"spec": {"template": {"spec": {
        "containers": [{"name": "side", "$patch": "delete"}]}}}}, content_type=STRATEGIC)
    assert [c["name"] for c in reply.body["spec"]["template"]["spec"]["containers"]] == ["app"]


async def test_strategic_merge_on_custom_resource_is_415(kube_api: KubeApi) -> None:
    """Custom resources have no Go types to carry merge keys: a real server answers 415."""
    await kube_api.post(WIDGETS, widget("w1"))
    reply = await kube_api.patch(f"{WIDGETS}/w1", {"spec": {"size": "large"}}, content_type=STRATEGIC)
    assert reply.status == 415 and reply.body["reason"] == "UnsupportedMediaType"


@pytest.mark.parametrize("plural", ["deployments", "statefulsets", "daemonsets"])
async def test_rollout_restart_patch_adds_a_template_annotation(kube_api: KubeApi, plural: str) -> None:
    """``kubectl rollout restart`` sends a strategic merge patch setting
    spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]: the annotation is
    merged in beside the existing ones, the pod template is otherwise kept, and, being a spec
    change, it bumps generation (what makes the workload controller roll the pods)."""
    path = f"/apis/apps/v1/namespaces/default/{plural}"
    await kube_api.post(path, {"metadata": {"name": "w"}, "spec": {"selector": {"matchLabels": {"app": "w"}},
                                                                   "template": {
        "metadata": {"labels": {"app": "w"}, "annotations": {"team": "a"}},
        "spec": {"containers": [{"name": "app", "image": "a:1"}]}}}})
    restart = {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}}
    reply = await kube_api.patch(f"{path}/w", restart, content_type=STRATEGIC)
    assert reply.status == 200
    template = reply.body["spec"]["template"]
    assert template["metadata"]["annotations"] == {"team": "a",
                                                   "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
    assert template["metadata"]["labels"] == {"app": "w"}
    assert template["spec"]["containers"] == [{"name": "app", "image": "a:1"}]
    assert reply.body["metadata"]["generation"] == 2
