"""The `/scale` subresource of Deployments, StatefulSets and ReplicaSets: an autoscaling/v1 Scale
view of spec.replicas (GET, PUT, PATCH), as `kubectl scale` and HorizontalPodAutoscalers use it.

Sources (kubernetes v1.32): pkg/registry/apps/deployment/storage/storage.go (ScaleREST,
scaleFromDeployment, scaleUpdatedObjectInfo), the statefulset and replicaset equivalents;
apimachinery's metav1.LabelSelectorAsSelector(...).String() for status.selector.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ApiError, bad_request, conflict, invalid
from .patching import json_patch, merge_patch
from .resources import Resource
from .workloads import SCALABLE

if TYPE_CHECKING:
    from .store import Store

_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json")


def has_scale(resource: Resource) -> bool:
    return resource.key in SCALABLE


def format_selector(selector: Any) -> str:
    """A LabelSelector as labels.Selector.String() prints it: requirements sorted by key."""
    if not isinstance(selector, dict):
        return ""
    parts: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, values = str(expression.get("key", "")), ",".join(sorted(expression.get("values") or []))
        printed = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key,
                   "DoesNotExist": f"!{key}"}.get(str(expression.get("operator")), key)
        parts.append((key, printed))
    return ",".join(text for _, text in sorted(parts))


def to_scale(obj: Mapping[str, Any]) -> dict[str, Any]:
    """scaleFromDeployment and its siblings: the parent's identity, spec.replicas, status.replicas."""
    metadata = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    scale_metadata = {k: metadata[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                      if k in metadata}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_metadata,
            "spec": {"replicas": spec.get("replicas", 0)},
            "status": {"replicas": status.get("replicas", 0), "selector": format_selector(spec.get("selector"))}}


def _patched_scale(current: dict[str, Any], content_type: str, raw: bytes) -> Any:
    if content_type not in _PATCH_TYPES:
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                                                    f"media types include: {', '.join(_PATCH_TYPES)}")
    try:
        patch = json.loads(raw or b"{}")
    except ValueError as exc:
        raise bad_request(f"error decoding patch: {exc}") from exc
    if content_type == "application/json-patch+json":
        return json_patch(current, patch)
    if not isinstance(patch, dict):
        raise bad_request("a merge patch must be a JSON object")
    return merge_patch(current, patch)  # Scale has no list: strategic merge is a merge here


def _replicas_of(resource: Resource, name: str, scale: Any) -> int:
    replicas = (scale.get("spec") or {}).get("replicas", 0) if isinstance(scale, dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        raise bad_request(f"Scale in version \"v1\" cannot be handled as a Scale: spec.replicas: {replicas!r} "
                          "is not an integer")
    if replicas < 0:
        raise invalid("autoscaling", "Scale", name, [{
            "reason": "FieldValueInvalid", "field": "spec.replicas",
            "message": f"Invalid value: {replicas}: must be greater than or equal to 0"}])
    return replicas


def serve_scale(store: Store, resource: Resource, namespace: str, name: str, *, method: str, content_type: str = "",
                raw: bytes = b"", manager: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """GET, PUT or PATCH on ``<name>/scale``: the Scale after the request. A write changes only the
    parent's spec.replicas (a normal update: generation, status by its controller afterwards)."""
    current = store.get(resource, namespace, name)
    scale = to_scale(current)
    if method == "GET":
        return scale
    if method == "PUT":
        try:
            wanted = json.loads(raw or b"{}")
        except ValueError as exc:
            raise bad_request(f"error decoding Scale: {exc}") from exc
    elif method == "PATCH":
        wanted = _patched_scale(scale, content_type, raw)
    else:
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    replicas = _replicas_of(resource, name, wanted)
    sent = (wanted.get("metadata") or {}) if isinstance(wanted, dict) else {}
    if sent.get("name", name) != name:
        raise bad_request(f'the name of the object ({sent.get("name")}) does not match the name on the URL ({name})')
    sent_rv = sent.get("resourceVersion")
    if sent_rv and str(sent_rv) != current["metadata"]["resourceVersion"]:
        raise conflict(resource.group, resource.plural, name)
    updated = copy.deepcopy(current)
    updated.setdefault("spec", {})["replicas"] = replicas
    result = store.update(resource, namespace, name, updated, subresource="scale", manager=manager, dry_run=dry_run)
    return to_scale(result)
