"""Namespaces as they live on a cluster: what kube-apiserver sets on create and update, the
`default` ServiceAccount kube-controller-manager's serviceaccount controller keeps in each, and
the conditions its namespace controller reports while a namespace terminates.

Sources (kubernetes v1.32): pkg/registry/core/namespace/strategy.go (PrepareForCreate,
PrepareForUpdate); pkg/controller/serviceaccount/serviceaccounts_controller.go (DefaultServiceAccountsControllerOptions:
"default"); pkg/controller/namespace/deletion/status_condition_utils.go (condition types, okReasons,
okMessages) and namespaced_resources_deleter.go (the "remaining" messages).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

KUBERNETES_FINALIZER = "kubernetes"
DEFAULT_SERVICE_ACCOUNT = "default"


def prepare_for_create(namespace: dict[str, Any]) -> None:
    """Status is Active, and spec.finalizers holds "kubernetes" (appended to any others)."""
    namespace["status"] = {"phase": "Active"}
    spec = namespace.get("spec")
    if not isinstance(spec, dict):
        spec = namespace["spec"] = {}
    finalizers = spec.get("finalizers")
    finalizers = list(finalizers) if isinstance(finalizers, list) else []
    if KUBERNETES_FINALIZER not in finalizers:
        finalizers.append(KUBERNETES_FINALIZER)
    spec["finalizers"] = finalizers


def prepare_for_update(new: dict[str, Any], old: Mapping[str, Any]) -> None:
    """spec.finalizers change only through /finalize: an update keeps the old ones."""
    old_finalizers = (old.get("spec") or {}).get("finalizers")
    spec = new.get("spec")
    if not isinstance(spec, dict):
        spec = new["spec"] = {}
    if old_finalizers is None:
        spec.pop("finalizers", None)
    else:
        spec["finalizers"] = list(old_finalizers)
    if not spec and "spec" not in old:
        new.pop("spec")


def default_service_account(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": DEFAULT_SERVICE_ACCOUNT, "namespace": namespace}}


def _ok(kind: str, reason: str, message: str, now: str) -> dict[str, Any]:
    return {"type": kind, "status": "False", "lastTransitionTime": now, "reason": reason, "message": message}


def deletion_conditions(remaining: Counter[str], finalizers: Counter[str], now: str) -> list[dict[str, Any]]:
    """The namespace controller's conditions after it deleted the content: ``remaining`` counts
    objects still there by group-resource ("secrets", "widgets.example.com"), ``finalizers`` by
    the finalizer holding them."""
    conditions = [
        _ok("NamespaceDeletionDiscoveryFailure", "ResourcesDiscovered", "All resources successfully discovered", now),
        _ok("NamespaceDeletionGroupVersionParsingFailure", "ParsedGroupVersions",
            "All legacy kube types successfully parsed", now),
        _ok("NamespaceDeletionContentFailure", "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization", now),
    ]
    if remaining:
        listed = ", ".join(f"{name} has {count} resource instances" for name, count in sorted(remaining.items()))
        conditions.append({"type": "NamespaceContentRemaining", "status": "True", "lastTransitionTime": now,
                           "reason": "SomeResourcesRemain", "message": f"Some resources are remaining: {listed}"})
    else:
        conditions.append(_ok("NamespaceContentRemaining", "ContentRemoved", "All content successfully removed", now))
    if finalizers:
        listed = ", ".join(f"{name} in {count} resource instances" for name, count in sorted(finalizers.items()))
        conditions.append({"type": "NamespaceFinalizersRemaining", "status": "True", "lastTransitionTime": now,
                           "reason": "SomeFinalizersRemain",
                           "message": f"Some content in the namespace has finalizers remaining: {listed}"})
    else:
        conditions.append(_ok("NamespaceFinalizersRemaining", "ContentHasNoFinalizers",
                              "All content-preserving finalizers finished", now))
    return conditions
