"""Rendering the Helm chart in tests: the same code as deploy/render_manifests.py, plus named value sets.

deploy/ is not a Python package (it is shipped as files), so the script is loaded from its path.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT_PATH = REPO_ROOT / "deploy" / "render_manifests.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tokensync_deploy_render_manifests", SCRIPT_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


render_manifests = _load_script()
CHART_DIR: Path = render_manifests.CHART_DIR
RELEASE_NAMESPACE: str = render_manifests.RELEASE_NAMESPACE

# One value set per chart option, each rendered once per test session (see render_objects).
VALUE_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "watch-namespaces": {"watchNamespaces": ["team-a", "team-b"]},
    "service-monitor": {"metrics": {"serviceMonitor": {"enabled": True, "interval": "15s",
                                                        "labels": {"release": "kube-prometheus-stack"}}}},
    "prometheus-rule": {"prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}}},
    "pdb-min-available": {"replicaCount": 2, "podDisruptionBudget": {"enabled": True, "minAvailable": 1}},
    "pdb-max-unavailable": {"replicaCount": 3, "podDisruptionBudget": {"enabled": True, "maxUnavailable": "50%"}},
    "rrsa": {"serviceAccount": {
        "labels": {"pod-identity.alibabacloud.com/injection": "on"},
        "annotations": {"pod-identity.alibabacloud.com/role-name": "tokensync-role"},
    }},
    "namespaced-rrsa": {"allowNamespacedRrsa": True},
    "existing-service-account": {"serviceAccount": {"create": False, "name": "platform-tokensync"}},
    "scheduling": {
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "node-role", "operator": "In", "values": ["infra"]}]}]}}},
        "topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "tokensync"}},
        }],
    },
    "replicas-2": {"replicaCount": 2},
    "customised": {
        "image": {"repository": "registry.example.com/tokensync", "tag": "1.2.3", "pullPolicy": "Always"},
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "logFormat": "text",
        "extraArgs": ["--verbose"],
        "extraEnv": [{"name": "ALIBABA_CLOUD_REGION_ID", "value": "cn-hangzhou"}],
        "podAnnotations": {"example.com/team": "platform"},
        "podLabels": {"example.com/tier": "infra"},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "terminationGracePeriodSeconds": 60,
        "metrics": {"port": 9090, "service": {"port": 9090}},
        "health": {"port": 9091},
    },
    "metrics-off": {"metrics": {"service": {"enabled": False}}},
    "everything": {
        "watchNamespaces": ["team-a"],
        "rbac": {"accessKeySecretNamespaces": [RELEASE_NAMESPACE]},
        "replicaCount": 2,
        "metrics": {"serviceMonitor": {"enabled": True}},
        "prometheusRule": {"enabled": True},
        "podDisruptionBudget": {"enabled": True},
        "serviceAccount": {"labels": {"pod-identity.alibabacloud.com/injection": "on"}},
        "allowNamespacedRrsa": True,
    },
}


@cache
def _render_cached(values_json: str) -> tuple[dict[str, Any], ...]:
    documents = render_manifests.render_chart(json.loads(values_json))
    return tuple(document.obj for document in documents)


def render_objects(values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rendered objects (parsed), in install order; rendered once per values, a fresh copy each call."""
    return copy.deepcopy(list(_render_cached(json.dumps(values or {}, sort_keys=True))))


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)]


def only(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def operator_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = only(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert [container["name"] for container in containers] == ["tokensync"]
    return containers[0]
