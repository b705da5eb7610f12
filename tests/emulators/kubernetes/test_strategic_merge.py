"""Strategic merge patch as kube-apiserver applies it: merge keys and strategies from Kubernetes'
own schemas, and the directives client-side ``kubectl apply`` sends ($setElementOrder,
$deleteFromPrimitiveList, $retainKeys, $patch)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.patching import strategic_merge_patch

from .conftest import KubeApi, Kubectl

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
STRATEGIC = "application/strategic-merge-patch+json"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: metrics, port: 9090, targetPort: 9090}
"""

CONFIG_MAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: guarded
  finalizers: [example.com/cleanup, example.com/audit]
data: {a: "1"}
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: "nginx:1.27"}
"""


def _pod(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


@needs_kubectl
async def test_kubectl_apply_of_a_changed_service_port_keeps_the_ports_right(
        kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    """Service ports merge on ``port`` (not on containerPort, as container ports do): kubectl's
    patch deletes port 80 and adds 81, the metrics port stays."""
    assert (await kubectl("apply", "-f", "-", stdin=SERVICE)).returncode == 0
    changed = await kubectl("apply", "-f", "-", stdin=SERVICE.replace("port: 80,", "port: 81,"))
    assert changed.returncode == 0, changed.stderr
    service = kube_emulator.get("v1", "services", "default", "web")
    assert service is not None
    assert service["spec"]["ports"] == [{"name": "http", "port": 81, "targetPort": 8080},
                                        {"name": "metrics", "port": 9090, "targetPort": 9090}]
    # kubectl found the merge keys in /openapi/v3 and did not look for the (protobuf) v2 document.
    assert not any(path.startswith("/openapi/v2") for _, path in kube_emulator.requests)


@needs_kubectl
async def test_kubectl_apply_removes_a_finalizer_dropped_from_the_manifest(
        kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    """kubectl sends ``$deleteFromPrimitiveList/finalizers`` (and ``$setElementOrder/finalizers``)."""
    assert (await kubectl("apply", "-f", "-", stdin=CONFIG_MAP)).returncode == 0
    applied = await kubectl("apply", "-f", "-", stdin=CONFIG_MAP.replace(", example.com/audit", ""))
    assert applied.returncode == 0, applied.stderr
    config_map = kube_emulator.get("v1", "configmaps", "default", "guarded")
    assert config_map is not None and config_map["metadata"]["finalizers"] == ["example.com/cleanup"]


@needs_kubectl
async def test_kubectl_apply_switching_to_recreate_drops_rolling_update(
        kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    """DeploymentSpec.strategy is ``retainKeys``: kubectl sends ``$retainKeys: [type]`` and the
    server clears rollingUpdate, which the manifest never had (a real server defaults it; here
    another client sets it), else a real server refuses Recreate with rollingUpdate set."""
    assert (await kubectl("apply", "-f", "-", stdin=DEPLOYMENT)).returncode == 0
    defaulted = await kubectl("patch", "deployment", "web", "--type=merge", "-p",
                              '{"spec": {"strategy": {"rollingUpdate": {"maxSurge": "25%"}}}}')
    assert defaulted.returncode == 0, defaulted.stderr
    recreate = DEPLOYMENT.replace("{type: RollingUpdate}", "{type: Recreate}")
    applied = await kubectl("apply", "-f", "-", stdin=recreate)
    assert applied.returncode == 0, applied.stderr
    deployment = kube_emulator.get("apps/v1", "deployments", "default", "web")
    assert deployment is not None and deployment["spec"]["strategy"] == {"type": "Recreate"}


async def test_retain_keys_must_list_every_patched_field(kube_api: KubeApi) -> None:
    body = {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "d"}}, "strategy": {
        "type": "Recreate"}, "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [
            {"name": "app", "image": "a"}]}}}}
    assert (await kube_api.post(DEPLOYMENTS, body)).status == 201
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "RollingUpdate", "rollingUpdate": {}}}}
    reply = await kube_api.patch(f"{DEPLOYMENTS}/d", patch, content_type=STRATEGIC)
    assert (reply.status, reply.body["message"]) == (400, "invalid patch format of retainKeys")
    # Where the live object has nothing to retain from, the directive is dropped, not stored.
    patch = {"spec": {"template": {"spec": {"securityContext": {"$retainKeys": ["runAsUser"], "runAsUser": 7}}}}}
    reply = await kube_api.patch(f"{DEPLOYMENTS}/d", patch, content_type=STRATEGIC)
    assert reply.status == 200 and reply.body["spec"]["template"]["spec"]["securityContext"] == {"runAsUser": 7}


def test_set_element_order_orders_the_merged_list() -> None:
    pod = _pod(containers=[{"name": "a", "image": "a"}, {"name": "b", "image": "b"}, {"name": "c", "image": "c"}])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
                      "containers": [{"name": "a", "image": "a2"}]}}
    merged = strategic_merge_patch(pod, patch)
    assert [(c["name"], c["image"]) for c in merged["spec"]["containers"]] == [("c", "c"), ("a", "a2"), ("b", "b")]


def test_patch_directives_delete_and_replace() -> None:
    pod = _pod(containers=[{"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]}],
               volumes=[{"name": "v", "emptyDir": {}}], nodeSelector={"disk": "ssd", "zone": "a"})
    patch = {"spec": {"containers": [{"name": "a", "env": [{"$patch": "replace"}, {"name": "Z", "value": "3"}]}],
                      "volumes": [{"name": "v", "$patch": "delete"}],
                      "nodeSelector": {"$patch": "replace", "zone": "b"}}}
    merged = strategic_merge_patch(pod, patch)["spec"]
    assert merged["containers"] == [{"name": "a", "env": [{"name": "Z", "value": "3"}]}]
    assert merged["volumes"] == [] and merged["nodeSelector"] == {"zone": "b"}


def test_lists_without_a_merge_strategy_are_replaced() -> None:
    """``args`` has no patch strategy in the Go types: the patch's list replaces the live one,
    while ``env`` (merge on name) merges, new items first as apimachinery orders them."""
    pod = _pod(containers=[{"name": "a", "args": ["x", "y"], "env": [{"name": "X", "value": "1"}]}])
    patch = {"spec": {"containers": [{"name": "a", "args": ["z"], "env": [{"name": "Y", "value": "2"}]}]}}
    container = strategic_merge_patch(pod, patch)["spec"]["containers"][0]
    assert container["args"] == ["z"]
    assert container["env"] == [{"name": "Y", "value": "2"}, {"name": "X", "value": "1"}]


def test_owner_references_merge_on_uid_and_finalizers_union() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "s", "finalizers": ["a"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "1"}]}}
    patch = {"metadata": {"finalizers": ["b", "a"], "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "y", "uid": "2"}]}}
    metadata = strategic_merge_patch(secret, patch)["metadata"]
    assert metadata["finalizers"] == ["b", "a"]
    assert [o["uid"] for o in metadata["ownerReferences"]] == ["2", "1"]
