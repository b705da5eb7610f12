"""JSON answers written as kube-apiserver writes them.

kube-apiserver's JSON serializer is encoding/json's Encoder (apimachinery runtime/serializer/json/
json.go, doEncode): compact (no spaces), ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, other
non-ASCII text as UTF-8, and a newline after the value. The order of an object's keys depends on
what Go encodes:

- a built-in kind is a Go struct, written in field order: TypeMeta inline (``kind``, ``apiVersion``),
  ``metadata`` (ObjectMeta or ListMeta, in their field order), then the rest. ``go_order`` puts these
  first at the top level of an answer, of each list item and of each table row's object (cheap: a
  few dict lookups per object); deeper fields keep the order the emulator stored them in;
- a custom resource is unstructured: a Go map, which encoding/json writes with sorted keys at every
  level (apimachinery apis/meta/v1/unstructured/helpers.go, UnstructuredJSONScheme.doEncode), a list
  too (``apiVersion``, ``items``, ``kind``, ``metadata``).
"""

from __future__ import annotations

import json
from typing import Any

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SORTED = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
# encoding/json's HTMLEscape and its escapes of the JavaScript line terminators.
_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))
_HEAD = ("kind", "apiVersion", "metadata")
# metav1.Status: TypeMeta, ListMeta, then Status, Message, Reason, Details, Code.
_STATUS_HEAD = ("kind", "apiVersion", "metadata", "status", "message", "reason", "details", "code")
# ObjectMeta's fields in order, with ListMeta's (selfLink, resourceVersion, continue, remainingItemCount).
_METADATA = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "continue",
             "remainingItemCount", "generation", "creationTimestamp", "deletionTimestamp",
             "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields")


def dumps(value: Any, *, unstructured: bool = False) -> str:
    """One JSON value as encoding/json writes it, without the newline: a custom resource's object or
    list ``unstructured`` (sorted keys), anything else a Go struct (``go_order``)."""
    text = _SORTED.encode(value) if unstructured else _COMPACT.encode(go_order(value))
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


def encode(value: Any, *, unstructured: bool = False) -> bytes:
    """A response body: ``dumps`` and the Encoder's newline, as UTF-8. A lone surrogate (a JSON
    ``\\ud800`` escape Python kept) is written back as that escape."""
    return (dumps(value, unstructured=unstructured) + "\n").encode("utf-8", "backslashreplace")


def go_order(value: Any) -> Any:
    """A Kubernetes object (a dict with ``kind``) with its leading struct fields first."""
    if not isinstance(value, dict) or "kind" not in value:
        return value
    ordered = _ordered(value, _STATUS_HEAD if value["kind"] == "Status" else _HEAD)
    metadata = value.get("metadata")
    if isinstance(metadata, dict):
        ordered["metadata"] = _ordered(metadata, _METADATA)
    items = value.get("items")
    if isinstance(items, list):
        ordered["items"] = [go_order(item) for item in items]
    rows = value.get("rows")
    if value["kind"] == "Table" and isinstance(rows, list):
        ordered["rows"] = [_row(row) for row in rows]
    return ordered


def _ordered(mapping: dict[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    head = {key: mapping[key] for key in first if key in mapping}
    return head | mapping if len(head) < len(mapping) else head


def _row(row: Any) -> Any:
    if not isinstance(row, dict) or not isinstance(row.get("object"), dict):
        return row
    return {**row, "object": go_order(row["object"])}
