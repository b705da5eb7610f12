"""``serviceaccounts/<name>/token`` (TokenRequest, authentication.k8s.io/v1), as kube-apiserver v1.32 serves it:
pkg/registry/core/serviceaccount/storage/token.go, the v1 defaults, ValidateTokenRequest, serviceaccount/claims.go.
The token is JWT-shaped with kube-apiserver's claims but signed by nothing (token_request.py).
"""

from __future__ import annotations

import base64
import json
import shutil
from datetime import datetime, timedelta
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KubeApi, Kubectl

ACCOUNTS = "/api/v1/namespaces/default/serviceaccounts"
TOKEN = f"{ACCOUNTS}/robot/token"
requires_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


def token_request(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def claims(token: str) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "RS256", "kid": "tokensync-emulator"}
    assert len(base64.urlsafe_b64decode(signature + "==")) == 256
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
async def robot(kube_api: KubeApi) -> dict[str, Any]:
    created = await kube_api.post(ACCOUNTS, {"metadata": {"name": "robot"}})
    assert created.status == 201
    body: dict[str, Any] = created.body
    return body


async def test_a_token_request_is_answered_with_a_jwt_shaped_token(kube_api: KubeApi, robot: dict[str, Any],
                                                                   kube_emulator: KubernetesEmulator) -> None:
    answer = await kube_api.post(TOKEN, token_request())
    assert answer.status == 201
    body = answer.body
    assert (body["kind"], body["apiVersion"]) == ("TokenRequest", "authentication.k8s.io/v1")
    assert (body["metadata"]["name"], body["metadata"]["namespace"]) == ("robot", "default")
    assert body["spec"] == {"audiences": ["https://kubernetes.default.svc.cluster.local"], "expirationSeconds": 3600,
                            "boundObjectRef": None}
    issued = moment(body["metadata"]["creationTimestamp"])
    assert moment(body["status"]["expirationTimestamp"]) - issued == timedelta(hours=1)
    token = claims(body["status"]["token"])
    assert token["sub"] == "system:serviceaccount:default:robot"
    assert token["iss"] == "https://kubernetes.default.svc.cluster.local"
    assert token["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert (token["iat"], token["nbf"], token["exp"]) == (int(issued.timestamp()),) * 2 + (
        int(issued.timestamp()) + 3600,)
    assert token["kubernetes.io"] == {"namespace": "default",
                                      "serviceaccount": {"name": "robot", "uid": robot["metadata"]["uid"]}}
    assert kube_emulator.get("v1", "ServiceAccount", "default", "robot") is not None
    assert kube_emulator.write_counts[("serviceaccounts/token", "create")] == 1


async def test_expiration_and_audiences_are_the_requested_ones(kube_api: KubeApi, robot: dict[str, Any]) -> None:
    body = (await kube_api.post(TOKEN, token_request(expirationSeconds=600, audiences=["vault"]))).body
    assert (body["spec"]["expirationSeconds"], body["spec"]["audiences"]) == (600, ["vault"])
    token = claims(body["status"]["token"])
    assert (token["exp"] - token["iat"], token["aud"]) == (600, ["vault"])


@pytest.mark.parametrize(("seconds", "message"), [
    (599, "spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes"),
    (2**32 + 1, "spec.expirationSeconds: Invalid value: 4294967297: may not specify a duration larger than "
                "2^32 seconds"),
])
async def test_an_expiration_out_of_bounds_is_invalid(kube_api: KubeApi, robot: dict[str, Any], seconds: int,
                                                      message: str) -> None:
    refused = await kube_api.post(TOKEN, token_request(expirationSeconds=seconds))
    assert (refused.status, refused.body["reason"]) == (422, "Invalid")
    assert refused.body["message"] == f'TokenRequest.authentication.k8s.io "" is invalid: {message}'


async def test_a_missing_service_account_is_404(kube_api: KubeApi) -> None:
    refused = await kube_api.post(f"{ACCOUNTS}/nobody/token", token_request())
    assert (refused.status, refused.body["message"]) == (404, 'serviceaccounts "nobody" not found')


async def test_the_body_must_name_the_service_account_of_the_url(kube_api: KubeApi, robot: dict[str, Any]) -> None:
    refused = await kube_api.post(TOKEN, {**token_request(), "metadata": {"name": "other"}})
    assert (refused.status, refused.body["message"]) == (422, 'TokenRequest.authentication.k8s.io "robot" is invalid: '
                                                              'metadata.name: Invalid value: "other": must match the '
                                                              'service account name if specified')
    wrong_type = await kube_api.post(TOKEN, token_request(expirationSeconds="an hour"))
    assert (wrong_type.status, wrong_type.body["reason"]) == (400, "BadRequest")


