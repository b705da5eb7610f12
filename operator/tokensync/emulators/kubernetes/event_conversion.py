"""core/v1 and events.k8s.io/v1 Events: one stored object, two shapes.

kube-apiserver stores both resources together, as the core Event
(pkg/kubeapiserver/default_storage_factory_builder.go: AddCohabitatingResources of
api.Resource("events") and events.Resource("events")), and converts at the edges
(pkg/apis/events/v1/conversion.go): the fields below are renamed, every other field (metadata,
eventTime, series, reportingInstance, action, reason, related, type) is the same in both. So an
Event has one uid and resourceVersion whichever group it is read, written or watched through.

managedFields keep each entry's own apiVersion; the field manager compares an object in each
manager's version (structured-merge-diff merge/update.go). Here a write through one group sees
every entry in that group's field names, and the entries are stored back in their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CORE = "v1"
EVENTS = "events.k8s.io/v1"
# events.k8s.io/v1 field -> core/v1 field (Convert_v1_Event_To_core_Event and its inverse).
_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}
_TO_EVENTS = {core: events for events, core in _TO_CORE.items()}
_RENAMES = {(EVENTS, CORE): _TO_CORE, (CORE, EVENTS): _TO_EVENTS}


def _renames(source: Any, target: str) -> dict[str, str] | None:
    """The field renames from ``source``'s shape to ``target``'s; None when no conversion applies."""
    return _RENAMES.get((str(source), target))


def _renamed(obj: Mapping[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """``obj`` with its fields renamed; a field already named as the target shape names it is not a
    field of the source type (Go's decoder would have dropped it) and is left out."""
    skipped = set(renames.values())
    return {renames.get(key, key): value for key, value in obj.items() if key not in skipped}


def is_event(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Event" and obj.get("apiVersion") in (CORE, EVENTS)


def convert(obj: dict[str, Any], api_version: str) -> dict[str, Any]:
    """An Event in ``api_version``'s shape (apiVersion set); any other object unchanged."""
    renames = _renames(obj.get("apiVersion"), api_version) if obj.get("kind") == "Event" else None
    if renames is None:
        return obj
    result = _renamed(obj, renames)
    result["apiVersion"] = api_version
    return result


def as_core(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """An Event in the storage (core) shape, as the field selectors of both groups read it."""
    return convert(dict(obj), CORE) if obj.get("apiVersion") == EVENTS else obj


def _fields_v1_as(entry: Any, api_version: str, *, at_rest: bool) -> Any:
    """A managedFields entry whose fieldsV1 names its fields as ``api_version`` does (``at_rest``
    False), or one in ``api_version``'s names put back in its own apiVersion's (``at_rest``)."""
    if not isinstance(entry, Mapping) or not isinstance(entry.get("fieldsV1"), Mapping):
        return entry
    own = entry.get("apiVersion")
    renames = _renames(api_version, str(own)) if at_rest else _renames(own, api_version)
    if renames is None:
        return entry
    prefixed = {f"f:{old}": f"f:{new}" for old, new in renames.items()}
    # Sorted as structured-merge-diff serializes a set (fieldpath/serialize.go): by field name.
    return {**entry, "fieldsV1": dict(sorted(_renamed(entry["fieldsV1"], prefixed).items()))}


def managed_fields_as(entries: Any, api_version: str, *, at_rest: bool = False) -> Any:
    """metadata.managedFields with every Event entry in ``api_version``'s field names (``at_rest``:
    from them back to each entry's own). Anything that is not a list of entries is left as it is."""
    if api_version not in (CORE, EVENTS) or not isinstance(entries, list):
        return entries
    return [_fields_v1_as(entry, api_version, at_rest=at_rest) for entry in entries]


def requested_managed_fields(entries: Any, kind: str, api_version: str) -> Any:
    """A write's own metadata.managedFields (as read, each entry in its own names) as the write
    through ``api_version`` works on them; unchanged for any other kind."""
    return managed_fields_as(entries, api_version) if kind == "Event" else entries


def _with_managed_fields(obj: dict[str, Any], api_version: str, *, at_rest: bool) -> dict[str, Any]:
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        obj["metadata"] = {**metadata, "managedFields": managed_fields_as(metadata["managedFields"], api_version,
                                                                          at_rest=at_rest)}
    return obj


def for_write(stored: dict[str, Any], api_version: str) -> dict[str, Any]:
    """A stored Event as a write through ``api_version`` works on it: in that group's shape, with
    every managedFields entry in its field names. Any other object is returned as it is."""
    if not is_event(stored) or api_version not in (CORE, EVENTS):
        return stored
    return _with_managed_fields(convert(dict(stored), api_version), api_version, at_rest=False)


def for_storage(written: dict[str, Any], api_version: str) -> dict[str, Any]:
    """The inverse of ``for_write``: an Event written through ``api_version`` in the core shape,
    each managedFields entry in its own apiVersion's field names."""
    if not is_event(written) or api_version not in (CORE, EVENTS):
        return written
    return convert(_with_managed_fields(dict(written), api_version, at_rest=True), CORE)
