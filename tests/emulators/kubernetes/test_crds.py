"""CustomResourceDefinitions: registration by creating the object, structural-schema pruning,
defaulting and validation including x-kubernetes-validations (CEL) rules, 422 on invalid objects.

Behaviour from "Extend the Kubernetes API with CustomResourceDefinitions" (kubernetes.io docs).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import WIDGET_CRD, WIDGETS, KubeApi, widget

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def _gizmo_crd() -> dict[str, Any]:
    crd = copy.deepcopy(WIDGET_CRD)
    crd["metadata"]["name"] = "gizmos.tools.example.org"
    crd["spec"]["group"] = "tools.example.org"
    crd["spec"]["scope"] = "Cluster"
    crd["spec"]["names"] = {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "shortNames": ["gz"]}
    return crd


async def test_creating_a_crd_registers_its_resource(kube_api: KubeApi) -> None:
    """A created CRD is Established and NamesAccepted, and its kind is discoverable and served."""
    assert (await kube_api.get("/apis/tools.example.org/v1/gizmos")).status == 404
    reply = await kube_api.post(CRDS, _gizmo_crd())
    assert reply.status == 201
    conditions = {c["type"]: c["status"] for c in reply.body["status"]["conditions"]}
    assert conditions == {"Established": "True", "NamesAccepted": "True"}
    discovery = (await kube_api.get("/apis/tools.example.org/v1")).body
    gizmos = next(r for r in discovery["resources"] if r["name"] == "gizmos")
    assert gizmos["kind"] == "Gizmo" and gizmos["shortNames"] == ["gz"] and gizmos["namespaced"] is False
    created = await kube_api.post("/apis/tools.example.org/v1/gizmos", {**widget("g1"), "kind": "Gizmo",
                                                                         "apiVersion": "tools.example.org/v1"})
    assert created.status == 201 and "namespace" not in created.body["metadata"]


async def test_deleting_a_crd_unregisters_it_and_its_objects(kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, widget("w1"))
    await kube_api.delete(f"{CRDS}/widgets.example.com")
    assert (await kube_api.get(WIDGETS)).status == 404
    assert "example.com" not in [g["name"] for g in (await kube_api.get("/apis")).body["groups"]]


async def test_defaults_are_applied_and_unknown_fields_pruned(kube_api: KubeApi) -> None:
    reply = await kube_api.post(WIDGETS, {**widget("w1"), "spec": {"size": "small", "secretName": "s",
                                                                    "unknown": 1, "extra": {"kept": True}}})
    assert reply.status == 201
    assert reply.body["spec"] == {"size": "small", "secretName": "s", "replicas": 1, "extra": {"kept": True}}


@pytest.mark.parametrize(("spec", "field", "reason"), [
    ({"secretName": "s"}, "spec.size", "FieldValueRequired"),
    ({"size": "medium", "secretName": "s"}, "spec.size", "FieldValueNotSupported"),
    ({"size": "small", "secretName": "Bad_Name"}, "spec.secretName", "FieldValueInvalid"),
    ({"size": "small", "secretName": "s" * 21}, "spec.secretName", "FieldValueTooLong"),
    ({"size": "small", "secretName": "s", "replicas": 9}, "spec.replicas", "FieldValueInvalid"),
    ({"size": "small", "secretName": "s", "replicas": "two"}, "spec.replicas", "FieldValueTypeNotSupported"),
    ({"size": "small", "secretName": "s", "tags": ["a", "b", "c"]}, "spec.tags", "FieldValueTooMany"),
])
async def test_invalid_custom_resource_is_422(kube_api: KubeApi, spec: dict[str, Any], field: str,
                                              reason: str) -> None:
    """Conventions, "HTTP Status codes": 422 Unprocessable Entity, reason Invalid, with one cause
    per failing field (required, enum, pattern, maxLength, maximum, type, maxItems)."""
    reply = await kube_api.post(WIDGETS, {**widget("w1"), "spec": spec})
    assert reply.status == 422
    assert reply.body["reason"] == "Invalid"
    assert (field, reason) in [(c["field"], c["reason"]) for c in reply.body["details"]["causes"]]


@pytest.mark.parametrize(("spec", "message"), [
    ({"size": "small", "secretName": "a", "configMapName": "b"}, "secretName and configMapName are mutually exclusive"),
    ({"size": "small"}, "exactly one of secretName or configMapName is required"),
])
async def test_cel_validation_rules_refuse_with_their_message(kube_api: KubeApi, spec: dict[str, Any],
                                                              message: str) -> None:
    """x-kubernetes-validations: has(), !(a && b), exactly-one-of via filter().size()."""
    reply = await kube_api.post(WIDGETS, {**widget("w1"), "spec": spec})
    assert reply.status == 422
    assert any(message in c["message"] for c in reply.body["details"]["causes"])
    assert message in reply.body["message"]


async def test_updates_are_validated_too(kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, widget("w1"))
    reply = await kube_api.patch(f"{WIDGETS}/w1", {"spec": {"configMapName": "c"}})
    assert reply.status == 422
    assert (await kube_api.get(f"{WIDGETS}/w1")).body["spec"].get("configMapName") is None


async def test_transition_rule_sees_old_self() -> None:
    """Rules mentioning oldSelf run on updates only, with the previous value."""
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"][
        "x-kubernetes-validations"] = [{"rule": "self == oldSelf", "message": "size is immutable"}]
    emulator = KubernetesEmulator()
    emulator.install_crds([crd])
    emulator.create({**widget("w1"), "metadata": {"name": "w1", "namespace": "default"}})
    with pytest.raises(Exception, match="size is immutable"):
        emulator.apply({**widget("w1", size="large"), "metadata": {"name": "w1", "namespace": "default"}})


async def test_crd_files_install_in_process(tmp_path: Any) -> None:
    import yaml

    path = tmp_path / "crd.yaml"
    path.write_text(yaml.safe_dump(_gizmo_crd()))
    emulator = KubernetesEmulator()
    emulator.install_crd_files([path])
    assert emulator.resource("tools.example.org/v1", "Gizmo").plural == "gizmos"


async def test_strict_field_validation_refuses_unknown_fields(kube_api: KubeApi) -> None:
    """fieldValidation=Strict turns pruning into a 400 naming the unknown fields."""
    reply = await kube_api.post(f"{WIDGETS}?fieldValidation=Strict", widget("w1", colour="red"))
    assert reply.status == 400
    assert 'unknown field "spec.colour"' in reply.body["message"]
