"""Server-side apply on one object: merge the applied configuration into the live object, prune
what the applier stopped applying, and settle ownership (or report conflicts).

Models structured-merge-diff merge/update.go ``Updater.Apply`` (merge, the applier's new field
set, ``prune`` with ``addBackOwnedItems``/``addBackDanglingItems``, then ``update`` for
conflicts), and the kube-apiserver field-manager layers around it
(k8s.io/apimachinery/pkg/util/managedfields/internal): skipnonapplied.go (an untracked object's
fields go to "before-first-apply" first), managedfieldsupdater.go (an applier's time moves only
when the object changes), stripmeta.go, lastappliedmanager.go (manager "kubectl" may take fields
its client-side apply set, per the last-applied-configuration annotation, without a conflict)
and lastappliedupdater.go (manager "kubectl" keeps that annotation in step).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .field_types import TypeNode, root_node
from .fieldpath import EMPTY, FieldSet, canonical_json, recursive_difference
from .managed_fields import (
    APPLY,
    BEFORE_FIRST_APPLY,
    ApplyConflicts,
    Managed,
    ManagerKey,
    Ownership,
    comparable,
    manager_key,
    record_update,
    reset_fields,
    settle,
    strip,
    without_managed_fields,
)
from .resources import Resource
from .structured_merge import (
    EMPTIED,
    TypedError,
    compare,
    ensure_named_fields_are_members,
    merge,
    remove_items,
    same,
    strip_emptied,
    to_field_set,
)

KUBECTL = "kubectl"  # the only manager the last-applied annotation logic serves
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_ANNOTATIONS_BYTES = 256 * 1024


@dataclass(frozen=True)
class Applied:
    obj: dict[str, Any]  # the object to store, without managedFields
    managed: Managed


def apply_configuration(resource: Resource, live: Mapping[str, Any] | None, config: Mapping[str, Any],
                        managed: Managed, *, manager: str, subresource: str | None, force: bool,
                        now: str) -> Applied:
    """Apply ``config`` as ``manager`` to ``live`` (None: the object does not exist yet).

    Raises ApplyConflicts (without ``force``) and TypedError (a configuration the schema cannot
    take, e.g. a keyed list item without its key)."""
    node = root_node(resource)
    live_obj = without_managed_fields(live)
    if not managed and live is not None:
        managed = record_update(resource, None, live_obj, {}, manager=BEFORE_FIRST_APPLY, subresource=subresource,
                                now=now)
    key = manager_key(manager, APPLY, resource.api_version, subresource)
    try:
        new, managed = _apply(node, resource, live_obj, config, dict(managed), key, force)
    except ApplyConflicts as conflicts:
        if manager != KUBECTL:
            raise
        new, managed = _apply_over_client_side(node, resource, live_obj, config, dict(managed), key, conflicts)
    result = new if new is not None else copy.deepcopy(live_obj)
    managed = _stamped(managed, key, now if new is not None else None)
    if manager == KUBECTL and _last_applied(result):
        _set_last_applied(result, _build_last_applied(config))
    return Applied(result, managed)


def _stamped(managed: Managed, key: ManagerKey, now: str | None) -> Managed:
    """stripmeta.go then managedfieldsupdater.go for the applier's own entry."""
    own = managed.get(key)
    if own is None:
        return managed
    fields = strip(own.fields)
    if not fields:
        del managed[key]
    else:
        managed[key] = replace(own, fields=fields, time=now or own.time)
    return managed


def _apply(node: TypeNode, resource: Resource, live: dict[str, Any], config: Mapping[str, Any], managed: Managed,
           key: ManagerKey, force: bool) -> tuple[dict[str, Any] | None, Managed]:
    """Updater.Apply: the new object (None when nothing changes) and the new ownerships."""
    ignored = reset_fields(resource, key.subresource)
    merged = merge(node, live, dict(config))
    last = managed.get(key)
    own = recursive_difference(to_field_set(node, config), ignored)
    managed[key] = Ownership(own, resource.api_version, last.time if last else None)
    pruned = _prune(node, merged, managed, last.fields if last else EMPTY)
    managed, _ = settle(node, comparable(resource, live), comparable(resource, pruned), managed, skip=key,
                        force=force, ignored=ignored)
    return (None if same(live, pruned) else copy.deepcopy(pruned)), managed


def _prune(node: TypeNode, merged: dict[str, Any], managed: Managed, last: FieldSet) -> dict[str, Any]:
    """Remove what the applier applied last time and not this time, unless some manager (the
    applier's new set included) owns it; fields the applier never owned stay."""
    if not last:
        return merged
    last_named = ensure_named_fields_are_members(node, last)
    owned: FieldSet = frozenset().union(*(entry.fields for entry in managed.values()))
    merged_set = _named_set(node, merged)
    pruned = _removed(node, merged, last_named)
    kept = _named_set(node, pruned) | ensure_named_fields_are_members(node, owned)
    pruned = _removed(node, merged, merged_set - kept)  # addBackOwnedItems
    dangling = (merged_set - _named_set(node, pruned)) & last_named  # addBackDanglingItems
    return dict(strip_emptied(_removed(node, merged, dangling)))


def _named_set(node: TypeNode, value: Any) -> FieldSet:
    return ensure_named_fields_are_members(node, to_field_set(node, value))


def _removed(node: TypeNode, value: dict[str, Any], paths: FieldSet) -> dict[str, Any]:
    result = remove_items(node, value, paths)
    return {} if result is EMPTIED else dict(result)


# -- the move from client-side apply ----------------------------------------------------------------


def _apply_over_client_side(node: TypeNode, resource: Resource, live: dict[str, Any], config: Mapping[str, Any],
                            managed: Managed, key: ManagerKey, conflicts: ApplyConflicts
                            ) -> tuple[dict[str, Any] | None, Managed]:
    """lastappliedmanager.go: conflicts on fields the live object still has as the
    last-applied-configuration annotation says are no conflicts for "kubectl": it forces."""
    allowed = _allowed_by_last_applied(node, resource, live)
    if allowed is None:
        raise conflicts
    remaining = {owner: paths - allowed for owner, paths in conflicts.conflicts.items() if paths - allowed}
    if remaining:
        raise ApplyConflicts(remaining)
    return _apply(node, resource, live, config, managed, key, True)


def _last_applied(obj: Mapping[str, Any]) -> str:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(LAST_APPLIED) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, str) else ""


def _allowed_by_last_applied(node: TypeNode, resource: Resource, live: dict[str, Any]) -> FieldSet | None:
    text = _last_applied(live)
    try:
        last_applied = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(last_applied, dict) or last_applied.get("apiVersion") != resource.api_version:
        return None
    try:
        fields = to_field_set(node, last_applied)
        comparison = compare(node, last_applied, live)
    except TypedError:
        return None
    return fields - comparison.added - comparison.modified - comparison.removed


def _build_last_applied(config: Mapping[str, Any]) -> str:
    """The applied configuration without the annotation itself, as client-go's unstructured JSON
    encoder writes it (sorted keys, trailing newline)."""
    obj = copy.deepcopy(dict(config))
    annotations = (obj.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    return canonical_json(obj) + "\n"


def _set_last_applied(obj: dict[str, Any], value: str) -> None:
    metadata = obj.setdefault("metadata", {})
    annotations = dict(metadata.get("annotations") or {})
    annotations[LAST_APPLIED] = value
    if sum(len(k) + len(v) for k, v in annotations.items()) > MAX_ANNOTATIONS_BYTES:
        del annotations[LAST_APPLIED]  # SetLastApplied drops an annotation that no longer fits
    metadata["annotations"] = annotations
