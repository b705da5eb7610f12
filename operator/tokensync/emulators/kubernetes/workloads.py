"""apps/v1 workloads as they live on a cluster: kube-apiserver's spec defaults, and the status
kube-controller-manager's workload controllers write once the pods are ready (here: at once).

Sources (kubernetes v1.32): pkg/apis/apps/v1/defaults.go (SetDefaults_Deployment, _StatefulSet,
_DaemonSet, _ReplicaSet); pkg/controller/deployment/sync.go and util/deployment_util.go (status,
conditions and their messages); pkg/controller/statefulset/stateful_set_utils.go (revisions);
pkg/controller/daemon/daemon_controller.go (status on one node); pkg/controller/controller_utils.go
ComputeHash and apimachinery's rand.SafeEncodeString (the pod-template-hash alphabet).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from .resources import Resource

DEPLOYMENTS = ("apps", "deployments")
STATEFULSETS = ("apps", "statefulsets")
DAEMONSETS = ("apps", "daemonsets")
REPLICASETS = ("apps", "replicasets")
SCALABLE = (DEPLOYMENTS, STATEFULSETS, REPLICASETS)
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery util/rand: no vowels, no 0/1/3


def is_workload(resource: Resource) -> bool:
    return resource.key in (DEPLOYMENTS, STATEFULSETS, DAEMONSETS, REPLICASETS)


# -- kube-apiserver: spec defaults (pkg/apis/apps/v1/defaults.go) --------------------------------------

def default_spec(resource: Resource, obj: dict[str, Any]) -> None:
    """The top-level spec defaults of an apps/v1 workload (not the pod template's)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    defaults: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
        DEPLOYMENTS: _default_deployment, STATEFULSETS: _default_statefulset,
        DAEMONSETS: _default_daemonset, REPLICASETS: _default_replicaset}
    handler = defaults.get(resource.key)
    if handler is not None:
        handler(spec)


def _default_deployment(spec: dict[str, Any]) -> None:
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def _default_statefulset(spec: dict[str, Any]) -> None:
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
            strategy.setdefault("rollingUpdate", {})
        rolling = strategy.get("rollingUpdate")
        if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict):
            rolling.setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    if isinstance(policy, dict):
        policy.setdefault("whenDeleted", "Retain")
        policy.setdefault("whenScaled", "Retain")


def _default_daemonset(spec: dict[str, Any]) -> None:
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxUnavailable", 1)
                rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)


def _default_replicaset(spec: dict[str, Any]) -> None:
    spec.setdefault("replicas", 1)


# -- kube-controller-manager: status once every pod is ready --------------------------------------------

def template_hash(template: Any) -> str:
    """A pod-template-hash look-alike: FNV-1a (32 bit) of the template, its decimal digits spelt in
    SafeEncodeString's alphabet. (Go hashes its own printing of the struct, so values differ.)"""
    value = 0x811C9DC5
    for byte in json.dumps(template, sort_keys=True, separators=(",", ":")).encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(digit) % len(_SAFE_ALPHABET)] for digit in str(value))


def settled_status(resource: Resource, obj: Mapping[str, Any], now: str) -> dict[str, Any] | None:
    """The status the workload's controller converges to when its pods are ready at once; None for
    other kinds. ``now`` stamps conditions that change."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    generation = int(obj["metadata"].get("generation", 1))
    old = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    assert isinstance(old, dict)
    if resource.key == DEPLOYMENTS:
        return _deployment_status(obj, spec, generation, old, now)
    if resource.key == STATEFULSETS:
        return _statefulset_status(obj, spec, generation, old)
    if resource.key == DAEMONSETS:
        return _daemonset_status(generation)
    if resource.key == REPLICASETS:
        return _replicaset_status(spec, generation)
    return None


def _replicas(spec: Mapping[str, Any]) -> int:
    replicas = spec.get("replicas", 1)
    return replicas if isinstance(replicas, int) else 1


def _counts(replicas: int, *fields: str) -> dict[str, int]:
    """Replica counts, omitted at zero (the Go fields are omitempty)."""
    return {name: replicas for name in fields} if replicas else {}


def _deployment_status(obj: Mapping[str, Any], spec: Mapping[str, Any], generation: int,
                       old: Mapping[str, Any], now: str) -> dict[str, Any]:
    replicas = _replicas(spec)
    status: dict[str, Any] = {"observedGeneration": generation,
                              **_counts(replicas, "replicas", "updatedReplicas", "readyReplicas",
                                        "availableReplicas")}
    new_rs = f'{obj["metadata"]["name"]}-{template_hash(spec.get("template"))}'
    before = {c.get("type"): c for c in old.get("conditions") or [] if isinstance(c, dict)}
    conditions = [
        _condition(before.get("Available"), "Available", "MinimumReplicasAvailable",
                   "Deployment has minimum availability.", now),
        # Only with a progress deadline (defaulted to 600 s) does the controller report Progressing.
        *([_condition(before.get("Progressing"), "Progressing", "NewReplicaSetAvailable",
                      f'ReplicaSet "{new_rs}" has successfully progressed.', now)]
          if spec.get("progressDeadlineSeconds") is not None else []),
    ]
    status["conditions"] = conditions
    return status


def _condition(before: Mapping[str, Any] | None, kind: str, reason: str, message: str, now: str) -> dict[str, Any]:
    """A True DeploymentCondition as SetDeploymentCondition leaves it: unchanged if the same; a new
    reason or message updates lastUpdateTime, lastTransitionTime moves only when status does."""
    if before is not None and before.get("status") == "True":
        if before.get("reason") == reason and before.get("message") == message:
            return dict(before)
        transition = before.get("lastTransitionTime") or now
    else:
        transition = now
    return {"type": kind, "status": "True", "lastUpdateTime": now, "lastTransitionTime": transition,
            "reason": reason, "message": message}


def _statefulset_status(obj: Mapping[str, Any], spec: Mapping[str, Any], generation: int,
                        old: Mapping[str, Any]) -> dict[str, Any]:
    replicas = _replicas(spec)
    revision = f'{obj["metadata"]["name"]}-{template_hash(spec.get("template"))}'
    collisions = old.get("collisionCount", 0)
    return {"observedGeneration": generation, "replicas": replicas,
            **_counts(replicas, "readyReplicas", "currentReplicas", "updatedReplicas"),
            "currentRevision": revision, "updateRevision": revision, "collisionCount": collisions,
            **_counts(replicas, "availableReplicas")}


def _daemonset_status(generation: int) -> dict[str, Any]:
    """One schedulable node, its daemon pod ready and up to date."""
    return {"currentNumberScheduled": 1, "numberMisscheduled": 0, "desiredNumberScheduled": 1, "numberReady": 1,
            "observedGeneration": generation, "updatedNumberScheduled": 1, "numberAvailable": 1}


def _replicaset_status(spec: Mapping[str, Any], generation: int) -> dict[str, Any]:
    replicas = _replicas(spec)
    return {"replicas": replicas, **_counts(replicas, "fullyLabeledReplicas", "readyReplicas", "availableReplicas"),
            "observedGeneration": generation}


def with_status(obj: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    updated = copy.deepcopy(dict(obj))
    updated["status"] = copy.deepcopy(dict(status))
    return updated
