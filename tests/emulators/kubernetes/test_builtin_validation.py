"""What kube-apiserver refuses in built-in kinds' bodies: decoding errors (400), unknown fields
per fieldValidation, required fields, Secret and ConfigMap rules, names, annotation size; and
formats in CRD schemas."""

from __future__ import annotations

import copy
import shutil
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.errors import ApiError
from tokensync.emulators.kubernetes.schema import process_object

from .conftest import KubeApi, Kubectl

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
SECRETS = "/api/v1/namespaces/default/secrets"
CONFIG_MAPS = "/api/v1/namespaces/default/configmaps"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"

FROZEN = """
apiVersion: v1
kind: Secret
metadata: {name: frozen}
immutable: true
stringData: {token: first}
"""

TYPO = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replica: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "nginx:1.27"}]
"""


def _deployment(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app",
                                                                                     "image": "nginx"}]}},
        **spec}}


def _causes(reply_body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.get("field", ""), c["message"]) for c in reply_body["details"]["causes"]]


# -- through kubectl ---------------------------------------------------------------------------------


@needs_kubectl
async def test_kubectl_cannot_change_an_immutable_secret(kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    assert (await kubectl("apply", "-f", "-", stdin=FROZEN)).returncode == 0
    changed = await kubectl("apply", "-f", "-", stdin=FROZEN.replace("first", "second"))
    assert changed.returncode != 0
    assert 'The Secret "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set' \
        in changed.stderr
    secret = kube_emulator.get("v1", "secrets", "default", "frozen")
    assert secret is not None and secret["data"] == {"token": "Zmlyc3Q="}


@needs_kubectl
async def test_kubectl_apply_with_a_misspelt_field_is_refused(kubectl: Kubectl) -> None:
    """kubectl asks for fieldValidation=Strict: an unknown field of a built-in kind is a 400."""
    result = await kubectl("apply", "-f", "-", stdin=TYPO)
    assert result.returncode != 0
    assert ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
            'unknown field "spec.replica"') in result.stderr
    warned = await kubectl("apply", "--validate=warn", "-f", "-", stdin=TYPO)
    assert warned.returncode == 0 and 'Warning: unknown field "spec.replica"' in warned.stderr


@needs_kubectl
async def test_kubectl_config_map_values_must_be_strings(kubectl: Kubectl) -> None:
    result = await kubectl("create", "configmap", "x", "--dry-run=client", "-o", "json")
    manifest = result.stdout.replace('"metadata": {', '"data": {"port": 8080}, "metadata": {', 1)
    created = await kubectl("create", "-f", "-", stdin=manifest)
    assert created.returncode != 0
    assert ('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go '
            "struct field ConfigMap.data of type string") in created.stderr


# -- over HTTP ---------------------------------------------------------------------------------------


async def test_unknown_fields_of_builtin_kinds_per_field_validation(kube_api: KubeApi) -> None:
    body = _deployment(replica=2)
    strict = await kube_api.post(f"{DEPLOYMENTS}?fieldValidation=Strict", body)
    assert strict.status == 400
    assert strict.body["message"].endswith('strict decoding error: unknown field "spec.replica"')
    async with kube_api.session.post(kube_api.base + DEPLOYMENTS, json=body) as response:  # default: Warn
        assert response.status == 201
        assert response.headers.getall("Warning") == ['299 - "unknown field \\"spec.replica\\""']
        assert "replica" not in (await response.json())["spec"]  # dropped, as Go's decoding drops it


async def test_wrong_types_are_decoding_errors(kube_api: KubeApi) -> None:
    reply = await kube_api.post(DEPLOYMENTS, _deployment(replicas="2"))
    assert (reply.status, reply.body["reason"]) == (400, "BadRequest")
    assert reply.body["message"] == ('Deployment in version "v1" cannot be handled as a Deployment: json: cannot '
                                     "unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32")


async def test_required_fields(kube_api: KubeApi) -> None:
    body = _deployment()
    del body["spec"]["selector"]
    body["spec"]["template"]["spec"]["containers"][0].pop("name")
    reply = await kube_api.post(DEPLOYMENTS, body)
    assert reply.status == 422
    assert _causes(reply.body) == [("spec.selector", "Required value"),
                                   ("spec.template.spec.containers[0].name", "Required value")]


async def test_secret_rules(kube_api: KubeApi) -> None:
    tls = {"metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "Y2VydA=="}}
    reply = await kube_api.post(SECRETS, tls)
    assert reply.status == 422 and _causes(reply.body) == [("data[tls.key]", "Required value")]
    docker = {"metadata": {"name": "pull"}, "type": "kubernetes.io/dockerconfigjson", "data": {}}
    reply = await kube_api.post(SECRETS, docker)
    assert _causes(reply.body) == [("data[.dockerconfigjson]", "Required value")]
    plain = (await kube_api.post(SECRETS, {"metadata": {"name": "plain"}, "stringData": {"a": "b"}})).body
    retyped = {**plain, "type": "kubernetes.io/basic-auth"}
    reply = await kube_api.put(f"{SECRETS}/plain", retyped)
    assert reply.status == 422
    assert _causes(reply.body)[0] == ("type", 'Invalid value: "kubernetes.io/basic-auth": field is immutable')


async def test_immutable_config_map_keeps_its_data_and_flag(kube_api: KubeApi) -> None:
    created = (await kube_api.post(CONFIG_MAPS, {"metadata": {"name": "c"}, "immutable": True,
                                                 "data": {"a": "1"}})).body
    reply = await kube_api.patch(f"{CONFIG_MAPS}/c", {"immutable": False, "data": {"a": "2"}})
    assert reply.status == 422
    assert _causes(reply.body) == [("immutable", "Forbidden: field is immutable when `immutable` is set"),
                                   ("data", "Forbidden: field is immutable when `immutable` is set")]
    labelled = await kube_api.patch(f"{CONFIG_MAPS}/c", {"metadata": {"labels": {"team": "a"}}})
    assert labelled.status == 200 and labelled.body["data"] == created["data"]  # metadata stays editable


async def test_annotations_total_size_and_crd_name(kube_api: KubeApi) -> None:
    big = {"metadata": {"name": "big", "annotations": {"a": "x" * (256 * 1024)}}}
    reply = await kube_api.post(CONFIG_MAPS, big)
    assert _causes(reply.body) == [("metadata.annotations", "Too long: may not be more than 262144 bytes")]
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "gadgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "gizmos", "kind": "Gizmo"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    reply = await kube_api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert reply.status == 422 and _causes(reply.body) == [
        ("metadata.name", 'Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group')]


async def test_crd_schema_formats_are_validated(kube_api: KubeApi, kube_emulator: KubernetesEmulator) -> None:
    """``format: date-time`` (and the other formats kube-apiserver knows) in a CRD schema."""
    crd = copy.deepcopy(kube_emulator.get("apiextensions.k8s.io/v1", "customresourcedefinitions", "",
                                          "widgets.example.com"))
    assert crd is not None
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    spec["expiresAt"] = {"type": "string", "format": "date-time"}
    spec["address"] = {"type": "string", "format": "ipv4"}
    kube_emulator.apply(crd)
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"size": "small", "secretName": "s", "expiresAt": "tomorrow", "address": "10.0.0.1"}}
    reply = await kube_api.post("/apis/example.com/v1/namespaces/default/widgets", widget)
    assert reply.status == 422
    assert _causes(reply.body) == [("spec.expiresAt", 'Invalid value: "tomorrow": spec.expiresAt in body must be of '
                                                      'type date-time: "tomorrow"')]
    widget["spec"]["expiresAt"] = "2026-12-03T10:00:00Z"
    assert (await kube_api.post("/apis/example.com/v1/namespaces/default/widgets", widget)).status == 201


# -- the checks themselves (schema.process_object, called by the store) -------------------------------


def test_process_object_decodes_and_validates_builtin_kinds(kube_emulator: KubernetesEmulator) -> None:
    secrets = kube_emulator.resource("v1", "secrets")
    decoded, causes, unknown = process_object(secrets, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": None},
        "type": "kubernetes.io/ssh-auth", "data": {}, "extra": {"x": 1}})
    assert unknown == ["extra"] and "extra" not in decoded and "labels" not in decoded["metadata"]
    assert causes == [{"reason": "FieldValueRequired", "field": "data[ssh-privatekey]", "message": "Required value"}]
    roles = kube_emulator.resource("rbac.authorization.k8s.io/v1", "roles")
    assert process_object(roles, {"metadata": {"name": "system:x"}, "rules": [{"verbs": ["get"]}]})[1] == []
    with pytest.raises(ApiError) as refused:
        process_object(kube_emulator.resource("coordination.k8s.io/v1", "leases"),
                       {"metadata": {"name": "l"}, "spec": {"renewTime": "soon"}})
    assert refused.value.code == 400 and refused.value.message == (
        'Lease in version "v1" cannot be handled as a Lease: parsing time "soon" as "2006-01-02T15:04:05Z07:00": '
        'cannot parse "soon" as "2006"')
