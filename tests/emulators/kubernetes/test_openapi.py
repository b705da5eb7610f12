"""OpenAPI v3 (per group-version) and v2 documents with Kubernetes' own schemas for built-in kinds."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.openapi import v2_acceptable, v2_document

from .conftest import WIDGET_CRD, KubeApi, Kubectl

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


async def _v3(kube_api: KubeApi, group_version: str) -> dict[str, Any]:
    root = (await kube_api.get("/openapi/v3")).body
    document: dict[str, Any] = (await kube_api.get(root["paths"][group_version]["serverRelativeURL"])).body
    return document


@needs_kubectl
async def test_kubectl_explain_secret_type(kubectl: Kubectl) -> None:
    result = await kubectl("explain", "secret.type")
    assert result.returncode == 0, result.stderr
    assert "FIELD: type <string>" in result.stdout
    assert "Used to facilitate programmatic handling of secret data." in result.stdout


@needs_kubectl
async def test_kubectl_explain_follows_references_and_lists_fields(kubectl: Kubectl) -> None:
    result = await kubectl("explain", "deployment.spec.template.spec.containers.ports")
    assert result.returncode == 0, result.stderr
    assert "GROUP:      apps" in result.stdout and "FIELD: ports <[]ContainerPort>" in result.stdout
    assert "containerPort\t<integer> -required-" in result.stdout
    widget = await kubectl("explain", "widget.spec")
    assert widget.returncode == 0 and "size\t<string> -required-" in widget.stdout, widget.stderr


async def test_v3_documents_carry_the_kinds_schemas_and_merge_keys(kube_api: KubeApi) -> None:
    core = await _v3(kube_api, "api/v1")
    schemas = core["components"]["schemas"]
    ports = schemas["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"]
    assert (ports["x-kubernetes-patch-merge-key"], ports["x-kubernetes-patch-strategy"]) == ("port", "merge")
    assert ports["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.ServicePort"}
    assert schemas["io.k8s.api.core.v1.Secret"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Secret", "version": "v1"}]
    assert schemas["io.k8s.api.core.v1.Secret"]["properties"]["type"] == {
        "description": schemas["io.k8s.api.core.v1.Secret"]["properties"]["type"]["description"], "type": "string"}
    metadata = schemas["io.k8s.api.core.v1.Secret"]["properties"]["metadata"]
    assert metadata["allOf"] == [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    int_or_string = schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["oneOf"] == [{"type": "integer"}, {"type": "string"}]


async def test_patch_request_bodies_offer_strategic_merge_for_builtin_kinds_only(kube_api: KubeApi) -> None:
    """What client-side ``kubectl apply`` decides by: built-in kinds get a strategic merge patch
    computed from these schemas, custom resources a JSON merge patch."""
    core = await _v3(kube_api, "api/v1")
    patch = core["paths"]["/api/v1/namespaces/{namespace}/services/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    custom = await _v3(kube_api, "apis/example.com/v1")
    patch = custom["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" not in patch["requestBody"]["content"]
    widget = custom["components"]["schemas"]["com.example.v1.Widget"]
    assert widget["properties"]["spec"] == WIDGET_CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"][
        "properties"]["spec"]
    # Create-only kinds have a POST and nothing else.
    authz = await _v3(kube_api, "apis/authorization.k8s.io/v1")
    assert list(authz["paths"]["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]) == ["post", "parameters"]


def test_v2_document_in_swagger_form(kube_emulator: KubernetesEmulator) -> None:
    document = v2_document(kube_emulator.registry)
    assert document["swagger"] == "2.0"
    definitions = document["definitions"]
    assert definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    port = definitions["io.k8s.api.core.v1.ServicePort"]["properties"]["targetPort"]
    assert port == {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                    "description": port["description"]}
    create = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"]
    assert create["parameters"][0]["schema"] == {"$ref": "#/definitions/io.k8s.api.apps.v1.Deployment"}
    assert create["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "com.example.v1.Widget" in definitions
    assert v2_acceptable("application/json") and not v2_acceptable(
        "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")


async def test_openapi_v2_is_served_in_json(kube_api: KubeApi) -> None:
    reply = await kube_api.get("/openapi/v2", headers={"Accept": "application/json"})
    assert reply.status == 200 and "io.k8s.api.core.v1.Secret" in reply.body["definitions"]
    protobuf = await kube_api.get("/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert protobuf.status == 406