async def test_a_token_bound_to_a_secret_names_it(kube_api: KubeApi, robot: dict[str, Any]) -> None:
    secret = (await kube_api.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": "s"}})).body
    ref = {"kind": "Secret", "apiVersion": "v1", "name": "s", "uid": secret["metadata"]["uid"]}
    body = (await kube_api.post(TOKEN, token_request(boundObjectRef=ref))).body
    assert body["spec"]["boundObjectRef"] == ref
    assert claims(body["status"]["token"])["kubernetes.io"]["secret"] == {"name": "s", "uid": ref["uid"]}
    stale = await kube_api.post(TOKEN, token_request(boundObjectRef={**ref, "uid": "old"}))
    assert (stale.status, stale.body["message"]) == (409, 'Operation cannot be fulfilled on Secret "s": the UID in the '
                                                          "bound object reference (old) does not match the UID in "
                                                          "record. The object might have been deleted and then "
                                                          "recreated")
    gone = await kube_api.post(TOKEN, token_request(boundObjectRef={**ref, "name": "gone"}))
    assert (gone.status, gone.body["message"]) == (404, 'secrets "gone" not found')
    other = await kube_api.post(TOKEN, token_request(boundObjectRef={"kind": "ConfigMap", "apiVersion": "v1",
                                                                     "name": "c"}))
    assert (other.status, other.body["message"]) == (400, "cannot bind token to object of type /v1, Kind=ConfigMap")


async def test_a_token_bound_to_a_pod_needs_the_pods_service_account(kube_api: KubeApi,
                                                                     robot: dict[str, Any]) -> None:
    pods = "/api/v1/namespaces/default/pods"
    for name, account in (("runs-robot", "robot"), ("runs-default", "default")):
        created = await kube_api.post(pods, {"metadata": {"name": name}, "spec": {
            "serviceAccountName": account, "nodeName": "node-1", "containers": [{"name": "c", "image": "i"}]}})
        assert created.status == 201, created.body
    body = (await kube_api.post(TOKEN, token_request(boundObjectRef={"kind": "Pod", "apiVersion": "v1",
                                                                     "name": "runs-robot"}))).body
    bound = claims(body["status"]["token"])["kubernetes.io"]
    assert (bound["pod"]["name"], bound["node"]) == ("runs-robot", {"name": "node-1"})
    refused = await kube_api.post(TOKEN, token_request(boundObjectRef={"kind": "Pod", "apiVersion": "v1",
                                                                       "name": "runs-default"}))
    assert (refused.status, refused.body["message"]) == (400, 'cannot bind token for serviceaccount "robot" to pod '
                                                              "running with different serviceaccount name.")


async def test_token_is_create_only_and_only_on_service_accounts(kube_api: KubeApi, robot: dict[str, Any]) -> None:
    assert (await kube_api.get(TOKEN)).status == 405
    assert (await kube_api.post("/api/v1/namespaces/default/secrets/s/token", token_request())).status == 404


async def test_discovery_lists_the_token_subresource(kube_api: KubeApi) -> None:
    listing = (await kube_api.get("/api/v1")).body
    (token,) = [r for r in listing["resources"] if r["name"] == "serviceaccounts/token"]
    assert (token["kind"], token["group"], token["version"], token["verbs"]) == (
        "TokenRequest", "authentication.k8s.io", "v1", ["create"])


@requires_kubectl
async def test_kubectl_create_token_prints_the_token(kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    kube_emulator.create({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "robot", "namespace": "default"}})
    created = await kubectl("create", "token", "robot", "--duration=20m", "--audience=vault")
    assert created.returncode == 0, created.stderr
    token = claims(created.stdout.strip())
    assert (token["sub"], token["aud"], token["exp"] - token["iat"]) == (
        "system:serviceaccount:default:robot", ["vault"], 1200)
    short = await kubectl("create", "token", "robot", "--duration=1m")
    assert short.returncode == 1
    assert short.stderr == ('error: failed to create token: TokenRequest.authentication.k8s.io "" is invalid: '
                            "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than "
                            "10 minutes\n")
    missing = await kubectl("create", "token", "nobody")
    assert missing.stderr == 'error: failed to create token: serviceaccounts "nobody" not found\n'
