"""Field selectors on LIST and WATCH: only the fields kube-apiserver supports for each kind.

"Field Selectors" (https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/):
"All resource types support the metadata.name and metadata.namespace fields. Using unsupported
field selectors produces an error", a 400 BadRequest. The per-kind lists follow
"Supported fields" on that page (Secret ``type``; Event ``involvedObject.*``, ``reason``,
``source``, ``type``, ...; Namespace ``status.phase``); custom resources add their CRD version's
``selectableFields`` ("Extend the Kubernetes API with CustomResourceDefinitions", "Field selectors").
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .conftest import WIDGET_CRD, WIDGETS, KubeApi, widget

SECRETS = "/api/v1/namespaces/default/secrets"
EVENTS = "/api/v1/namespaces/default/events"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


async def _names(kube_api: KubeApi, path: str, selector: str) -> list[str]:
    reply = await kube_api.get(f"{path}?fieldSelector={selector}")
    assert reply.status == 200, reply.body
    return [item["metadata"]["name"] for item in reply.body["items"]]


async def _refusal(kube_api: KubeApi, path: str, selector: str) -> str:
    reply = await kube_api.get(f"{path}?fieldSelector={selector}")
    assert reply.status == 400, reply.body
    assert reply.body["kind"] == "Status" and reply.body["reason"] == "BadRequest"
    message: str = reply.body["message"]
    return message


async def test_secrets_select_by_type_and_refuse_other_fields(kube_api: KubeApi) -> None:
    await kube_api.post(SECRETS, {"metadata": {"name": "plain"}, "stringData": {"k": "v"}})
    await kube_api.post(SECRETS, {"metadata": {"name": "token"}, "type": "tokensync.dev/token"})
    assert await _names(kube_api, SECRETS, "type=tokensync.dev/token") == ["token"]
    assert await _names(kube_api, SECRETS, "type!=tokensync.dev/token,metadata.name=plain") == ["plain"]
    assert await _refusal(kube_api, SECRETS, "data.k=dg==") == "field label not supported: data.k"


async def test_core_events_select_by_involved_object_reason_type_and_source(kube_api: KubeApi) -> None:
    """``source`` is source.component, or reportingComponent when the event has no source."""
    await kube_api.post(EVENTS, {"metadata": {"name": "e1"}, "reason": "Synced", "type": "Normal",
                                 "involvedObject": {"kind": "Secret", "name": "s1"}, "source": {"component": "kopf"}})
    await kube_api.post(EVENTS, {"metadata": {"name": "e2"}, "reason": "Failed", "type": "Warning",
                                 "involvedObject": {"kind": "Secret", "name": "s2"}, "reportingComponent": "tokensync"})
    assert await _names(kube_api, EVENTS, "involvedObject.name=s2") == ["e2"]
    assert await _names(kube_api, EVENTS, "reason=Synced,type=Normal") == ["e1"]
    assert await _names(kube_api, EVENTS, "source=tokensync") == ["e2"]
    assert await _names(kube_api, EVENTS, "source=kopf") == ["e1"]
    assert await _refusal(kube_api, EVENTS, "message=x") == "field label not supported: message"


async def test_events_k8s_io_events_use_their_own_field_names(kube_api: KubeApi) -> None:
    """events.k8s.io/v1 names the object ``regarding``: involvedObject.* is not a field there."""
    path = "/apis/events.k8s.io/v1/namespaces/default/events"
    await kube_api.post(path, {"metadata": {"name": "e1"}, "reason": "Synced", "regarding": {"name": "s1"},
                               "eventTime": "2026-01-01T00:00:00.000000Z",
                               "reportingController": "tokensync.dev/operator"})
    assert await _names(kube_api, path, "regarding.name=s1") == ["e1"]
    assert await _names(kube_api, path, "reportingController=tokensync.dev/operator") == ["e1"]
    assert await _refusal(kube_api, path, "involvedObject.name=s1") == "field label not supported: involvedObject.name"


async def test_kinds_without_extra_fields_allow_name_and_namespace_only(kube_api: KubeApi) -> None:
    """Kinds with no field-label conversion of their own (ConfigMap, Lease, apps/v1 workloads)
    get apimachinery's default, which words its refusal differently."""
    path = "/api/v1/namespaces/default/configmaps"
    await kube_api.post(path, {"metadata": {"name": "cm"}, "data": {"k": "v"}})
    assert await _names(kube_api, path, "metadata.name=cm,metadata.namespace=default") == ["cm"]
    for refused_path in (path, "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                         "/apis/apps/v1/namespaces/default/deployments"):
        assert await _refusal(kube_api, refused_path, "spec.x=v") == (
            '"spec.x" is not a known field selector: only "metadata.name", "metadata.namespace"')


async def test_namespaces_select_by_phase_but_not_by_namespace(kube_api: KubeApi) -> None:
    """Namespace's own list: metadata.name and status.phase (a Namespace has no namespace)."""
    assert "default" in await _names(kube_api, "/api/v1/namespaces", "status.phase=Active")
    assert await _names(kube_api, "/api/v1/namespaces", "metadata.name=kube-system") == ["kube-system"]
    assert await _refusal(kube_api, "/api/v1/namespaces", "metadata.namespace=x") == (
        "field label not supported: metadata.namespace")


async def test_custom_resources_select_by_metadata_and_the_crds_selectable_fields(kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, widget("w1"))
    await kube_api.post(WIDGETS, widget("w2", size="large"))
    assert await _names(kube_api, WIDGETS, "metadata.namespace=default,metadata.name!=w1") == ["w2"]
    assert await _refusal(kube_api, WIDGETS, "spec.size=large") == "field label not supported: spec.size"
    # A CRD version declaring spec.size selectable makes it a field label.
    crd: dict[str, Any] = copy.deepcopy(WIDGET_CRD)
    current = (await kube_api.get(f"{CRDS}/widgets.example.com")).body
    crd["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    crd["spec"]["versions"][0]["selectableFields"] = [{"jsonPath": ".spec.size"}]
    assert (await kube_api.put(f"{CRDS}/widgets.example.com", crd)).status == 200
    assert await _names(kube_api, WIDGETS, "spec.size=large") == ["w2"]


async def test_cluster_scoped_custom_resources_refuse_metadata_namespace(kube_api: KubeApi) -> None:
    crd: dict[str, Any] = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = "gizmos.example.com"
    crd["spec"]["scope"] = "Cluster"
    crd["spec"]["names"] = {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"}
    assert (await kube_api.post(CRDS, crd)).status == 201
    assert await _refusal(kube_api, "/apis/example.com/v1/gizmos", "metadata.namespace=") == (
        "field label not supported: metadata.namespace")


@pytest.mark.parametrize("selector", ["data.k=v", "metadata.labels=x"])
async def test_watch_refuses_unsupported_fields_before_streaming(kube_api: KubeApi, selector: str) -> None:
    """A WATCH with an unsupported field selector is refused with the same 400, not a stream."""
    # timeoutSeconds bounds the stream should the selector be accepted by mistake.
    reply = await kube_api.get(f"{SECRETS}?watch=true&timeoutSeconds=1&fieldSelector={selector}")
    assert reply.status == 400
    assert reply.body["message"] == f"field label not supported: {selector.split('=')[0]}"
