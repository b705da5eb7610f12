"""``metadata.managedFields``: which manager owns which fields, kept up to date on every write.

Models k8s.io/apimachinery/pkg/util/managedfields/internal (kube-apiserver 1.32):

- managedfields.go: an entry's identity is (manager, operation, apiVersion, subresource), with
  the apiVersion left out for appliers; entries are sorted Apply first, then by time, manager,
  apiVersion, subresource; FieldsV1 is the only fields type;
- fieldmanager.go ``decodeLiveOrNew``: an update may replace managedFields (``[]`` resets them),
  a request without them keeps the live ones, a subresource write never changes them;
- managedfieldsupdater.go: an Update takes the fields it added or changed, and only then is its
  entry's time bumped; stripmeta.go: apiVersion, kind and server-set metadata are never owned;
- capmanagers.go: at most 10 Update entries, the oldest merged into "ancient-changes";
- skipnonapplied.go: an object whose managedFields were reset stays untracked until it is applied;
- structured-merge-diff merge/update.go ``Updater.update``: fields an operation changes or
  removes are taken from every other manager (for an apply without force: a conflict).

The apply itself (merge, prune, conflicts) is in apply.py.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .field_types import TypeNode, root_node, zero_value
from .fieldpath import EMPTY, FieldSet, from_fields_v1, make_path, recursive_difference, to_fields_v1
from .resources import Resource
from .structured_merge import Comparison, compare

APPLY, UPDATE = "Apply", "Update"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"
UNKNOWN_MANAGER = "unknown"
# stripmeta.go: fields no manager ever owns.
STRIPPED: FieldSet = frozenset({make_path("apiVersion"), make_path("kind"), make_path("metadata"), *(
    make_path("metadata", name) for name in ("name", "namespace", "creationTimestamp", "selfLink", "uid",
                                             "clusterName", "generation", "managedFields", "resourceVersion"))})


@dataclass(frozen=True)
class ManagerKey:
    """An entry's identity (BuildManagerIdentifier)."""

    manager: str
    operation: str
    api_version: str  # "" for Apply: an applier is one manager whatever version it applies with
    subresource: str = ""


@dataclass(frozen=True)
class Ownership:
    fields: FieldSet
    api_version: str
    time: str | None  # RFC 3339; None when an applier's first apply changed nothing


Managed = dict[ManagerKey, Ownership]


class ApplyConflicts(Exception):
    """Fields another manager owns would change (merge.Conflicts)."""

    def __init__(self, conflicts: Mapping[ManagerKey, FieldSet]) -> None:
        super().__init__(f"{sum(len(paths) for paths in conflicts.values())} conflict(s)")
        self.conflicts = dict(conflicts)


# -- wire form ------------------------------------------------------------------------------------


def manager_key(manager: str, operation: str, api_version: str, subresource: str | None = None) -> ManagerKey:
    return ManagerKey(manager or UNKNOWN_MANAGER, operation, "" if operation == APPLY else api_version,
                      subresource or "")


def decode(entries: Any) -> Managed:
    """metadata.managedFields as ownerships; ValueError when an entry is malformed."""
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    managed: Managed = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ValueError(f"managed fields entry {index} is not an object")
        operation, api_version = entry.get("operation"), entry.get("apiVersion")
        if operation not in (APPLY, UPDATE):
            raise ValueError("operation must be `Apply` or `Update`")
        if not isinstance(api_version, str) or not api_version:
            raise ValueError("apiVersion must not be empty")
        if entry.get("fieldsType") != "FieldsV1":
            raise ValueError(f"invalid fieldsType {entry.get('fieldsType')!r} in managed fields entry {index}")
        key = ManagerKey(str(entry.get("manager") or ""), operation, "" if operation == APPLY else api_version,
                         str(entry.get("subresource") or ""))
        time = entry.get("time")
        managed[key] = Ownership(from_fields_v1(entry.get("fieldsV1") or {}), api_version,
                                 time if isinstance(time, str) else None)
    return managed


def encode(managed: Managed) -> list[dict[str, Any]]:
    """Ownerships as metadata.managedFields, in kube-apiserver's order (sortEncodedManagedFields)."""
    entries = []
    for key, ownership in sorted(managed.items(), key=lambda item: (
            item[0].operation, item[1].time or "", item[0].manager, item[1].api_version, item[0].subresource)):
        entry: dict[str, Any] = {"manager": key.manager, "operation": key.operation,
                                 "apiVersion": ownership.api_version}
        if ownership.time is not None:
            entry["time"] = ownership.time
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = to_fields_v1(ownership.fields)
        if key.subresource:
            entry["subresource"] = key.subresource
        entries.append(entry)
    return entries


def of_object(obj: Mapping[str, Any] | None) -> Managed:
    """The live object's ownerships (an undecodable list counts as none)."""
    if obj is None:
        return {}
    try:
        return decode((obj.get("metadata") or {}).get("managedFields"))
    except ValueError:
        return {}


def live_or_requested(live: Mapping[str, Any] | None, requested: Any, subresource: str | None) -> Managed:
    """decodeLiveOrNew: what an update starts from. A subresource write cannot change ownership;
    ``[]`` (or one empty entry) resets it; absent, empty or undecodable keeps the live ones."""
    if subresource:
        return of_object(live)
    if isinstance(requested, list) and (not requested or requested == [{}]):
        return {}
    try:
        decoded = decode(requested)
    except ValueError:
        decoded = {}
    return decoded if decoded else of_object(live)


# -- ownership changes ----------------------------------------------------------------------------


def reset_fields(resource: Resource, subresource: str | None) -> FieldSet:
    """The fields a write through this endpoint cannot set (the strategies' GetResetFields):
    status through the main resource, spec through /status."""
    if subresource == "status":
        return frozenset({make_path("spec")})
    return frozenset({make_path("status")}) if resource.status_subresource else EMPTY


def strip(fields: FieldSet) -> FieldSet:
    return fields - STRIPPED


def without_managed_fields(obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """A shallow copy of ``obj`` without metadata.managedFields (the field manager never sees them)."""
    result = dict(obj or {})
    metadata = result.get("metadata")
    if isinstance(metadata, Mapping) and "managedFields" in metadata:
        result["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return result


def comparable(resource: Resource, obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """``obj`` as kube-apiserver's typed converter sees it: without managedFields, and for a
    built-in kind with the empty structs its Go type always serializes."""
    return _fill(zero_value(resource), without_managed_fields(obj))


def _fill(zero: Mapping[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    for key, value in zero.items():
        if key not in obj:
            obj[key] = copy.deepcopy(value)
        elif isinstance(value, Mapping) and isinstance(obj[key], dict) and value:
            obj[key] = _fill(value, dict(obj[key]))
    return obj


def settle(node: TypeNode, old: Any, new: Any, managed: Managed, *, skip: ManagerKey | None, force: bool,
           ignored: FieldSet) -> tuple[Managed, Comparison]:
    """Updater.update: the fields that change from ``old`` to ``new`` leave every manager but
    ``skip``; without ``force`` a changed field another manager owns is a conflict."""
    comparison = compare(node, old, new)
    if ignored:
        comparison = Comparison(*(set(recursive_difference(frozenset(paths), ignored)) for paths in (
            comparison.added, comparison.modified, comparison.removed)))
    changed, removed = comparison.changed(), frozenset(comparison.removed)
    conflicts = {key: entry.fields & changed for key, entry in managed.items()
                 if key != skip and entry.fields & changed}
    if conflicts and not force:
        raise ApplyConflicts(conflicts)
    result: Managed = {}
    for key, entry in managed.items():
        fields = entry.fields if key == skip else entry.fields - conflicts.get(key, EMPTY) - removed
        if fields:
            result[key] = replace(entry, fields=fields)
    return result, comparison


def record_update(resource: Resource, old: Mapping[str, Any] | None, new: Mapping[str, Any], managed: Managed, *,
                  manager: str, subresource: str | None, now: str) -> Managed:
    """The ownerships after a create (``old`` None) or an update by ``manager``: it takes every
    field it added or changed, from whoever owned it; removed fields leave their owners."""
    if not managed and old is not None:
        return managed  # skipnonapplied.go: untracked until the next apply
    ignored = reset_fields(resource, subresource)
    managed, comparison = settle(root_node(resource), comparable(resource, old), comparable(resource, new), managed,
                                 skip=None, force=True, ignored=ignored)
    own = strip(recursive_difference(comparison.changed(), ignored))
    if own:
        key = manager_key(manager, UPDATE, resource.api_version, subresource)
        previous = managed.get(key)
        managed[key] = Ownership(own | (previous.fields if previous else EMPTY), resource.api_version, now)
    return cap_update_managers(managed)


def cap_update_managers(managed: Managed) -> Managed:
    """capmanagers.go: past 10 Update entries, the oldest are merged per apiVersion into one
    "ancient-changes" entry."""
    updaters = [key for key in managed if key.operation == UPDATE]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return managed
    updaters.sort(key=lambda key: (managed[key].time or "", key.manager, key.api_version, key.subresource))
    first_by_version: dict[str, ManagerKey] = {}
    remaining = len(updaters)
    for key in updaters:
        if remaining <= MAX_UPDATE_MANAGERS:
            break
        entry = managed[key]
        bucket = ManagerKey(ANCIENT_CHANGES, UPDATE, entry.api_version)
        if key == bucket or entry.api_version not in first_by_version:
            first_by_version.setdefault(entry.api_version, key)
            continue
        if bucket not in managed:
            managed[bucket] = managed.pop(first_by_version[entry.api_version])
        managed[bucket] = Ownership(entry.fields | managed[bucket].fields, entry.api_version, entry.time)
        del managed[key]
        remaining -= 1
    return managed
